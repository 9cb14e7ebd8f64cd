//! Usage in the store: the rows of `usage_fine`, `usage_counter`, the roll-ups and their
//! pruning, behind typed writes applied by the writer task inside its transaction (one
//! savepoint each): a write is all or nothing, which is what makes ingest and roll-ups
//! crash-safe. The reads (`coopnoc usage`, a member's export, the accountant's state at start)
//! are in `read`.

mod read;
pub mod retention;
pub mod rollup;
pub mod slots;

pub use read::{AccountantRows, EXPECTED_FROM, format_peak, parse_month};
pub use retention::PruneTarget;
pub use rollup::{DayPlan, MonthPlan, RollupError, local_date, local_instant};
pub use slots::{HourSlots, SLOT_MS, SLOTS_PER_HOUR};

use serde::{Deserialize, Serialize};
use sqlx::{Row, SqliteConnection};

use crate::octets::Counter;
use crate::store::{Store, StoreError, WriteOp, WriteOutcome};
use coopnoc_proto::ErasureSummary;

/// A line's row id in the store (`line.id`).
pub type LineId = i64;

/// From the member's point of view: download = bytes delivered to the member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    Download,
    Upload,
}

impl Direction {
    pub fn index(self) -> usize {
        match self {
            Direction::Download => 0,
            Direction::Upload => 1,
        }
    }

    pub fn from_index(i: i64) -> Option<Direction> {
        match i {
            0 => Some(Direction::Download),
            1 => Some(Direction::Upload),
            _ => None,
        }
    }
}

/// What is kept of a line's previous counter sample (in memory and in `usage_counter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastSample {
    pub at_ms: i64,
    pub counter: Counter,
    pub uptime: Option<u32>,
    pub discontinuity: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourRow {
    pub line: LineId,
    /// Unix seconds / 3600.
    pub hour: i64,
    pub slots: HourSlots,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterRow {
    pub line: LineId,
    pub direction: Direction,
    pub last: Option<LastSample>,
    pub per_line: bool,
}

/// What a usage roll-up or prune should cover.
#[derive(Debug, Clone)]
pub enum UsageWrite {
    /// The effect of one ingest: whole hour rows (replaced) and the last samples.
    Record {
        hours: Vec<HourRow>,
        counters: Vec<CounterRow>,
    },
    /// Rebuilds one local day of `usage_daily` and `usage_coop_daily` from `usage_fine`.
    RollupDay(DayPlan),
    /// Rebuilds one local month of `usage_monthly` and `usage_coop_monthly` from `usage_daily`.
    RollupMonth(MonthPlan),
    /// Deletes at most `limit` rows older than the cutoff from one table.
    Prune {
        target: PruneTarget,
        cutoff: i64,
        limit: u32,
    },
    /// Removes a member and their usage (see `erase`).
    EraseMember { member: String },
    /// Notes in the audit log that a member's data was exported (erasure scrubs the name).
    AuditExport { member: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageOutcome {
    Recorded,
    RolledUp { rows: u64 },
    Pruned { rows: u64 },
    Erased(Erased),
}

/// What an erasure removed, and the row ids of the lines it detached (for the accountant to
/// forget; not shown to anyone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    pub summary: ErasureSummary,
    pub line_ids: Vec<LineId>,
}

impl Store {
    /// Applies one usage write through the writer.
    pub async fn usage(&self, w: UsageWrite) -> Result<UsageOutcome, StoreError> {
        match self.write(WriteOp::Usage(w)).await? {
            WriteOutcome::Usage(o) => Ok(o),
            other => Err(StoreError::Invalid(format!(
                "unexpected outcome of a usage write: {other:?}"
            ))),
        }
    }
}

pub(crate) async fn apply(
    conn: &mut SqliteConnection,
    w: UsageWrite,
    by: &super::Actor,
) -> Result<UsageOutcome, StoreError> {
    match w {
        UsageWrite::Record { hours, counters } => {
            record(conn, &hours, &counters).await?;
            Ok(UsageOutcome::Recorded)
        }
        UsageWrite::RollupDay(plan) => Ok(UsageOutcome::RolledUp {
            rows: rollup::apply_day(conn, &plan).await?,
        }),
        UsageWrite::RollupMonth(plan) => Ok(UsageOutcome::RolledUp {
            rows: rollup::apply_month(conn, &plan).await?,
        }),
        UsageWrite::Prune {
            target,
            cutoff,
            limit,
        } => Ok(UsageOutcome::Pruned {
            rows: retention::apply_prune(conn, target, cutoff, limit).await?,
        }),
        UsageWrite::EraseMember { member } => {
            Ok(UsageOutcome::Erased(erase(conn, &member, by).await?))
        }
        UsageWrite::AuditExport { member } => {
            super::audit(conn, by, "member-export", &member, None).await?;
            Ok(UsageOutcome::Recorded)
        }
    }
}

async fn record(
    conn: &mut SqliteConnection,
    hours: &[HourRow],
    counters: &[CounterRow],
) -> Result<(), StoreError> {
    // A sample for a line that no longer exists (deleted since the poll) is dropped alone,
    // rather than failing the whole poll's write on the foreign key.
    let known: std::collections::HashSet<i64> = sqlx::query_scalar("SELECT id FROM line")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
    let unknown = hours
        .iter()
        .map(|h| h.line)
        .chain(counters.iter().map(|c| c.line))
        .filter(|l| !known.contains(l))
        .count();
    if unknown > 0 {
        tracing::warn!("usage: {unknown} rows for lines that do not exist (any more) were dropped");
    }
    // Many rows per statement: a poll of 10,000 lines is ~100 statements, not 30,000.
    let hours: Vec<&HourRow> = hours.iter().filter(|h| known.contains(&h.line)).collect();
    for chunk in hours.chunks(ROWS_PER_STATEMENT) {
        let mut sql = multi_row_insert(
            "INSERT INTO usage_fine (hour, line_id, down_bytes, up_bytes, down_covered_ms, up_covered_ms, slots) VALUES ",
            7,
            chunk.len(),
        );
        // An upsert, not a REPLACE: the row is updated in place and its index left alone.
        sql.push_str(
            " ON CONFLICT (hour, line_id) DO UPDATE SET down_bytes = excluded.down_bytes, up_bytes = excluded.up_bytes,
              down_covered_ms = excluded.down_covered_ms, up_covered_ms = excluded.up_covered_ms, slots = excluded.slots",
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for h in chunk {
            q = q
                .bind(h.hour)
                .bind(h.line)
                .bind(to_db(h.slots.total_bytes(0)))
                .bind(to_db(h.slots.total_bytes(1)))
                .bind(h.slots.total_covered_ms(0) as i64)
                .bind(h.slots.total_covered_ms(1) as i64)
                .bind(h.slots.encode());
        }
        q.execute(&mut *conn).await?;
    }
    let counters: Vec<&CounterRow> = counters
        .iter()
        .filter(|c| known.contains(&c.line))
        .collect();
    for chunk in counters.chunks(ROWS_PER_STATEMENT) {
        let mut sql = multi_row_insert(
            "INSERT INTO usage_counter (line_id, direction, per_line, at_ms, value, width, uptime, discontinuity) VALUES ",
            8,
            chunk.len(),
        );
        sql.push_str(
            " ON CONFLICT (line_id, direction) DO UPDATE SET per_line = excluded.per_line, at_ms = excluded.at_ms,
              value = excluded.value, width = excluded.width, uptime = excluded.uptime, discontinuity = excluded.discontinuity",
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for c in chunk {
            let (value, width) = match c.last.map(|l| l.counter) {
                Some(Counter::C32(v)) => (Some(v as i64), Some(32)),
                Some(Counter::C64(v)) => (Some(v as i64), Some(64)),
                None => (None, None),
            };
            q = q
                .bind(c.line)
                .bind(c.direction.index() as i64)
                .bind(c.per_line as i64)
                .bind(c.last.map(|l| l.at_ms))
                .bind(value)
                .bind(width)
                .bind(c.last.and_then(|l| l.uptime).map(i64::from))
                .bind(c.last.and_then(|l| l.discontinuity).map(i64::from));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Rows per multi-row INSERT (SQLite allows 32,766 parameters per statement).
const ROWS_PER_STATEMENT: usize = 250;

fn multi_row_insert(head: &str, columns: usize, rows: usize) -> String {
    let tuple = format!("({})", vec!["?"; columns].join(", "));
    let mut sql = String::with_capacity(head.len() + rows * (tuple.len() + 2));
    sql.push_str(head);
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&tuple);
    }
    sql
}

/// Bytes into SQLite's signed integer; a total past 2^63 (9.2 EB) is clamped, never wrapped.
pub fn to_db(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Erasure: the member row, their monthly and daily usage, the fine usage and counter state of
/// the lines they hold (the lines stay, detached: they are infrastructure), and their name in
/// the audit log. Cooperative-wide aggregates stay. The act is logged without personal data.
async fn erase(
    conn: &mut SqliteConnection,
    reference: &str,
    by: &super::Actor,
) -> Result<Erased, StoreError> {
    let id: i64 = sqlx::query_scalar("SELECT id FROM member WHERE ref = ?")
        .bind(reference)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no member {reference}")))?;
    let lines: Vec<i64> = sqlx::query_scalar("SELECT id FROM line WHERE member_id = ?")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let mut s = ErasureSummary {
        lines_detached: lines.len() as u64,
        ..Default::default()
    };
    for l in &lines {
        s.fine_rows += sqlx::query("DELETE FROM usage_fine WHERE line_id = ?")
            .bind(l)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM usage_counter WHERE line_id = ?")
            .bind(l)
            .execute(&mut *conn)
            .await?;
        // Days of the line rolled up before it was this member's: kept only if attributed to
        // nobody else; a line's history with this member goes with the member.
        s.daily_rows += sqlx::query(
            "DELETE FROM usage_daily WHERE line_id = ? AND (member_id = ? OR member_id IS NULL)",
        )
        .bind(l)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    s.daily_rows += sqlx::query("DELETE FROM usage_daily WHERE member_id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    s.monthly_rows += sqlx::query("DELETE FROM usage_monthly WHERE member_id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query("UPDATE line SET member_id = NULL, updated_at = ? WHERE member_id = ?")
        .bind(super::now())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    // The audit log keeps what was done, not to whom.
    s.audit_rows_scrubbed +=
        sqlx::query("UPDATE audit SET object = '(erased member)' WHERE object = ?")
            .bind(reference)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    s.audit_rows_scrubbed +=
        sqlx::query("UPDATE audit SET detail = '(erased member)' WHERE detail = ?")
            .bind(reference)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    sqlx::query("DELETE FROM member WHERE id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let detail = format!(
        "{} lines detached; {} fine, {} daily, {} monthly usage rows removed",
        s.lines_detached, s.fine_rows, s.daily_rows, s.monthly_rows
    );
    super::audit(conn, by, "member-erase", "a member", Some(detail)).await?;
    Ok(Erased {
        summary: s,
        line_ids: lines,
    })
}

/// Reads a `usage_counter` row back.
fn counter_from_row(
    r: &sqlx::sqlite::SqliteRow,
) -> Result<Option<(LineId, Direction, LastSample)>, sqlx::Error> {
    let per_line: i64 = r.try_get("per_line")?;
    let dir = Direction::from_index(r.try_get("direction")?);
    let (Some(dir), true) = (dir, per_line != 0) else {
        return Ok(None);
    };
    let at_ms: Option<i64> = r.try_get("at_ms")?;
    let value: Option<i64> = r.try_get("value")?;
    let width: Option<i64> = r.try_get("width")?;
    let counter = match (value, width) {
        (Some(v), Some(32)) => Counter::C32(v as u32),
        (Some(v), Some(64)) => Counter::C64(v as u64),
        _ => return Ok(None),
    };
    let Some(at_ms) = at_ms else { return Ok(None) };
    Ok(Some((
        r.try_get("line_id")?,
        dir,
        LastSample {
            at_ms,
            counter,
            uptime: r.try_get::<Option<i64>, _>("uptime")?.map(|v| v as u32),
            discontinuity: r
                .try_get::<Option<i64>, _>("discontinuity")?
                .map(|v| v as u32),
        },
    )))
}
