//! The lines' rows in the store: what the line book loads, state changes, levels.

use sqlx::{Row, SqliteConnection, SqlitePool};

use super::levels::{DayLevels, Metric};
use super::{NewEvent, Store, StoreError};
use coopnoc_proto::{LineKind, LineState, MatchKind, ThresholdOverrides};

/// A line as the book loads it.
#[derive(Debug, Clone)]
pub struct BookRow {
    pub id: i64,
    pub reference: String,
    pub member: Option<String>,
    pub kind: LineKind,
    pub device: Option<String>,
    pub match_kind: MatchKind,
    pub match_key: String,
    pub state: LineState,
    pub since: Option<i64>,
    pub reason: Option<String>,
    pub thresholds: ThresholdOverrides,
}

impl Store {
    /// Every line, as the line book loads it.
    pub async fn book_rows(&self) -> Result<Vec<BookRow>, StoreError> {
        book_rows(self.pool()).await
    }

    /// Every line's levels of one UTC day (what the book resumes from after a restart).
    pub async fn levels_of_day(&self, day: i64) -> Result<Vec<(i64, DayLevels)>, StoreError> {
        levels_of_day(self.pool(), day).await
    }

    /// One line's levels of the UTC days `from..=to`.
    pub async fn line_levels(
        &self,
        line_id: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<DayLevels>, StoreError> {
        line_levels(self.pool(), line_id, from, to).await
    }
}

/// Every line, read row by row (10,000 rows held at once as SQLite values would cost tens of
/// megabytes the allocator keeps).
async fn book_rows(pool: &SqlitePool) -> Result<Vec<BookRow>, StoreError> {
    use futures_util::TryStreamExt;
    let mut rows = sqlx::query(
        "SELECT l.id, l.ref, m.ref AS member, l.kind, l.device, l.match_kind, l.match_key, l.state, l.state_since,
                l.state_reason, l.thresholds
         FROM line l LEFT JOIN member m ON m.id = l.member_id ORDER BY l.id",
    )
    .fetch(pool);
    let mut out = Vec::new();
    while let Some(r) = rows.try_next().await? {
        let reference: String = r.try_get("ref")?;
        let thresholds: Option<String> = r.try_get("thresholds")?;
        let thresholds = match thresholds {
            None => ThresholdOverrides::default(),
            Some(t) => serde_json::from_str(&t).unwrap_or_else(|e| {
                tracing::warn!("line {reference}: its stored thresholds are unreadable ({e}); the configured ones apply");
                ThresholdOverrides::default()
            }),
        };
        out.push(BookRow {
            id: r.try_get("id")?,
            member: r.try_get("member")?,
            kind: LineKind::parse(r.try_get::<&str, _>("kind")?).unwrap_or(LineKind::Port),
            device: r.try_get("device")?,
            match_kind: MatchKind::parse(r.try_get::<&str, _>("match_kind")?)
                .unwrap_or(MatchKind::Ifname),
            match_key: r.try_get("match_key")?,
            state: LineState::parse(r.try_get::<&str, _>("state")?).unwrap_or(LineState::Unknown),
            since: r.try_get("state_since")?,
            reason: r.try_get("state_reason")?,
            thresholds,
            reference,
        });
    }
    Ok(out)
}

fn level_row(r: &sqlx::sqlite::SqliteRow) -> Result<Option<(i64, DayLevels)>, StoreError> {
    let Some(metric) = Metric::from_code(r.try_get("metric")?) else {
        return Ok(None);
    };
    let blob: &[u8] = r.try_get("hours")?;
    let line_id: i64 = r.try_get("line_id")?;
    Ok(DayLevels::from_blob(metric, r.try_get("day")?, blob).map(|d| (line_id, d)))
}

fn level_rows(rows: Vec<sqlx::sqlite::SqliteRow>) -> Result<Vec<(i64, DayLevels)>, StoreError> {
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.extend(level_row(r)?);
    }
    Ok(out)
}

/// Every line's levels of one UTC day, row by row.
async fn levels_of_day(pool: &SqlitePool, day: i64) -> Result<Vec<(i64, DayLevels)>, StoreError> {
    use futures_util::TryStreamExt;
    let mut rows = sqlx::query("SELECT line_id, metric, day, hours FROM line_level WHERE day = ?")
        .bind(day)
        .fetch(pool);
    let mut out = Vec::new();
    while let Some(r) = rows.try_next().await? {
        out.extend(level_row(&r)?);
    }
    Ok(out)
}

async fn line_levels(
    pool: &SqlitePool,
    line_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<DayLevels>, StoreError> {
    let rows = sqlx::query("SELECT line_id, metric, day, hours FROM line_level WHERE line_id = ? AND day BETWEEN ? AND ?")
        .bind(line_id)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    Ok(level_rows(rows)?.into_iter().map(|(_, d)| d).collect())
}

#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    pub line_id: i64,
    pub state: LineState,
    pub since: i64,
    pub reason: Option<String>,
}

/// What one batch of observations changes about lines, written in one transaction.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LinesWrite {
    pub states: Vec<StateChange>,
    pub events: Vec<NewEvent>,
    pub levels: Vec<(i64, DayLevels)>,
}

impl LinesWrite {
    pub fn is_empty(&self) -> bool {
        self.states.is_empty() && self.events.is_empty() && self.levels.is_empty()
    }
}

pub(super) async fn apply(conn: &mut SqliteConnection, w: &LinesWrite) -> Result<(), StoreError> {
    for s in &w.states {
        sqlx::query("UPDATE line SET state = ?, state_since = ?, state_reason = ? WHERE id = ?")
            .bind(s.state.as_str())
            .bind(s.since)
            .bind(&s.reason)
            .bind(s.line_id)
            .execute(&mut *conn)
            .await?;
    }
    super::events::insert_events(conn, &w.events).await?;
    for (line_id, d) in &w.levels {
        // A line erased meanwhile has no row to hang levels on: skip rather than fail the batch.
        sqlx::query(
            "INSERT INTO line_level (line_id, metric, day, hours) SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM line WHERE id = ?1)
             ON CONFLICT (line_id, metric, day) DO UPDATE SET hours = excluded.hours",
        )
        .bind(line_id)
        .bind(d.metric.code())
        .bind(d.day)
        .bind(d.to_blob())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn set_thresholds(
    conn: &mut SqliteConnection,
    reference: &str,
    t: &ThresholdOverrides,
) -> Result<(), StoreError> {
    let json = if t.is_empty() {
        None
    } else {
        Some(serde_json::to_string(t).map_err(|e| StoreError::Invalid(e.to_string()))?)
    };
    let n = sqlx::query("UPDATE line SET thresholds = ?, updated_at = ? WHERE ref = ?")
        .bind(json)
        .bind(super::now())
        .bind(reference)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(StoreError::NotFound(format!("no line {reference}")));
    }
    Ok(())
}
