//! Observations: what collectors (SNMP poller, netlink, probes) saw, typed, on their way to
//! state, the store and the outputs. Collectors only produce these; they never know who reads.

use std::sync::Arc;
use std::time::Duration;

/// One collector's findings about one device at one moment, sent as a unit so that a poll of
/// 10,000 ONUs is one channel message, not 20,000.
#[derive(Debug, Clone)]
pub struct ObservationBatch {
    pub device: Arc<str>,
    pub at: jiff::Timestamp,
    pub items: Vec<Observation>,
}

/// A counter as the device gave it: the width matters for wrap handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Counter {
    C32(u32),
    C64(u64),
}

impl Counter {
    pub fn value(self) -> u64 {
        match self {
            Counter::C32(v) => v as u64,
            Counter::C64(v) => v,
        }
    }
}

/// Where on a device a value belongs. Stable keys (serial, MAC, name) where the device gives
/// them; the index is kept alongside, never relied on alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    Device,
    Interface { index: u32, name: Arc<str> },
    Onu { port: Arc<str>, onu: u32, serial: Option<Arc<str>> },
    Station { mac: Arc<str>, name: Option<Arc<str>> },
}

/// Why a device says a line is down, in the device's own terms mapped to ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DownReason {
    LossOfSignal,
    DyingGasp,
    Offline,
    AdminDown,
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// The outcome of a poll cycle (or a netlink read) of the device as a whole.
    Reachability {
        reachable: bool,
        error: Option<String>,
        duration: Duration,
    },
    /// sysUpTime in hundredths of a second: a smaller value than before means a reboot.
    Uptime { ticks: u32 },
    /// sysDescr/sysObjectID/sysName, read with the labels.
    System {
        descr: Option<String>,
        object_id: Option<String>,
        name: Option<String>,
    },
    /// Interface status and counters (IF-MIB, netlink, per-ONU interfaces).
    Interface {
        subject: Subject,
        oper_up: Option<bool>,
        in_octets: Option<Counter>,
        out_octets: Option<Counter>,
        speed_bps: Option<u64>,
        /// ifCounterDiscontinuityTime, when the device gives it.
        discontinuity: Option<u32>,
    },
    /// A link went up or down right now (netlink multicast), outside any poll.
    LinkChange { subject: Subject, up: bool },
    /// Optical levels in dBm; `None` = the device has no reading (placeholders mapped away).
    Optical {
        subject: Subject,
        rx_dbm: Option<f64>,
        tx_dbm: Option<f64>,
    },
    /// Radio link quality.
    Radio {
        subject: Subject,
        signal_dbm: Option<f64>,
        snr_db: Option<f64>,
        ccq_percent: Option<f64>,
        capacity_bps: Option<u64>,
    },
    /// An ONU's or station's own state as the device reports it.
    LineState {
        subject: Subject,
        up: bool,
        reason: Option<DownReason>,
    },
}
