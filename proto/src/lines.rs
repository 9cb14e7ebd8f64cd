//! Lines as the daemon sees them (`line show`, `lines`, `line watch`) and events.

use crate::inventory::{Line, MatchKind, ThresholdOverrides};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LineDetail {
    pub line: Line,
    pub member_name: Option<String>,
    pub site: Option<String>,
    /// The latest events of the line, newest first.
    pub events: Vec<Event>,
    /// What the daemon sees of the line now (absent from a store-only answer).
    #[serde(default)]
    pub live: Option<LineLive>,
    /// The line's own thresholds; those not set are the configured ones (`[lines]`).
    #[serde(default)]
    pub thresholds: ThresholdOverrides,
}

/// A line as the daemon sees it now: state with why, where it hangs, levels, traffic.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LineLive {
    /// The reason of the current state ("LOS", "rx -28.40 dBm below -27.0").
    pub reason: Option<String>,
    /// State changes within the flap window (`[lines] flap-window`), and whether that makes
    /// the line flapping (`[lines] flap-count` or more).
    pub flaps: u32,
    pub flapping: bool,
    /// Where the line was last found; none when no device shows it.
    pub location: Option<LineLocation>,
    /// The latest levels (RFC 3339 time of the reading); `None` = no reading.
    pub levels: Levels,
    /// The last 24 hours, one entry per level the line has (rx, OLT rx, signal...).
    pub day: Vec<LevelDay>,
    pub traffic: Option<Traffic>,
    /// "per-line", or why the line's usage is not measured ("not measured per line on this
    /// device").
    pub usage: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LineLocation {
    pub device: String,
    pub site: Option<String>,
    /// The device's profile id.
    pub profile: Option<String>,
    /// PON port or interface name ("gpon_1/1/3").
    pub port: Option<String>,
    pub onu: Option<u32>,
    pub if_index: Option<u32>,
    /// The ONU serial or station MAC the device gives.
    pub serial: Option<String>,
    pub mac: Option<String>,
    /// RFC 3339: when the device last showed the line.
    pub seen_at: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Levels {
    pub at: Option<String>,
    /// At the member's end: the ONU's receiver and laser.
    pub rx_dbm: Option<f64>,
    pub tx_dbm: Option<f64>,
    /// What the OLT receives from this ONU.
    pub olt_rx_dbm: Option<f64>,
    pub signal_dbm: Option<f64>,
    pub snr_db: Option<f64>,
}

/// One level over the last 24 hours.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LevelDay {
    /// "rx", "tx", "olt-rx", "signal" or "snr".
    pub metric: String,
    /// "dBm" or "dB".
    pub unit: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// 24 hourly minima (the worst of each hour), oldest first, the current hour last;
    /// `None` where nothing was read.
    pub hourly_min: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Traffic {
    /// Bits per second over the last poll interval.
    pub download_bps: Option<f64>,
    pub upload_bps: Option<f64>,
    pub over_seconds: f64,
    pub at: String,
}

/// `coopnoc lines --problems`: down, degraded and flapping lines, worst first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProblemList {
    pub lines: Vec<LineProblem>,
    /// Lines the daemon knows, and how many of them are unknown (device unreachable, not
    /// seen): not listed as problems, counted.
    pub total: u64,
    pub unknown: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LineProblem {
    pub reference: String,
    pub member: Option<String>,
    pub state: String,
    pub since: Option<String>,
    pub reason: Option<String>,
    pub flaps: u32,
    pub flapping: bool,
    /// "olt-1 gpon_1/1/3:12", or the configured device when not seen.
    pub location: Option<String>,
    pub site: Option<String>,
}

/// An ONU or station a device shows that no line matches.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnassignedItem {
    pub device: String,
    pub site: Option<String>,
    /// "onu" or "station".
    pub kind: String,
    pub port: Option<String>,
    pub onu: Option<u32>,
    /// How a line would match it: "serial", "mac" or "onu", and the key.
    pub match_kind: Option<MatchKind>,
    pub key: Option<String>,
    /// Other labels the device gives (name, model...).
    pub labels: std::collections::BTreeMap<String, String>,
}

/// `coopnoc line watch`: one fresh read of a line's ONU or station.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WatchReading {
    pub line: String,
    pub device: String,
    pub location: Option<String>,
    /// What this reading alone says (thresholds applied, no hysteresis).
    pub state: String,
    pub reason: Option<String>,
    pub levels: Levels,
    /// The device's word on the ONU/station: "up", "down", or none.
    pub oper: Option<String>,
    /// The values read and how long the GET took.
    pub values: u32,
    pub took_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub at: String,
    pub subject_kind: String,
    pub subject: String,
    pub old_state: Option<String>,
    pub new_state: String,
    pub reason: Option<String>,
    /// The values behind the change (levels, flaps...), as recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}
