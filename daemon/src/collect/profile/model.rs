//! The checked, runtime form of a device profile: what the loader (`file.rs`) produces and
//! the decoder (`decode.rs`) reads. Nothing here parses text.

use std::collections::BTreeMap;

use regex_lite::Regex;

use crate::collect::observe::{BatteryState, DownReason, Sensor};
use crate::collect::snmp::Oid;

/// A vendor model: how to recognise it, what to walk, how to read what comes back.
#[derive(Debug, Clone)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub kind: ProfileKind,
    /// The id of a profile whose tables this one takes too (its own tables of the same
    /// name replace them): most profiles extend `generic-if-mib`.
    pub extends: Option<String>,
    /// Whether this device can count a line's traffic by itself (see [`LineUsage`]).
    pub line_usage: LineUsage,
    pub notes: Option<String>,
    pub detect: Detect,
    pub tables: Vec<TableSpec>,
    /// "built-in" or the file it came from, for messages.
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProfileKind {
    Olt,
    Radio,
    Switch,
    Ups,
    Router,
    Host,
}

impl ProfileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileKind::Olt => "olt",
            ProfileKind::Radio => "radio",
            ProfileKind::Switch => "switch",
            ProfileKind::Ups => "ups",
            ProfileKind::Router => "router",
            ProfileKind::Host => "host",
        }
    }
}

/// Whether a member's usage can be measured per line on this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineUsage {
    /// The profile maps per-line counters (per ONU, per station, per port).
    PerLine,
    /// The device counts traffic per PON port (or per AP) only: usage must say "not measured
    /// per line on this device".
    PerPonOnly,
    /// No traffic counters for lines at all.
    None,
}

impl LineUsage {
    pub fn as_str(self) -> &'static str {
        match self {
            LineUsage::PerLine => "per-line",
            LineUsage::PerPonOnly => "per-pon-only",
            LineUsage::None => "none",
        }
    }
}

/// How a profile recognises its devices. Every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct Detect {
    /// sysObjectID prefixes, any of which matches (arc-wise, not textual).
    pub sys_object_id: Vec<Oid>,
    pub sys_descr: Option<Regex>,
    /// An OID that must answer with a value (for models that share a sysObjectID, such as
    /// every Ubiquiti Linux radio).
    pub probe: Option<Oid>,
    /// Higher wins among matching profiles; then more conditions; then the longer prefix.
    pub priority: i32,
}

impl Detect {
    pub fn is_empty(&self) -> bool {
        self.sys_object_id.is_empty() && self.sys_descr.is_none() && self.probe.is_none()
    }
}

/// When a column is walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Schedule {
    /// Often: oper status, counters, radio levels.
    Status,
    /// Rarely, and cached: names, serials, MACs, descriptions.
    Labels,
    /// On their own slow schedule: per-ONU optics (OLT vendors advise against reading often).
    Slow,
}

impl Schedule {
    pub fn as_str(self) -> &'static str {
        match self {
            Schedule::Status => "status",
            Schedule::Labels => "labels",
            Schedule::Slow => "slow",
        }
    }
    pub fn parse(s: &str) -> Option<Schedule> {
        match s {
            "status" => Some(Schedule::Status),
            "labels" => Some(Schedule::Labels),
            "slow" => Some(Schedule::Slow),
            _ => None,
        }
    }
}

/// What one row of a table describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    Device,
    Interface,
    Onu,
    Station,
}

/// How a row's index (the arcs after the column OID) is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// Any index; every row is about the device itself (scalars `.0`, or per-chain rows).
    Any,
    /// One arc, an ifIndex.
    IfIndex,
    /// One arc, a plain integer.
    Integer,
    /// Two arcs: the PON port (often its ifIndex) and the ONU number on it.
    PonOnu,
    /// A length-prefixed ASCII string (UFiber: `12.85.66.78.84...` = "UBNT...").
    LengthPrefixedString,
    /// Six arcs, a MAC address; further arcs (af60 `.1`, MikroTik's ifIndex) are ignored.
    Mac,
    /// Any number of arcs naming a port, shelf.slot.port, shown "1/1/3" (Calix EXA).
    Path,
}

/// How the PON port of a `pon-onu` index (or a `port-name` column) is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortNames {
    /// The number as is.
    Number,
    /// The number is an ifIndex: named by IF-MIB ifName (or ifDescr) when walked.
    IfName,
    /// A template in which `{}` stands for the number, e.g. "EPON0/{}".
    Template(String),
    /// A Huawei SmartAX GPON ifIndex (0xFA000000 + frame<<18 + slot<<13 + port<<8) named
    /// frame/slot/port, as the OLT's CLI names it ("0/1/3").
    HuaweiGpon,
}

/// The stable key a line is matched by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    Serial,
    Mac,
    IfName,
    IfAlias,
    Name,
    OnuId,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Serial => "serial",
            KeyKind::Mac => "mac",
            KeyKind::IfName => "if-name",
            KeyKind::IfAlias => "if-alias",
            KeyKind::Name => "name",
            KeyKind::OnuId => "onu-id",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TableSpec {
    pub name: String,
    pub subject: SubjectKind,
    pub index: IndexKind,
    pub port_names: PortNames,
    /// The key lines are matched by; `None` for device-level tables.
    pub key: Option<KeyKind>,
    /// Only rows whose subject name matches (e.g. BDCOM's `GPON0/2:1` ONU interfaces).
    pub match_name: Option<Regex>,
    pub columns: Vec<ColumnSpec>,
}

#[derive(Debug, Clone)]
pub struct ColumnSpec {
    pub name: String,
    pub oid: Oid,
    /// Arcs that end this column's instances and select it (Raisecom DDM puts the parameter
    /// after the ifIndex: `...2.<ifIndex>.4` is rx power). Stripped before the index is read.
    pub index_suffix: Vec<u32>,
    pub role: Role,
    pub schedule: Schedule,
    /// The column (its place in the table) this one stands in for: read only where that one
    /// has no value (32-bit counters for a port without 64-bit ones, ifSpeed below 1 Mb/s).
    pub fallback_for: Option<usize>,
    pub scale: Scale,
    /// Raw value (as text: "1", "-1", "online") to meaning; only for status roles.
    pub map: BTreeMap<String, Mapped>,
}

/// What a column means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    // Labels (and line keys).
    Serial,
    /// A GPON serial as 8 octets (4 vendor letters, 4 binary), shown "HWTC1A2B3C4D".
    GponSerial,
    Mac,
    IfName,
    IfAlias,
    IfDescr,
    /// IF-MIB ifType (a number: 6 ethernetCsmacd, 71 ieee80211...).
    IfType,
    Name,
    PortName,
    OnuId,
    Model,
    // State, through a value map.
    OperStatus,
    AdminStatus,
    /// Why a line that is down went down (Huawei's last down cause): refines the reason.
    DownCause,
    BatteryStatus,
    OutputSource,
    // Optical levels, dBm after scaling.
    RxDbm,
    TxDbm,
    OltRxDbm,
    // Radio.
    SignalDbm,
    SnrDb,
    CcqPercent,
    CapacityBps,
    // Counters. in/out are the device's view (interfaces); download/upload the member's.
    InOctets,
    OutOctets,
    DownloadOctets,
    UploadOctets,
    SpeedBps,
    Discontinuity,
    // Environment and power.
    Sensor(Sensor),
    /// ENTITY-SENSOR-MIB (RFC 3433): the kind and scale of each value are in other columns
    /// of its row (type, scale, precision, status).
    EntitySensorType,
    EntitySensorScale,
    EntitySensorPrecision,
    EntitySensorStatus,
    EntitySensorValue,
}

pub const ROLES: &[(&str, Role)] = &[
    ("serial", Role::Serial),
    ("gpon-serial", Role::GponSerial),
    ("mac", Role::Mac),
    ("if-name", Role::IfName),
    ("if-alias", Role::IfAlias),
    ("if-descr", Role::IfDescr),
    ("if-type", Role::IfType),
    ("name", Role::Name),
    ("port-name", Role::PortName),
    ("onu-id", Role::OnuId),
    ("model", Role::Model),
    ("oper-status", Role::OperStatus),
    ("admin-status", Role::AdminStatus),
    ("down-cause", Role::DownCause),
    ("battery-status", Role::BatteryStatus),
    ("output-source", Role::OutputSource),
    ("rx-dbm", Role::RxDbm),
    ("tx-dbm", Role::TxDbm),
    ("olt-rx-dbm", Role::OltRxDbm),
    ("signal-dbm", Role::SignalDbm),
    ("snr-db", Role::SnrDb),
    ("ccq-percent", Role::CcqPercent),
    ("capacity-bps", Role::CapacityBps),
    ("in-octets", Role::InOctets),
    ("out-octets", Role::OutOctets),
    ("download-octets", Role::DownloadOctets),
    ("upload-octets", Role::UploadOctets),
    ("speed-bps", Role::SpeedBps),
    ("discontinuity", Role::Discontinuity),
    (
        "temperature-celsius",
        Role::Sensor(Sensor::TemperatureCelsius),
    ),
    ("volts", Role::Sensor(Sensor::Volts)),
    ("milliamperes", Role::Sensor(Sensor::Milliamperes)),
    (
        "battery-charge-percent",
        Role::Sensor(Sensor::BatteryChargePercent),
    ),
    (
        "battery-minutes-remaining",
        Role::Sensor(Sensor::BatteryMinutesRemaining),
    ),
    ("seconds-on-battery", Role::Sensor(Sensor::SecondsOnBattery)),
    ("distance-metres", Role::Sensor(Sensor::DistanceMetres)),
    ("entity-sensor-type", Role::EntitySensorType),
    ("entity-sensor-scale", Role::EntitySensorScale),
    ("entity-sensor-precision", Role::EntitySensorPrecision),
    ("entity-sensor-status", Role::EntitySensorStatus),
    ("entity-sensor-value", Role::EntitySensorValue),
];

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        ROLES.iter().find(|(n, _)| *n == s).map(|(_, r)| *r)
    }

    pub fn as_str(self) -> &'static str {
        ROLES
            .iter()
            .find(|(_, r)| *r == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// Labels are read rarely and cached.
    pub fn is_label(self) -> bool {
        matches!(
            self,
            Role::Serial
                | Role::GponSerial
                | Role::Mac
                | Role::IfName
                | Role::IfAlias
                | Role::IfDescr
                | Role::IfType
                | Role::Name
                | Role::PortName
                | Role::OnuId
                | Role::Model
        )
    }

    /// Roles read through a value map rather than a number.
    pub fn is_mapped(self) -> bool {
        matches!(
            self,
            Role::OperStatus
                | Role::AdminStatus
                | Role::DownCause
                | Role::BatteryStatus
                | Role::OutputSource
        )
    }

    pub fn is_counter(self) -> bool {
        matches!(
            self,
            Role::InOctets | Role::OutOctets | Role::DownloadOctets | Role::UploadOctets
        )
    }

    /// Roles whose value is a number that scaling applies to.
    pub fn is_level(self) -> bool {
        !self.is_label()
            && !self.is_mapped()
            && !self.is_counter()
            && !self.is_entity_sensor()
            && self != Role::Discontinuity
    }

    pub fn is_entity_sensor(self) -> bool {
        matches!(
            self,
            Role::EntitySensorType
                | Role::EntitySensorScale
                | Role::EntitySensorPrecision
                | Role::EntitySensorStatus
                | Role::EntitySensorValue
        )
    }

    pub fn is_dbm(self) -> bool {
        matches!(
            self,
            Role::RxDbm | Role::TxDbm | Role::OltRxDbm | Role::SignalDbm
        )
    }
}

/// What a mapped value means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapped {
    Up,
    Down(DownReason),
    Battery(BatteryState),
    OnBattery(bool),
    /// A known value that says nothing (testing, unknown...): no state from it.
    Unknown,
}

/// The words a value map may use, per role family.
pub fn parse_mapped(role: Role, word: &str) -> Option<Mapped> {
    match role {
        Role::OperStatus | Role::AdminStatus | Role::DownCause => match word {
            "up" => Some(Mapped::Up),
            "down" => Some(Mapped::Down(DownReason::Other)),
            "los" => Some(Mapped::Down(DownReason::LossOfSignal)),
            "dying-gasp" => Some(Mapped::Down(DownReason::DyingGasp)),
            "offline" => Some(Mapped::Down(DownReason::Offline)),
            "admin-down" => Some(Mapped::Down(DownReason::AdminDown)),
            "unknown" => Some(Mapped::Unknown),
            _ => None,
        },
        Role::BatteryStatus => match word {
            "normal" => Some(Mapped::Battery(BatteryState::Normal)),
            "low" => Some(Mapped::Battery(BatteryState::Low)),
            "depleted" => Some(Mapped::Battery(BatteryState::Depleted)),
            "unknown" => Some(Mapped::Unknown),
            _ => None,
        },
        Role::OutputSource => match word {
            "battery" => Some(Mapped::OnBattery(true)),
            "mains" => Some(Mapped::OnBattery(false)),
            "unknown" => Some(Mapped::Unknown),
            _ => None,
        },
        _ => None,
    }
}

pub fn mapped_words(role: Role) -> &'static str {
    match role {
        Role::OperStatus | Role::AdminStatus | Role::DownCause => {
            "up, down, los, dying-gasp, offline, admin-down, unknown"
        }
        Role::BatteryStatus => "normal, low, depleted, unknown",
        Role::OutputSource => "mains, battery, unknown",
        _ => "",
    }
}

/// From the raw value to a reading: `((raw + offset) / divisor) * multiplier`, then the
/// conversion. Sentinels and the valid range apply to the raw number.
#[derive(Debug, Clone)]
pub struct Scale {
    pub offset: f64,
    pub divisor: f64,
    pub multiplier: f64,
    pub convert: Convert,
    /// For string values: a regex whose first group is the number ("(-?[0-9.]+) dBm").
    pub pattern: Option<Regex>,
    /// Raw values that mean "no reading".
    pub no_reading: Vec<i64>,
    /// Raw values outside this range mean "no reading".
    pub valid_range: Option<(f64, f64)>,
}

impl Default for Scale {
    fn default() -> Scale {
        Scale {
            offset: 0.0,
            divisor: 1.0,
            multiplier: 1.0,
            convert: Convert::None,
            pattern: None,
            no_reading: Vec::new(),
            valid_range: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convert {
    None,
    /// Milliwatts to dBm: 10·log10(mW).
    MwToDbm,
    /// Microwatts to dBm: 10·log10(µW / 1000).
    UwToDbm,
}
