//! A line's or member's usage (`coopnoc usage`) and what an erasure removed.

use serde::{Deserialize, Serialize};

/// Decimal gigabyte: what members are told (10^9 bytes, as ISPs and ARCEP count).
pub const BYTES_PER_GB: u64 = 1_000_000_000;

/// What an erasure removed (counts only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureSummary {
    pub lines_detached: u64,
    pub fine_rows: u64,
    pub daily_rows: u64,
    pub monthly_rows: u64,
    pub audit_rows_scrubbed: u64,
}

/// `coopnoc usage`: one line's or one member's month.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UsageReport {
    /// "line" or "member".
    pub subject_kind: String,
    pub subject: String,
    /// YYYY-MM, in `time_zone`.
    pub month: String,
    pub time_zone: String,
    pub period_start: String,
    pub period_end: String,
    pub lines: Vec<LineMeasure>,
    /// Exact bytes. Download = delivered to the member; upload = sent by the member.
    pub download_bytes: u64,
    pub upload_bytes: u64,
    pub total_bytes: u64,
    /// Bytes (both directions) within the evening peak, and its share of the total.
    pub peak_bytes: u64,
    pub peak_share: Option<f64>,
    pub evening_peak: String,
    /// Share of the period (so far) covered by good counter data, 0..1.
    pub completeness: f64,
    /// True when completeness is below 100 %: the volume is a lower bound.
    pub estimated: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<DayUsage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LineMeasure {
    pub line: String,
    /// False where the device gives only per-PON counters.
    pub measured_per_line: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DayUsage {
    pub day: String,
    pub download_bytes: u64,
    pub upload_bytes: u64,
    pub peak_bytes: u64,
    pub completeness: f64,
}
