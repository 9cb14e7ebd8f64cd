//! coopnocd: the operations daemon of a community ISP.
//!
//! Data flows one way: collectors (SNMP, netlink, probes) emit observations; state and the
//! store take them in; outputs (CLI socket, metrics, MQTT, status page, reports) read state
//! and the store. See `DESIGN.md` in the repository for the whole picture.

pub mod access;
pub mod args;
pub mod config;
pub mod ctl;
pub mod daemon;
pub mod demo;
pub mod health;
pub mod inventory;
pub mod ipc;
pub mod lines;
pub mod linestate;
pub mod link_events;
pub mod local;
pub mod observe;
pub mod poller;
pub mod profile;
pub mod snmp;
pub mod state;
pub mod store;
pub mod systemd;
pub mod usage;

pub use daemon::{RunError, run};

/// Exit code for a bad configuration (EX_CONFIG from sysexits.h), which systemd and
/// packagers recognise.
pub const EXIT_CONFIG: u8 = 78;
