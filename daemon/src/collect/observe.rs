//! Observations: what collectors (SNMP poller, netlink, probes) saw, typed, on their way to
//! state, the store and the outputs. Collectors only produce these; they never know who reads.

use std::sync::Arc;
use std::time::Duration;

pub use crate::octets::Counter;

/// One collector's findings about one device at one moment, sent as a unit so that a poll of
/// 10,000 ONUs is one channel message, not 20,000.
#[derive(Debug, Clone)]
pub struct ObservationBatch {
    pub device: Arc<str>,
    pub at: jiff::Timestamp,
    pub items: Vec<Observation>,
}

/// Where on a device a value belongs. Stable keys (serial, MAC, name) where the device gives
/// them; the index is kept alongside, never relied on alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    Device,
    Interface {
        index: u32,
        name: Arc<str>,
    },
    Onu {
        port: Arc<str>,
        onu: u32,
        serial: Option<Arc<str>>,
    },
    Station {
        mac: Arc<str>,
        name: Option<Arc<str>>,
    },
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
    /// `read_at`: when the reply carrying it arrived (`None`: the batch's time).
    Uptime {
        ticks: u32,
        read_at: Option<jiff::Timestamp>,
    },
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
        /// When the replies carrying `in_octets` and `out_octets` arrived: a poll reads its
        /// values over seconds (more through a slow path), and a rate or a usage slot is only
        /// right with the moment each value was read. `None`: the batch's time.
        in_read_at: Option<jiff::Timestamp>,
        out_read_at: Option<jiff::Timestamp>,
    },
    /// Packet, error and discard counters of an interface (netlink's 64-bit link stats; the
    /// IF-MIB packet and error columns), with the carrier where the source knows it.
    InterfaceStats {
        subject: Subject,
        carrier: Option<bool>,
        in_packets: Counter,
        out_packets: Counter,
        in_errors: Counter,
        out_errors: Counter,
        in_discards: Counter,
        out_discards: Counter,
    },
    /// A link went up or down right now (netlink multicast), outside any poll.
    LinkChange { subject: Subject, up: bool },
    /// Optical levels in dBm; `None` = the device has no reading (placeholders mapped away).
    /// `rx_dbm`/`tx_dbm` are measured at the subject (the ONU's own receiver and laser);
    /// `olt_rx_dbm` is what the OLT receives from this ONU (some OLTs give only that one).
    Optical {
        subject: Subject,
        rx_dbm: Option<f64>,
        tx_dbm: Option<f64>,
        olt_rx_dbm: Option<f64>,
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
    /// How one poll went, whatever it found: emitted by every poll, before the collector has
    /// judged reachability (which waits for several failures in a row).
    Poll {
        duration: Duration,
        error: Option<String>,
        /// Failed polls in a row, this one included (0 when it succeeded).
        consecutive_failures: u32,
    },
    /// An interface's names, read with the labels (not every poll).
    InterfaceLabels {
        index: u32,
        name: Option<Arc<str>>,
        descr: Option<String>,
        alias: Option<String>,
        if_type: Option<i32>,
    },
    /// Something odd in what the device answered (an OID going backwards, an implausible
    /// counter): counted and shown to technicians, never fatal.
    Anomaly { message: String },
    /// The collector's own counters for this device, since the daemon started.
    CollectorHealth(CollectorHealth),
    /// A line's traffic counters from the member's point of view: `download` is what the
    /// member received (on an OLT, the octets the OLT sent towards the ONU).
    Usage {
        subject: Subject,
        download: Option<Counter>,
        upload: Option<Counter>,
        /// When the replies carrying them arrived (`None`: the batch's time).
        download_read_at: Option<jiff::Timestamp>,
        upload_read_at: Option<jiff::Timestamp>,
    },
    /// One environmental or power reading (temperature, voltage, battery charge...).
    /// `value` is `None` when the device has no reading.
    Sensor {
        subject: Subject,
        sensor: Sensor,
        value: Option<f64>,
    },
    /// The device profile a collector reads the device with (detected at the first poll,
    /// after a reboot and with the labels), or why none could be chosen (a profile named in
    /// the config that does not exist).
    Profile {
        detection: Result<crate::collect::profile::Detection, String>,
    },
    /// Every ONU, station and interface the device's profile found, latest of each table:
    /// what line matching starts from. Shared, not copied, from poll to poll.
    Discovered {
        items: Arc<Vec<crate::collect::profile::Discovered>>,
    },
    /// A UPS's power state (UPS-MIB or alike).
    Power {
        subject: Subject,
        on_battery: Option<bool>,
        battery: Option<BatteryState>,
    },
}

/// Counters a collector keeps about its work with one device (cumulative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectorHealth {
    pub requests: u64,
    pub timeouts: u64,
    pub retries: u64,
    /// Replies that could not be decoded or did not fit the request.
    pub malformed: u64,
    /// Replies that were decoded but made no sense (see `Observation::Anomaly`).
    pub anomalies: u64,
    /// Polls that could not start on time because the previous one was still running.
    pub overruns: u64,
    /// Replies too big for the agent, which made the collector ask for less.
    pub too_big: u64,
    /// The GETBULK max-repetitions in use now (SNMP only).
    pub max_repetitions: u32,
}

/// What a [`Observation::Sensor`] measures, with its unit in the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sensor {
    TemperatureCelsius,
    Volts,
    Milliamperes,
    BatteryChargePercent,
    BatteryMinutesRemaining,
    SecondsOnBattery,
    DistanceMetres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatteryState {
    Normal,
    Low,
    Depleted,
}
