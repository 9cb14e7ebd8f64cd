//! Devices as the daemon sees them (`device list`, `device show`, `poll`).

use serde::{Deserialize, Serialize};

/// A polled device as `coopnoc device list` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeviceSummary {
    pub name: String,
    pub kind: String,
    pub site: Option<String>,
    /// host:port, for SNMP devices.
    pub address: Option<String>,
    /// "reachable", "unreachable", "unknown" (not judged yet), or "not-polled" (disabled, or
    /// not an SNMP device).
    pub state: String,
    /// RFC 3339, UTC.
    pub last_poll: Option<String>,
    pub last_poll_ms: Option<u64>,
    pub polls: u64,
    /// Failed polls since the daemon started.
    pub failed_polls: u64,
    /// Failed polls in a row now.
    pub consecutive_failures: u32,
    /// Timeouts, malformed replies and anomalies since the daemon started.
    pub errors: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeviceDetail {
    pub summary: DeviceSummary,
    /// The id of the profile the device is read with: the detected one, else the one the
    /// config names (or "generic-if-mib") until the first poll.
    pub profile: Option<String>,
    /// How the profile was chosen: "forced" (config), "matched" or "fallback" (nothing
    /// matched: generic IF-MIB); none before the first poll.
    #[serde(default)]
    pub profile_by: Option<String>,
    /// The profile's model name ("ZTE ZXA10 C300/C320").
    #[serde(default)]
    pub profile_name: Option<String>,
    /// Why no profile could be chosen (a profile named in the config that does not exist).
    #[serde(default)]
    pub profile_error: Option<String>,
    /// ONUs and radio stations the profile found on the device (latest poll of each table).
    #[serde(default)]
    pub lines_seen: usize,
    /// Everything the profile found, interfaces included.
    #[serde(default)]
    pub discovered: usize,
    pub snmp_version: Option<String>,
    pub sys_descr: Option<String>,
    pub sys_object_id: Option<String>,
    pub sys_name: Option<String>,
    pub uptime_seconds: Option<u64>,
    /// RFC 3339, UTC: since when the device is in its current state.
    pub state_since: Option<String>,
    pub health: CollectorHealth,
    pub interfaces: Vec<InterfaceInfo>,
    /// Most recent first.
    pub last_errors: Vec<DeviceError>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InterfaceInfo {
    pub index: u32,
    pub name: Option<String>,
    pub descr: Option<String>,
    pub alias: Option<String>,
    pub if_type: Option<i32>,
    /// "up", "down", or none when the device did not say.
    pub oper: Option<String>,
    pub in_octets: Option<u64>,
    pub out_octets: Option<u64>,
    /// 64 or 32: the width of the counters above.
    pub counter_bits: Option<u8>,
    pub speed_bps: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeviceError {
    /// RFC 3339, UTC.
    pub at: String,
    pub message: String,
}

/// A collector's counters about its work with one device, since the daemon started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectorHealth {
    pub requests: u64,
    pub timeouts: u64,
    pub retries: u64,
    /// Replies that could not be decoded or did not fit the request.
    pub malformed: u64,
    /// Replies that were decoded but made no sense.
    pub anomalies: u64,
    /// Polls that could not start on time because the previous one was still running.
    pub overruns: u64,
    /// Replies too big for the agent, which made the collector ask for less.
    pub too_big: u64,
    /// The GETBULK max-repetitions in use now (SNMP only).
    pub max_repetitions: u32,
}
