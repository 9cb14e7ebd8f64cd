//! coopnocd: the operations daemon of a community ISP.
//!
//! Data flows one way, and imports point down this list, never back:
//! - `serve`: the outputs (the control socket today; status page, metrics, MQTT, reports
//!   next), reading the model's published view and the store;
//! - `model`: devices, lines, usage and events, fed by observations, owning the current
//!   state, publishing a snapshot and an event stream (`model::Published`);
//! - `store`: SQLite behind typed operations, all the SQL;
//! - `collect`: the SNMP engine, device profiles, the poller and netlink, turning devices
//!   into observations;
//! - low modules every room may use: `config`, `health`, `systemd`, `octets`, and the
//!   control protocol's crate `coopnoc_proto`.
//!
//! `run` (in `daemon`) wires them together; `check` is the whole check of a configuration.
//! See `DESIGN.md` in the repository for the whole picture.

pub mod args;
pub mod check;
pub mod collect;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod health;
pub mod model;
pub mod octets;
pub mod serve;
pub mod store;
pub mod systemd;

pub use daemon::{RunError, run};

/// Exit code for a bad configuration (EX_CONFIG from sysexits.h), which systemd and
/// packagers recognise.
pub const EXIT_CONFIG: u8 = 78;
