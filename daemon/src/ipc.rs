//! The control protocol between `coopnoc` (CLI) and `coopnocd`, over a Unix socket.
//!
//! One request, one response, as JSON in a frame: a 4-byte big-endian length, then the body.
//! Sizes are bounded both ways so that a confused peer cannot make either side allocate
//! without limit; both sides put timeouts on every read and write.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Requests carry at most a CSV import: 16 MiB is ~100,000 lines.
pub const MAX_REQUEST_BYTES: u32 = 16 << 20;
/// Responses carry at most a full inventory or a member export.
pub const MAX_RESPONSE_BYTES: u32 = 64 << 20;
/// Protocol version: bumped on an incompatible change; both sides say so plainly.
pub const PROTOCOL_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "request", rename_all = "kebab-case")]
pub enum Request {
    Status,
    MemberAdd(NewMember),
    MemberList,
    MemberShow {
        member: String,
    },
    LineAdd(NewLine),
    LineList {
        unassigned_only: bool,
    },
    LineShow {
        line: String,
    },
    /// Lines in trouble (down, degraded, flapping), worst first; or ONUs and stations the
    /// devices show that no line matches (`unassigned`).
    Lines {
        query: LinesQuery,
    },
    /// Re-reads one line's ONU or station now, with a single GET, and answers with what it
    /// read (no hysteresis: what the device says this second).
    LineWatch {
        line: String,
    },
    /// Events, newest first: since a time (RFC 3339, UTC), about one line or device.
    Events {
        since: Option<String>,
        subject: Option<String>,
        limit: u32,
    },
    LineAssign {
        line: String,
        member: Option<String>,
    },
    /// Sets (or with all fields `None`, clears) a line's own thresholds.
    LineThresholds {
        line: String,
        thresholds: crate::linestate::ThresholdOverrides,
    },
    Import {
        kind: ImportKind,
        csv: String,
        file_name: String,
    },
    DeviceList,
    DeviceShow {
        device: String,
    },
    /// Polls a device now (after the poll in progress, if any) and answers with what it saw.
    Poll {
        device: String,
    },
    /// A line's or member's usage for a local month (default: the current one).
    Usage {
        target: String,
        month: Option<String>,
        daily: bool,
    },
    /// Everything held about a member (a data-access request).
    MemberExport {
        member: String,
    },
    /// Removes a member and their usage; keeps anonymous aggregates.
    MemberErase {
        member: String,
    },
    /// Records the end of a membership (`on`: YYYY-MM-DD in the cooperative's time zone,
    /// default today), or with `undo`, that it goes on.
    MemberLeave {
        member: String,
        on: Option<String>,
        undo: bool,
    },
}

/// What a person may do through the control socket, decided by the daemon from the peer's
/// credentials (`[ctl] technicians` and `administrators`, by Unix group). An administrator
/// may do everything a technician may.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Reads the network: status, devices, lines, events, line watch, poll now.
    Technician,
    /// Members and their data (usage, export, erasure), imports, inventory and thresholds.
    Administrator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Technician => "technician",
            Role::Administrator => "administrator",
        }
    }
}

impl Request {
    /// The role a request needs. Reading members or their usage is personal data: an
    /// administrator's; the network's state is a technician's.
    pub fn role(&self) -> Role {
        match self {
            Request::Status
            | Request::LineList { .. }
            | Request::LineShow { .. }
            | Request::Lines { .. }
            | Request::LineWatch { .. }
            | Request::Events { .. }
            | Request::DeviceList
            | Request::DeviceShow { .. }
            | Request::Poll { .. } => Role::Technician,
            Request::MemberAdd(_)
            | Request::MemberList
            | Request::MemberShow { .. }
            | Request::LineAdd(_)
            | Request::LineAssign { .. }
            | Request::LineThresholds { .. }
            | Request::Import { .. }
            | Request::Usage { .. }
            | Request::MemberExport { .. }
            | Request::MemberErase { .. }
            | Request::MemberLeave { .. } => Role::Administrator,
        }
    }

    /// The command that sends it, for messages ("`coopnoc member add` needs...").
    pub fn command(&self) -> &'static str {
        match self {
            Request::Status => "coopnoc status",
            Request::MemberAdd(_) => "coopnoc member add",
            Request::MemberList => "coopnoc member list",
            Request::MemberShow { .. } => "coopnoc member show",
            Request::LineAdd(_) => "coopnoc line add",
            Request::LineList { .. } => "coopnoc line list",
            Request::LineShow { .. } => "coopnoc line show",
            Request::Lines { .. } => "coopnoc lines",
            Request::LineWatch { .. } => "coopnoc line watch",
            Request::Events { .. } => "coopnoc events",
            Request::LineAssign { .. } => "coopnoc line assign",
            Request::LineThresholds { .. } => "coopnoc line thresholds",
            Request::Import { .. } => "coopnoc import",
            Request::DeviceList => "coopnoc device list",
            Request::DeviceShow { .. } => "coopnoc device show",
            Request::Poll { .. } => "coopnoc poll",
            Request::Usage { .. } => "coopnoc usage",
            Request::MemberExport { .. } => "coopnoc member export",
            Request::MemberErase { .. } => "coopnoc member erase",
            Request::MemberLeave { .. } => "coopnoc member leave",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ImportKind {
    Members,
    Lines,
}

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
    Usage(crate::usage::read::UsageReport),
    MemberExport { data: serde_json::Value },
    Erased(crate::usage::read::ErasureSummary),
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
    pub thresholds: crate::linestate::ThresholdOverrides,
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

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LinesQuery {
    Problems,
    Unassigned,
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImportSummary {
    pub kind: ImportKind,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
}

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
    pub health: crate::observe::CollectorHealth,
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

// ---------------------------------------------------------------------------------------------
// Framing.

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection closed")]
    Closed,
    #[error("message of {size} bytes is over the limit of {limit} bytes")]
    TooLarge { size: u32, limit: u32 },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("message incomplete after {0:?}")]
    Incomplete(Duration),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed message: {0}")]
    Malformed(#[from] serde_json::Error),
}

/// One framed message as bytes: its length, then its JSON.
pub fn encode_frame<T: Serialize>(value: &T, limit: u32) -> Result<Vec<u8>, FrameError> {
    let body = serde_json::to_vec(value)?;
    let size = u32::try_from(body.len()).unwrap_or(u32::MAX);
    if size > limit {
        return Err(FrameError::TooLarge { size, limit });
    }
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&size.to_be_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// Writes one framed message.
pub async fn write_frame<W, T>(
    w: &mut W,
    value: &T,
    limit: u32,
    timeout: Duration,
) -> Result<(), FrameError>
where
    W: AsyncWrite + Unpin,
    T: Serialize,
{
    let frame = encode_frame(value, limit)?;
    let io = async {
        w.write_all(&frame).await?;
        w.flush().await
    };
    tokio::time::timeout(timeout, io)
        .await
        .map_err(|_| FrameError::Timeout(timeout))??;
    Ok(())
}

/// Reads one framed message within `timeout`. `Closed` when the peer hung up cleanly before
/// a new frame.
pub async fn read_frame<R, T>(r: &mut R, limit: u32, timeout: Duration) -> Result<T, FrameError>
where
    R: AsyncRead + Unpin,
    T: for<'de> Deserialize<'de>,
{
    read_frame_within(r, limit, timeout, timeout).await
}

/// Reads one framed message: waits up to `idle` for its first byte, then up to `deadline` for
/// the rest. The body grows as its bytes arrive (never to the announced size up front): a peer
/// that announces a large frame and sends it slowly holds what it sent, and not for long.
pub async fn read_frame_within<R, T>(
    r: &mut R,
    limit: u32,
    idle: Duration,
    deadline: Duration,
) -> Result<T, FrameError>
where
    R: AsyncRead + Unpin,
    T: for<'de> Deserialize<'de>,
{
    let mut len = [0u8; 4];
    let first = tokio::time::timeout(idle, r.read(&mut len))
        .await
        .map_err(|_| FrameError::Timeout(idle))??;
    if first == 0 {
        return Err(FrameError::Closed);
    }
    let rest = async {
        r.read_exact(&mut len[first..]).await?;
        let size = u32::from_be_bytes(len);
        if size > limit {
            return Err(FrameError::TooLarge { size, limit });
        }
        let mut body = Vec::new();
        let got = (&mut *r)
            .take(u64::from(size))
            .read_to_end(&mut body)
            .await?;
        if got < size as usize {
            return Err(FrameError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("the peer hung up after {got} of {size} bytes"),
            )));
        }
        Ok(serde_json::from_slice(&body)?)
    };
    tokio::time::timeout(deadline, rest)
        .await
        .map_err(|_| FrameError::Incomplete(deadline))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_limits_hold() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        let t = Duration::from_secs(1);
        write_frame(&mut a, &Request::Status, 1024, t)
            .await
            .expect("test setup");
        let r: Request = read_frame(&mut b, 1024, t).await.expect("test setup");
        assert_eq!(r, Request::Status);

        // A frame announcing more than the limit is refused before allocation.
        a.write_all(&(1u32 << 30).to_be_bytes())
            .await
            .expect("test setup");
        let e = read_frame::<_, Request>(&mut b, 1024, t)
            .await
            .expect_err("must fail");
        assert!(matches!(e, FrameError::TooLarge { .. }), "{e}");

        // Garbage is a clear error, not a panic.
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        a.write_all(&3u32.to_be_bytes()).await.expect("test setup");
        a.write_all(b"{x}").await.expect("test setup");
        let e = read_frame::<_, Request>(&mut b, 1024, t)
            .await
            .expect_err("must fail");
        assert!(matches!(e, FrameError::Malformed(_)), "{e}");

        // A silent peer times out.
        let (_a, mut b) = tokio::io::duplex(16);
        let e = read_frame::<_, Request>(&mut b, 1024, Duration::from_millis(50))
            .await
            .expect_err("must fail");
        assert!(matches!(e, FrameError::Timeout(_)), "{e}");
    }

    #[tokio::test]
    async fn an_idle_peer_and_a_slow_frame_each_meet_their_deadline() {
        let (idle, deadline) = (Duration::from_millis(300), Duration::from_millis(100));
        // Nothing at all: the idle wait ends it.
        let (_a, mut b) = tokio::io::duplex(1 << 16);
        let e = read_frame_within::<_, Request>(&mut b, 16 << 20, idle, deadline)
            .await
            .expect_err("must fail");
        assert!(matches!(e, FrameError::Timeout(d) if d == idle), "{e}");
        // 16 MiB announced, ten bytes sent: dropped at the request deadline, not held.
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        a.write_all(&(16u32 << 20).to_be_bytes())
            .await
            .expect("test setup");
        a.write_all(b"{\"request\"").await.expect("test setup");
        let e = read_frame_within::<_, Request>(&mut b, 16 << 20, idle, deadline)
            .await
            .expect_err("must fail");
        assert!(
            matches!(e, FrameError::Incomplete(d) if d == deadline),
            "{e}"
        );
        // Half a length prefix counts as a started request too.
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        a.write_all(&[0, 0]).await.expect("test setup");
        let e = read_frame_within::<_, Request>(&mut b, 16 << 20, idle, deadline)
            .await
            .expect_err("must fail");
        assert!(matches!(e, FrameError::Incomplete(_)), "{e}");
        // A peer that hangs up mid-frame is an error, not a frame.
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        a.write_all(&100u32.to_be_bytes())
            .await
            .expect("test setup");
        a.write_all(b"{}").await.expect("test setup");
        drop(a);
        let e = read_frame_within::<_, Request>(&mut b, 1024, idle, deadline)
            .await
            .expect_err("must fail");
        assert!(matches!(e, FrameError::Io(_)), "{e}");
    }

    #[test]
    fn every_request_names_its_role_and_command() {
        let admin = Request::MemberErase {
            member: "M-1".into(),
        };
        assert_eq!(admin.role(), Role::Administrator);
        assert_eq!(admin.command(), "coopnoc member erase");
        assert_eq!(Request::Status.role(), Role::Technician);
        assert_eq!(
            Request::Usage {
                target: "M-1".into(),
                month: None,
                daily: false
            }
            .role(),
            Role::Administrator,
            "a member's usage is personal data"
        );
        assert!(Role::Administrator > Role::Technician);
    }
}
