//! What `coopnoc` asks, and the role each request needs.

use crate::inventory::{NewLine, NewMember, ThresholdOverrides};
use serde::{Deserialize, Serialize};

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
        thresholds: ThresholdOverrides,
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
pub enum LinesQuery {
    Problems,
    Unassigned,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ImportKind {
    Members,
    Lines,
}

impl ImportKind {
    /// Which file a CSV is, from its header: a lines file has a `key` (or `match`) column,
    /// a members file a `name` or `email` one.
    pub fn guess(csv: &str) -> Option<ImportKind> {
        let header = csv.lines().next()?.to_ascii_lowercase();
        let cols: Vec<&str> = header.split(',').map(str::trim).collect();
        if cols.contains(&"key") || cols.contains(&"match") {
            Some(ImportKind::Lines)
        } else if cols.contains(&"name") || cols.contains(&"email") {
            Some(ImportKind::Members)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_csv_is_known_by_its_header() {
        assert_eq!(
            ImportKind::guess("ref,name,email\nM-1,A,a@b.c"),
            Some(ImportKind::Members)
        );
        assert_eq!(
            ImportKind::guess("ref,kind,device,match,key\n"),
            Some(ImportKind::Lines)
        );
        assert_eq!(ImportKind::guess("a,b\n"), None);
        assert_eq!(ImportKind::guess(""), None);
    }

    proptest::proptest! {
        #[test]
        fn guessing_a_csv_kind_never_panics(s in "(?s).{0,300}") {
            let _ = ImportKind::guess(&s);
        }
    }
}
