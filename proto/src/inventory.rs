//! Members and lines as the cooperative enters them, and the vocabulary of lines: their kind,
//! how they are matched, their state, their own thresholds.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NewMember {
    /// The cooperative's member number, e.g. "M-0042".
    pub reference: String,
    pub display_name: String,
    pub email: Option<String>,
    pub language: String,
    pub reports: ReportPreference,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ReportPreference {
    Email,
    None,
}

impl ReportPreference {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportPreference::Email => "email",
            ReportPreference::None => "none",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Member {
    pub reference: String,
    pub display_name: String,
    pub email: Option<String>,
    pub language: String,
    pub reports: ReportPreference,
    pub lines: Vec<String>,
    pub created_at: String,
    /// RFC 3339: when the membership ended; the member's monthly totals are kept for
    /// `[retention] monthly-after-membership` after it.
    #[serde(default)]
    pub left_at: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LineKind {
    Fibre,
    Radio,
    Port,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Fibre => "fibre",
            LineKind::Radio => "radio",
            LineKind::Port => "port",
        }
    }

    pub fn parse(s: &str) -> Option<LineKind> {
        match s {
            "fibre" | "fiber" => Some(LineKind::Fibre),
            "radio" => Some(LineKind::Radio),
            "port" => Some(LineKind::Port),
            _ => None,
        }
    }
}

/// How a line is found on its device: never by ifIndex alone, which changes on reboot.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum MatchKind {
    Serial,
    Mac,
    Ifname,
    Ifalias,
    /// The ONU as its OLT names it, PON port and ONU id (`gpon_1/1/1:3`): for OLTs whose MIB
    /// gives no serial (ZTE C3xx). Stable as long as the ONU is not moved to another id.
    Onu,
}

impl MatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Serial => "serial",
            MatchKind::Mac => "mac",
            MatchKind::Ifname => "ifname",
            MatchKind::Ifalias => "ifalias",
            MatchKind::Onu => "onu",
        }
    }

    pub fn parse(s: &str) -> Option<MatchKind> {
        match s {
            "serial" => Some(MatchKind::Serial),
            "mac" => Some(MatchKind::Mac),
            "ifname" => Some(MatchKind::Ifname),
            "ifalias" => Some(MatchKind::Ifalias),
            "onu" => Some(MatchKind::Onu),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NewLine {
    pub reference: String,
    pub kind: LineKind,
    pub device: Option<String>,
    pub match_kind: MatchKind,
    pub match_key: String,
    pub member: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Line {
    pub reference: String,
    pub kind: LineKind,
    pub device: Option<String>,
    pub match_kind: MatchKind,
    pub match_key: String,
    pub member: Option<String>,
    pub description: Option<String>,
    pub state: String,
    pub state_since: Option<String>,
}

/// A line's state (the wire carries it as its word: "up", "degraded", "down", "unknown").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineState {
    Up,
    Degraded,
    Down,
    Unknown,
}

impl LineState {
    pub fn as_str(self) -> &'static str {
        match self {
            LineState::Up => "up",
            LineState::Degraded => "degraded",
            LineState::Down => "down",
            LineState::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<LineState> {
        match s {
            "up" => Some(LineState::Up),
            "degraded" => Some(LineState::Degraded),
            "down" => Some(LineState::Down),
            "unknown" => Some(LineState::Unknown),
            _ => None,
        }
    }

    /// Impact order, worst first, for sorting lists of problems.
    pub fn severity(self) -> u8 {
        match self {
            LineState::Down => 3,
            LineState::Degraded => 2,
            LineState::Unknown => 1,
            LineState::Up => 0,
        }
    }
}

impl std::fmt::Display for LineState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Per-line overrides of the thresholds (a long rural fibre may live at -28 dBm).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ThresholdOverrides {
    pub optical_rx_min_dbm: Option<f64>,
    pub optical_rx_max_dbm: Option<f64>,
    pub radio_signal_min_dbm: Option<f64>,
    pub radio_snr_min_db: Option<f64>,
}

impl ThresholdOverrides {
    pub fn is_empty(&self) -> bool {
        *self == ThresholdOverrides::default()
    }
}
