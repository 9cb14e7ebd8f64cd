//! Read queries, on the read-only pool.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::write::{line_kind, match_kind, report_preference};
use super::{Store, StoreError, format_time, migrations};
use coopnoc_proto::{Event, Line, LineDetail, Member, StoreInfo};

/// Inventory counts for `coopnoc status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub sites: u64,
    pub devices: u64,
    pub members: u64,
    pub lines: u64,
    pub lines_unassigned: u64,
}

const LINE_COLUMNS: &str = "l.ref, l.kind, l.device, l.match_kind, l.match_key, m.ref AS member_ref, \
     l.description, l.state, l.state_since";

fn line_from_row(r: &SqliteRow) -> Result<Line, sqlx::Error> {
    Ok(Line {
        reference: r.try_get("ref")?,
        kind: line_kind(r.try_get::<&str, _>("kind")?),
        device: r.try_get("device")?,
        match_kind: match_kind(r.try_get::<&str, _>("match_kind")?),
        match_key: r.try_get("match_key")?,
        member: r.try_get("member_ref")?,
        description: r.try_get("description")?,
        state: r.try_get("state")?,
        state_since: r.try_get::<Option<i64>, _>("state_since")?.map(format_time),
    })
}

impl Store {
    pub async fn counts(&self) -> Result<Counts, StoreError> {
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM site), (SELECT COUNT(*) FROM device WHERE retired_at IS NULL),
                    (SELECT COUNT(*) FROM member), (SELECT COUNT(*) FROM line),
                    (SELECT COUNT(*) FROM line WHERE member_id IS NULL)",
        )
        .fetch_one(self.pool())
        .await?;
        let get = |i: usize| r.try_get::<i64, _>(i).map(|v| v.max(0) as u64);
        Ok(Counts {
            sites: get(0)?,
            devices: get(1)?,
            members: get(2)?,
            lines: get(3)?,
            lines_unassigned: get(4)?,
        })
    }

    pub async fn info(&self) -> Result<StoreInfo, StoreError> {
        let mut conn = self.pool().acquire().await?;
        Ok(StoreInfo {
            path: self.path().display().to_string(),
            schema_version: migrations::schema_version(&mut conn).await?,
            size_bytes: self.size_bytes(),
        })
    }

    pub async fn members(&self) -> Result<Vec<Member>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.ref, m.display_name, m.email, m.language, m.reports, m.created_at, m.left_at,
                    (SELECT group_concat(l.ref, ',') FROM line l WHERE l.member_id = m.id) AS lines
             FROM member m ORDER BY m.ref",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(member_from_row)
            .collect::<Result<_, _>>()
            .map_err(Into::into)
    }

    pub async fn member(&self, reference: &str) -> Result<Member, StoreError> {
        let row = sqlx::query(
            "SELECT m.ref, m.display_name, m.email, m.language, m.reports, m.created_at, m.left_at,
                    (SELECT group_concat(l.ref, ',') FROM line l WHERE l.member_id = m.id) AS lines
             FROM member m WHERE m.ref = ?",
        )
        .bind(reference)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no member {reference}")))?;
        Ok(member_from_row(&row)?)
    }

    pub async fn lines(&self, unassigned_only: bool) -> Result<Vec<Line>, StoreError> {
        let sql = if unassigned_only {
            "SELECT l.ref, l.kind, l.device, l.match_kind, l.match_key, m.ref AS member_ref, l.description, l.state, l.state_since
             FROM line l LEFT JOIN member m ON m.id = l.member_id WHERE l.member_id IS NULL ORDER BY l.ref"
        } else {
            "SELECT l.ref, l.kind, l.device, l.match_kind, l.match_key, m.ref AS member_ref, l.description, l.state, l.state_since
             FROM line l LEFT JOIN member m ON m.id = l.member_id ORDER BY l.ref"
        };
        let rows = sqlx::query(sql).fetch_all(self.pool()).await?;
        rows.iter()
            .map(line_from_row)
            .collect::<Result<_, _>>()
            .map_err(Into::into)
    }

    /// Finds a line by its reference, its match key (ONU serial, MAC, ifName), or its member's
    /// reference when the member has exactly one line.
    pub async fn find_line(&self, what: &str) -> Result<LineDetail, StoreError> {
        let sql = format!(
            "SELECT {LINE_COLUMNS}, m.display_name AS member_name, d.site AS site, l.thresholds AS thresholds
             FROM line l LEFT JOIN member m ON m.id = l.member_id LEFT JOIN device d ON d.name = l.device
             WHERE l.ref = ?1 OR l.match_key = ?1 OR m.ref = ?1 ORDER BY (l.ref = ?1) DESC, (l.match_key = ?1) DESC, l.ref"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(what)
            .fetch_all(self.pool())
            .await?;
        let Some(first) = rows.first() else {
            return Err(StoreError::NotFound(format!(
                "no line, ONU serial, MAC, interface or member matches \"{what}\""
            )));
        };
        let exact: String = first.try_get("ref")?;
        let matched_key: String = first.try_get("match_key")?;
        if rows.len() > 1 && exact != what && matched_key != what {
            let refs: Vec<String> = rows
                .iter()
                .filter_map(|r| r.try_get::<String, _>("ref").ok())
                .collect();
            return Err(StoreError::Conflict(format!(
                "member {what} has {} lines ({}): name one",
                refs.len(),
                refs.join(", ")
            )));
        }
        let line = line_from_row(first)?;
        let events = self.events_for("line", &line.reference, 10).await?;
        Ok(LineDetail {
            member_name: first.try_get("member_name")?,
            site: first.try_get("site")?,
            line,
            events,
            live: None,
            thresholds: first
                .try_get::<Option<String>, _>("thresholds")?
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default(),
        })
    }

    /// A line's row id, by its reference.
    pub async fn line_id(&self, reference: &str) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT id FROM line WHERE ref = ?")
            .bind(reference)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no line {reference}")))
    }

    /// Events newest first: since `since` (Unix seconds), about `subject` (a line reference
    /// or a device name, or a device's interface `DEVICE/IFNAME`), at most `limit`.
    pub async fn events(
        &self,
        since: Option<i64>,
        subject: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, subject_kind, subject, old_state, new_state, reason, detail FROM event
             WHERE at >= ?1 AND (?2 IS NULL OR subject = ?2 OR substr(subject, 1, length(?2) + 1) = ?2 || '/')
             ORDER BY at DESC, id DESC LIMIT ?3",
        )
        .bind(since.unwrap_or(i64::MIN))
        .bind(subject)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(event_from_row)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// The latest events of a subject, newest first.
    pub async fn events_for(
        &self,
        subject_kind: &str,
        subject: &str,
        limit: i64,
    ) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, subject_kind, subject, old_state, new_state, reason, detail FROM event
             WHERE subject_kind = ? AND subject = ? ORDER BY at DESC, id DESC LIMIT ?",
        )
        .bind(subject_kind)
        .bind(subject)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(event_from_row)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}

fn event_from_row(r: &SqliteRow) -> Result<Event, sqlx::Error> {
    let detail: Option<String> = r.try_get("detail")?;
    Ok(Event {
        at: format_time(r.try_get("at")?),
        subject_kind: r.try_get("subject_kind")?,
        subject: r.try_get("subject")?,
        old_state: r.try_get("old_state")?,
        new_state: r.try_get("new_state")?,
        reason: r.try_get("reason")?,
        detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
    })
}

fn member_from_row(r: &SqliteRow) -> Result<Member, sqlx::Error> {
    let lines: Option<String> = r.try_get("lines")?;
    let mut lines: Vec<String> = lines
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    lines.sort();
    Ok(Member {
        reference: r.try_get("ref")?,
        display_name: r.try_get("display_name")?,
        email: r.try_get("email")?,
        language: r.try_get("language")?,
        reports: report_preference(r.try_get::<&str, _>("reports")?),
        lines,
        created_at: format_time(r.try_get("created_at")?),
        left_at: r.try_get::<Option<i64>, _>("left_at")?.map(format_time),
    })
}
