//! Every write the store knows, applied by the writer task inside a savepoint.

use sqlx::SqliteConnection;

use super::events::insert_events;
use super::{Actor, NewEvent, StoreError, now};
use crate::config::{Device, Site};
use coopnoc_proto::{LineKind, MatchKind, NewLine, NewMember, ReportPreference};

/// A member row of a CSV import (already validated).
#[derive(Debug, Clone, PartialEq)]
pub struct MemberImportRow {
    pub member: NewMember,
}

/// A line row of a CSV import (already validated).
#[derive(Debug, Clone, PartialEq)]
pub struct LineImportRow {
    pub line: NewLine,
    /// The CSV line number, to name the row if the store refuses it.
    pub csv_line: u64,
}

#[derive(Debug)]
pub enum WriteOp {
    /// Placeholder left behind once an op was taken for applying.
    Nothing,
    /// Makes the site and device tables match the config (devices that left are retired).
    SyncInventory {
        sites: Vec<Site>,
        devices: Vec<Device>,
    },
    AddMember(NewMember),
    AddLine(NewLine),
    AssignLine {
        line: String,
        member: Option<String>,
    },
    /// All rows or none: a file is never half-imported.
    ImportMembers {
        rows: Vec<MemberImportRow>,
        file_name: String,
    },
    ImportLines {
        rows: Vec<LineImportRow>,
        file_name: String,
    },
    RecordEvents(Vec<NewEvent>),
    /// Usage accounting: fine slots, roll-ups, pruning, erasure (see `usage`).
    Usage(super::usage::UsageWrite),
    /// Line states, their events and levels, from one batch of observations.
    Lines(super::lines::LinesWrite),
    /// The end of a membership (`None`: it goes on).
    MemberLeft {
        member: String,
        at: Option<i64>,
    },
    /// A line's own thresholds (empty = the configured ones).
    LineThresholds {
        line: String,
        thresholds: coopnoc_proto::ThresholdOverrides,
    },
}

#[derive(Debug, PartialEq)]
pub enum WriteOutcome {
    Done,
    Imported { created: u64, updated: u64 },
    Usage(super::usage::UsageOutcome),
}

pub(super) async fn apply(
    conn: &mut SqliteConnection,
    op: WriteOp,
    by: &Actor,
) -> Result<WriteOutcome, StoreError> {
    match op {
        WriteOp::Nothing => Ok(WriteOutcome::Done),
        WriteOp::SyncInventory { sites, devices } => sync_inventory(conn, &sites, &devices).await,
        WriteOp::AddMember(m) => {
            insert_member(conn, &m).await?;
            audit(conn, by, "member-add", &m.reference, None).await?;
            Ok(WriteOutcome::Done)
        }
        WriteOp::AddLine(l) => {
            insert_line(conn, &l).await?;
            Ok(WriteOutcome::Done)
        }
        WriteOp::AssignLine { line, member } => {
            assign_line(conn, by, &line, member.as_deref()).await
        }
        WriteOp::ImportMembers { rows, file_name } => {
            let (mut created, mut updated) = (0, 0);
            for row in &rows {
                if upsert_member(conn, &row.member).await? {
                    created += 1;
                } else {
                    updated += 1;
                }
            }
            audit(
                conn,
                by,
                "import-members",
                &file_name,
                Some(format!("{created} created, {updated} updated")),
            )
            .await?;
            Ok(WriteOutcome::Imported { created, updated })
        }
        WriteOp::ImportLines { rows, file_name } => {
            let (mut created, mut updated) = (0, 0);
            for row in &rows {
                match upsert_line(conn, &row.line).await {
                    Ok(true) => created += 1,
                    Ok(false) => updated += 1,
                    Err(e) => {
                        return Err(match e {
                            StoreError::NotFound(m)
                            | StoreError::Conflict(m)
                            | StoreError::Invalid(m) => StoreError::Invalid(format!(
                                "line {}: {m}; nothing of {file_name} was imported",
                                row.csv_line
                            )),
                            other => other,
                        });
                    }
                }
            }
            audit(
                conn,
                by,
                "import-lines",
                &file_name,
                Some(format!("{created} created, {updated} updated")),
            )
            .await?;
            Ok(WriteOutcome::Imported { created, updated })
        }
        WriteOp::Usage(w) => Ok(WriteOutcome::Usage(super::usage::apply(conn, w, by).await?)),
        WriteOp::RecordEvents(events) => {
            insert_events(conn, &events).await?;
            Ok(WriteOutcome::Done)
        }
        WriteOp::Lines(w) => {
            super::lines::apply(conn, &w).await?;
            Ok(WriteOutcome::Done)
        }
        WriteOp::MemberLeft { member, at } => {
            let n = sqlx::query("UPDATE member SET left_at = ?, updated_at = ? WHERE ref = ?")
                .bind(at)
                .bind(now())
                .bind(&member)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound(format!("no member {member}")));
            }
            audit(
                conn,
                by,
                if at.is_some() {
                    "member-leave"
                } else {
                    "member-leave-undone"
                },
                &member,
                at.map(super::format_time),
            )
            .await?;
            Ok(WriteOutcome::Done)
        }
        WriteOp::LineThresholds { line, thresholds } => {
            super::lines::set_thresholds(conn, &line, &thresholds).await?;
            audit(
                conn,
                by,
                "line-thresholds",
                &line,
                serde_json::to_string(&thresholds).ok(),
            )
            .await?;
            Ok(WriteOutcome::Done)
        }
    }
}

/// One row of the audit log: what was done, to what, and by whom.
pub(crate) async fn audit(
    conn: &mut SqliteConnection,
    by: &Actor,
    action: &str,
    object: &str,
    detail: Option<String>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO audit (at, actor, actor_uid, action, object, detail) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(now())
        .bind(&by.name)
        .bind(by.uid.map(i64::from))
        .bind(action)
        .bind(object)
        .bind(detail)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn sync_inventory(
    conn: &mut SqliteConnection,
    sites: &[Site],
    devices: &[Device],
) -> Result<WriteOutcome, StoreError> {
    let t = now();
    for s in sites {
        sqlx::query(
            "INSERT INTO site (name, description, latitude, longitude) VALUES (?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET description = excluded.description,
                 latitude = excluded.latitude, longitude = excluded.longitude",
        )
        .bind(&s.name)
        .bind(&s.description)
        .bind(s.latitude)
        .bind(s.longitude)
        .execute(&mut *conn)
        .await?;
    }
    for d in devices {
        sqlx::query(
            "INSERT INTO device (name, site, kind, address, profile, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET site = excluded.site, kind = excluded.kind,
                 address = excluded.address, profile = excluded.profile, retired_at = NULL,
                 updated_at = excluded.updated_at",
        )
        .bind(&d.name)
        .bind(&d.site)
        .bind(d.kind.as_str())
        .bind(d.target.as_ref().map(|t| t.to_string()))
        .bind(&d.profile)
        .bind(t)
        .bind(t)
        .execute(&mut *conn)
        .await?;
    }
    // Devices no longer in the config are retired, not deleted: their history stays.
    let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
    let current: Vec<String> =
        sqlx::query_scalar("SELECT name FROM device WHERE retired_at IS NULL")
            .fetch_all(&mut *conn)
            .await?;
    for name in current.iter().filter(|n| !names.contains(&n.as_str())) {
        sqlx::query("UPDATE device SET retired_at = ?, updated_at = ? WHERE name = ?")
            .bind(t)
            .bind(t)
            .bind(name)
            .execute(&mut *conn)
            .await?;
    }
    Ok(WriteOutcome::Done)
}

async fn insert_member(conn: &mut SqliteConnection, m: &NewMember) -> Result<(), StoreError> {
    let t = now();
    sqlx::query(
        "INSERT INTO member (ref, display_name, email, language, reports, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&m.reference)
    .bind(&m.display_name)
    .bind(&m.email)
    .bind(&m.language)
    .bind(m.reports.as_str())
    .bind(t)
    .bind(t)
    .execute(&mut *conn)
    .await
    .map_err(|e| StoreError::from_constraint(e, &format!("member {}", m.reference)))?;
    Ok(())
}

/// Returns true when the member was created, false when updated.
async fn upsert_member(conn: &mut SqliteConnection, m: &NewMember) -> Result<bool, StoreError> {
    let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM member WHERE ref = ?")
        .bind(&m.reference)
        .fetch_optional(&mut *conn)
        .await?;
    match existing {
        None => {
            insert_member(conn, m).await?;
            Ok(true)
        }
        Some(id) => {
            sqlx::query("UPDATE member SET display_name = ?, email = ?, language = ?, reports = ?, updated_at = ? WHERE id = ?")
                .bind(&m.display_name)
                .bind(&m.email)
                .bind(&m.language)
                .bind(m.reports.as_str())
                .bind(now())
                .bind(id)
                .execute(&mut *conn)
                .await?;
            Ok(false)
        }
    }
}

async fn member_id(conn: &mut SqliteConnection, reference: &str) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT id FROM member WHERE ref = ?")
        .bind(reference)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no member {reference}")))
}

async fn check_device(
    conn: &mut SqliteConnection,
    device: &Option<String>,
) -> Result<(), StoreError> {
    if let Some(d) = device {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM device WHERE name = ?")
            .bind(d)
            .fetch_optional(&mut *conn)
            .await?;
        if found.is_none() {
            return Err(StoreError::NotFound(format!(
                "no device {d} in the configuration"
            )));
        }
    }
    Ok(())
}

async fn insert_line(conn: &mut SqliteConnection, l: &NewLine) -> Result<(), StoreError> {
    check_device(conn, &l.device).await?;
    let member = match &l.member {
        Some(m) => Some(member_id(conn, m).await?),
        None => None,
    };
    let t = now();
    sqlx::query(
        "INSERT INTO line (ref, member_id, kind, device, match_kind, match_key, description, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&l.reference)
    .bind(member)
    .bind(l.kind.as_str())
    .bind(&l.device)
    .bind(l.match_kind.as_str())
    .bind(&l.match_key)
    .bind(&l.description)
    .bind(t)
    .bind(t)
    .execute(&mut *conn)
    .await
    .map_err(|e| {
        StoreError::from_constraint(
            e,
            &format!("line {} (or another line with {} {})", l.reference, l.match_kind.as_str(), l.match_key),
        )
    })?;
    Ok(())
}

async fn upsert_line(conn: &mut SqliteConnection, l: &NewLine) -> Result<bool, StoreError> {
    let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM line WHERE ref = ?")
        .bind(&l.reference)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(id) = existing else {
        insert_line(conn, l).await?;
        return Ok(true);
    };
    check_device(conn, &l.device).await?;
    let member = match &l.member {
        Some(m) => Some(member_id(conn, m).await?),
        None => None,
    };
    sqlx::query(
        "UPDATE line SET member_id = ?, kind = ?, device = ?, match_kind = ?, match_key = ?, description = ?, updated_at = ?
         WHERE id = ?",
    )
    .bind(member)
    .bind(l.kind.as_str())
    .bind(&l.device)
    .bind(l.match_kind.as_str())
    .bind(&l.match_key)
    .bind(&l.description)
    .bind(now())
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(|e| StoreError::from_constraint(e, &format!("a line with {} {}", l.match_kind.as_str(), l.match_key)))?;
    Ok(false)
}

async fn assign_line(
    conn: &mut SqliteConnection,
    by: &Actor,
    line: &str,
    member: Option<&str>,
) -> Result<WriteOutcome, StoreError> {
    let member_id = match member {
        Some(m) => Some(member_id(conn, m).await?),
        None => None,
    };
    let done = sqlx::query("UPDATE line SET member_id = ?, updated_at = ? WHERE ref = ?")
        .bind(member_id)
        .bind(now())
        .bind(line)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("no line {line}")));
    }
    audit(
        conn,
        by,
        if member.is_some() {
            "line-assign"
        } else {
            "line-unassign"
        },
        line,
        member.map(str::to_string),
    )
    .await?;
    Ok(WriteOutcome::Done)
}

// Keep the enums' textual forms in one place for readers too.
pub(super) fn report_preference(s: &str) -> ReportPreference {
    if s == "none" {
        ReportPreference::None
    } else {
        ReportPreference::Email
    }
}

pub(super) fn line_kind(s: &str) -> LineKind {
    LineKind::parse(s).unwrap_or(LineKind::Port)
}

pub(super) fn match_kind(s: &str) -> MatchKind {
    MatchKind::parse(s).unwrap_or(MatchKind::Ifname)
}
