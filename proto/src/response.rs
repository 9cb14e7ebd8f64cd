//! What `coopnocd` answers.

use crate::devices::{DeviceDetail, DeviceSummary};
use crate::inventory::{Line, Member};
use crate::lines::{Event, LineDetail, ProblemList, UnassignedItem, WatchReading};
use crate::request::ImportKind;
use crate::usage::{ErasureSummary, UsageReport};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "response", rename_all = "kebab-case")]
pub enum Response {
    Status(StatusInfo),
    Member(Member),
    Members { members: Vec<Member> },
    Line(Box<LineDetail>),
    Lines { lines: Vec<Line> },
    Problems(ProblemList),
    Unassigned { items: Vec<UnassignedItem> },
    Watch(WatchReading),
    Events { events: Vec<Event> },
    Imported(ImportSummary),
    Devices { devices: Vec<DeviceSummary> },
    Device(Box<DeviceDetail>),
    Usage(UsageReport),
    MemberExport { data: serde_json::Value },
    Erased(ErasureSummary),
    Error(ErrorReply),
}

/// What went wrong, for the person at the terminal.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorReply {
    pub kind: ErrorKind,
    pub message: String,
    /// Row-level problems of an import, one per bad row.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    NotFound,
    Invalid,
    Conflict,
    Internal,
    Unsupported,
    /// The peer's role does not allow the request (or it has none).
    Forbidden,
    /// The daemon has as many connections as it takes (`[ctl] max-connections`).
    Busy,
}

impl Response {
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
        Response::Error(ErrorReply {
            kind,
            message: message.into(),
            details: Vec::new(),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusInfo {
    pub version: String,
    pub protocol: u32,
    pub pid: u32,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub uptime_seconds: u64,
    pub cooperative: String,
    pub config_file: Option<String>,
    pub state_directory: String,
    pub sites: u64,
    pub devices: u64,
    pub members: u64,
    pub lines: u64,
    pub lines_unassigned: u64,
    pub store: StoreInfo,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoreInfo {
    pub path: String,
    pub schema_version: i64,
    /// The database file plus its write-ahead log.
    pub size_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImportSummary {
    pub kind: ImportKind,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
}
