//! coopnoc-sim: a simulated community-ISP network for coopnoc's demo mode, integration
//! tests and benchmarks.
//!
//! Each simulated device is an SNMP agent (async-snmp's `agent`, v1/v2c, optionally v3)
//! on its own UDP socket on 127.0.0.1. It replays a real recording (bundled, see
//! `recordings/PROVENANCE.md`) or a synthetic OLT with thousands of ONUs, with values
//! that move: `sysUpTime.0` advances in real time and every counter grows at a
//! configurable rate. Latency, jitter, loss, reboots and stalls are options per device.
//! A [`ScriptedDevice`] is the opposite: its counters move only when a test says, for checks
//! against an exact ground truth. Failure [`scenario`]s (power cuts, fibre cuts, rain fades,
//! reboots...) change what a running network serves, on demand.
//!
//! ```no_run
//! # async fn example() -> Result<(), coopnoc_sim::SimError> {
//! let network = coopnoc_sim::SimNetwork::start(coopnoc_sim::demo()).await?;
//! for device in network.devices() {
//!     println!("{} {} {} {}", device.name, device.kind, device.addr, device.community);
//! }
//! network.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod control;
mod device;
mod front;
mod network;
mod overlay;
mod presets;
pub mod recordings;
mod rng;
mod running;
pub mod scenario;
pub mod scripted;
pub mod snmprec;
pub mod synth;
pub mod table;
pub mod vendor;

pub use device::{Behaviour, Reboot, Stall};
pub use network::{BENCH_LATENCY, DeviceSpec, SimError, SimNetwork, Source};
pub use presets::{BENCH_RADIOS, BenchShape, bench, demo, demo_v3_user};
pub use running::{RunningDevice, SimKind, V3User};
pub use scenario::{Scenario, ScenarioError, ScenarioLibrary, ScenarioRef, ScenarioStatus};
pub use scripted::{
    CounterWidth, Octets, ScriptHandle, ScriptedDevice, ScriptedPort, ScriptedSpec,
};
pub use synth::{DownCause, OltShape, Onu, OnuRows, RowSink, SyntheticOlt};
