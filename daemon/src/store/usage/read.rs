//! Usage reads on the read pool: state for the accountant at start, what `coopnoc usage`
//! shows, and a member's data export.

use sqlx::sqlite::SqliteRow;
use sqlx::{Column, Row, SqlitePool};

use super::rollup::{MonthPlan, RollupError};
use super::slots::HourSlots;
use super::{Direction, LastSample, LineId, counter_from_row};
use crate::store::{Store, StoreError, format_time};
use coopnoc_proto::{DayUsage, LineMeasure, UsageReport};

/// What the usage accountant resumes from: every line's last samples, and the hours they may
/// still feed.
#[derive(Debug, Default)]
pub struct AccountantRows {
    pub counters: Vec<(LineId, Direction, LastSample)>,
    pub hours: Vec<(LineId, i64, HourSlots)>,
}

/// Every line's last samples and the hours they may still feed.
async fn accountant_rows(pool: &SqlitePool) -> Result<AccountantRows, StoreError> {
    let rows = sqlx::query("SELECT * FROM usage_counter")
        .fetch_all(pool)
        .await?;
    let mut counters = Vec::with_capacity(rows.len());
    for r in &rows {
        if let Some(c) = counter_from_row(r)? {
            counters.push(c);
        }
    }
    let rows = sqlx::query(
        "SELECT f.line_id, f.hour, f.slots FROM usage_fine f
         JOIN (SELECT line_id, MIN(at_ms) AS m FROM usage_counter WHERE per_line = 1 AND at_ms IS NOT NULL GROUP BY line_id) c
           ON c.line_id = f.line_id
         WHERE f.hour >= c.m / 3600000",
    )
    .fetch_all(pool)
    .await?;
    let mut hours = Vec::with_capacity(rows.len());
    for r in &rows {
        let blob: &[u8] = r.try_get("slots")?;
        match HourSlots::decode(blob) {
            Some(s) => hours.push((r.try_get("line_id")?, r.try_get("hour")?, s)),
            None => {
                return Err(StoreError::Invalid(
                    "an hour of fine usage is unreadable".into(),
                ));
            }
        }
    }
    Ok(AccountantRows { counters, hours })
}

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

/// SQL (over `line l`): from when a line's usage is expected, in Unix seconds. From its
/// creation, or from the start of its first day of data when that whole day is older (usage
/// replayed or imported for a line entered into coopnoc after it was lit). Daily rows know
/// their day, not the moment within it: on the day a line is created its data starts after
/// that moment, so the day's start would count hours in which the line did not exist yet.
pub const EXPECTED_FROM: &str = "COALESCE(
        (SELECT MIN(d.day_start) FROM usage_daily d WHERE d.line_id = l.id AND d.day_start + d.period_s <= l.created_at),
        l.created_at)";

/// Parses "YYYY-MM".
pub fn parse_month(s: &str) -> Option<(i16, i8)> {
    let (y, m) = s.split_once('-')?;
    let (y, m): (i16, i8) = (y.parse().ok()?, m.parse().ok()?);
    ((1970..=9999).contains(&y) && (1..=12).contains(&m) && s.len() == 7).then_some((y, m))
}

pub fn format_peak((a, b): (u16, u16)) -> String {
    format!("{:02}:{:02}-{:02}:{:02}", a / 60, a % 60, b / 60, b % 60)
}

struct Subject {
    kind: &'static str,
    name: String,
    member_id: Option<i64>,
    /// (line id, ref, created_at, measured per line)
    lines: Vec<(i64, String, i64, bool)>,
}

async fn subject(pool: &SqlitePool, what: &str) -> Result<Subject, StoreError> {
    let member: Option<i64> = sqlx::query_scalar("SELECT id FROM member WHERE ref = ?")
        .bind(what)
        .fetch_optional(pool)
        .await?;
    let line_sql = format!(
        "SELECT l.id, l.ref, {EXPECTED_FROM} AS created_at,
                NOT EXISTS (SELECT 1 FROM usage_counter c WHERE c.line_id = l.id AND c.per_line = 0) AS measured
         FROM line l"
    );
    let to_line = |r: &SqliteRow| -> Result<(i64, String, i64, bool), sqlx::Error> {
        Ok((
            r.try_get("id")?,
            r.try_get("ref")?,
            r.try_get("created_at")?,
            r.try_get("measured")?,
        ))
    };
    if let Some(id) = member {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{line_sql} WHERE l.member_id = ? ORDER BY l.ref"
        )))
        .bind(id)
        .fetch_all(pool)
        .await?;
        let lines = rows.iter().map(to_line).collect::<Result<_, _>>()?;
        return Ok(Subject {
            kind: "member",
            name: what.to_string(),
            member_id: Some(id),
            lines,
        });
    }
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{line_sql} WHERE l.ref = ?1 OR l.match_key = ?1 ORDER BY (l.ref = ?1) DESC"
    )))
    .bind(what)
    .fetch_all(pool)
    .await?;
    let Some(first) = rows.first() else {
        return Err(StoreError::NotFound(format!(
            "no member or line \"{what}\""
        )));
    };
    let line = to_line(first)?;
    Ok(Subject {
        kind: "line",
        name: line.1.clone(),
        member_id: None,
        lines: vec![line],
    })
}

impl Store {
    /// What the usage accountant resumes from after a start.
    pub async fn accountant_rows(&self) -> Result<AccountantRows, StoreError> {
        accountant_rows(self.pool()).await
    }

    /// The extent of usage data: the last local day rolled up, and the oldest hour of fine
    /// usage (UTC hours since the epoch).
    pub async fn usage_extent(&self) -> Result<(Option<String>, Option<i64>), StoreError> {
        let last_day: Option<String> = sqlx::query_scalar("SELECT MAX(day) FROM usage_daily")
            .fetch_one(self.pool())
            .await?;
        let oldest_fine: Option<i64> = sqlx::query_scalar("SELECT MIN(hour) FROM usage_fine")
            .fetch_one(self.pool())
            .await?;
        Ok((last_day, oldest_fine))
    }

    /// One line's or member's usage for a local month (`None`: the current one).
    pub async fn usage_report(
        &self,
        what: &str,
        month: Option<&str>,
        with_days: bool,
        tz: &jiff::tz::TimeZone,
        tz_name: &str,
        evening_peak: (u16, u16),
    ) -> Result<UsageReport, StoreError> {
        let pool = self.pool();
        let now = crate::store::now();
        let (y, m) = match month {
            Some(s) => parse_month(s)
                .ok_or_else(|| StoreError::Invalid(format!("\"{s}\" is not a month (YYYY-MM)")))?,
            None => {
                let d = super::local_date(now, tz);
                (d.year(), d.month())
            }
        };
        let plan = MonthPlan::new(y, m, tz, now)
            .map_err(|e: RollupError| StoreError::Invalid(e.to_string()))?;
        let subj = subject(pool, what).await?;
        let until = plan.end.min(now);
        let mut expected_ms: i64 = subj
            .lines
            .iter()
            .filter(|l| l.3)
            .map(|l| 2 * 1000 * (until - plan.start.max(l.2)).max(0))
            .sum();

        // Daily rows: by member (whatever line carried them) or by line.
        let (filter, id) = match subj.member_id {
            Some(id) => ("member_id = ?", id),
            None => ("line_id = ?", subj.lines[0].0),
        };
        let sql = format!(
            "SELECT day, SUM(down_bytes) AS down, SUM(up_bytes) AS up, SUM(down_peak_bytes + up_peak_bytes) AS peak,
                    SUM(down_covered_ms + up_covered_ms) AS covered, SUM(2 * 1000 * period_s) AS possible
             FROM usage_daily WHERE {filter} AND day >= ? AND day < ? GROUP BY day ORDER BY day"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(&plan.first_day)
            .bind(&plan.next_first_day)
            .fetch_all(pool)
            .await?;
        let (mut down, mut up, mut peak, mut covered) = (0u64, 0u64, 0u64, 0i64);
        let mut days = Vec::new();
        for r in &rows {
            let (d, upb, p, c, possible): (i64, i64, i64, i64, i64) = (
                r.try_get("down")?,
                r.try_get("up")?,
                r.try_get("peak")?,
                r.try_get("covered")?,
                r.try_get("possible")?,
            );
            down += u(d);
            up += u(upb);
            peak += u(p);
            covered += c;
            if with_days {
                days.push(DayUsage {
                    day: r.try_get("day")?,
                    download_bytes: u(d),
                    upload_bytes: u(upb),
                    peak_bytes: u(p),
                    completeness: if possible > 0 {
                        (c as f64 / possible as f64).min(1.0)
                    } else {
                        0.0
                    },
                });
            }
        }
        // Older than the daily retention: the member's monthly total is what is left.
        if rows.is_empty()
            && let Some(member) = subj.member_id
            && let Some(r) = sqlx::query("SELECT down_bytes, up_bytes, peak_bytes, covered_ms, expected_ms FROM usage_monthly WHERE member_id = ? AND month = ?")
                .bind(member)
                .bind(&plan.month)
                .fetch_optional(pool)
                .await?
        {
            down = u(r.try_get("down_bytes")?);
            up = u(r.try_get("up_bytes")?);
            peak = u(r.try_get("peak_bytes")?);
            covered = r.try_get("covered_ms")?;
            expected_ms = r.try_get("expected_ms")?;
        }
        expected_ms = expected_ms.max(covered);
        let total = down + up;
        let completeness = if expected_ms > 0 {
            covered as f64 / expected_ms as f64
        } else {
            0.0
        };
        Ok(UsageReport {
            subject_kind: subj.kind.to_string(),
            subject: subj.name,
            month: plan.month.clone(),
            time_zone: tz_name.to_string(),
            period_start: format_time(plan.start),
            period_end: format_time(plan.end),
            lines: subj
                .lines
                .iter()
                .map(|l| LineMeasure {
                    line: l.1.clone(),
                    measured_per_line: l.3,
                })
                .collect(),
            download_bytes: down,
            upload_bytes: up,
            total_bytes: total,
            peak_bytes: peak,
            peak_share: (total > 0).then(|| peak as f64 / total as f64),
            evening_peak: format_peak(evening_peak),
            completeness,
            estimated: completeness < 1.0,
            days,
        })
    }

    /// Everything held about a member, for a data-access request.
    pub async fn member_export(&self, reference: &str) -> Result<serde_json::Value, StoreError> {
        let pool = self.pool();
        let member = sqlx::query("SELECT * FROM member WHERE ref = ?")
            .bind(reference)
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no member {reference}")))?;
        let id: i64 = member.try_get("id")?;
        let lines = sqlx::query("SELECT * FROM line WHERE member_id = ? ORDER BY ref")
            .bind(id)
            .fetch_all(pool)
            .await?;
        let line_ids: Vec<i64> = lines
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
        let line_refs: Vec<String> = lines
            .iter()
            .map(|r| r.try_get("ref"))
            .collect::<Result<_, _>>()?;
        let monthly = sqlx::query("SELECT * FROM usage_monthly WHERE member_id = ? ORDER BY month")
            .bind(id)
            .fetch_all(pool)
            .await?;
        let daily = sqlx::query(
            "SELECT l.ref AS line, d.* FROM usage_daily d JOIN line l ON l.id = d.line_id WHERE d.member_id = ? ORDER BY d.day, l.ref",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        let mut fine = Vec::new();
        let mut counters = Vec::new();
        let mut events = Vec::new();
        for (lid, lref) in line_ids.iter().zip(&line_refs) {
            let rows =
                sqlx::query("SELECT hour, slots FROM usage_fine WHERE line_id = ? ORDER BY hour")
                    .bind(lid)
                    .fetch_all(pool)
                    .await?;
            for r in &rows {
                let hour: i64 = r.try_get("hour")?;
                let blob: &[u8] = r.try_get("slots")?;
                let Some(s) = HourSlots::decode(blob) else {
                    continue;
                };
                fine.push(serde_json::json!({
                    "line": lref,
                    "hour_start": format_time(hour * 3600),
                    "download_bytes_per_5_minutes": s.bytes[0],
                    "upload_bytes_per_5_minutes": s.bytes[1],
                    "download_covered_ms_per_5_minutes": s.covered_ms[0],
                    "upload_covered_ms_per_5_minutes": s.covered_ms[1],
                }));
            }
            let rows = sqlx::query("SELECT * FROM usage_counter WHERE line_id = ?")
                .bind(lid)
                .fetch_all(pool)
                .await?;
            counters.extend(rows.iter().map(|r| row_json(r, Some(("line", lref)))));
            let rows = sqlx::query(
                "SELECT * FROM event WHERE subject_kind = 'line' AND subject = ? ORDER BY at",
            )
            .bind(lref)
            .fetch_all(pool)
            .await?;
            events.extend(rows.iter().map(|r| row_json(r, None)));
        }
        // What was done with their data and when; not which of the cooperative's people did
        // it (the actor is the staff's personal data, kept for the cooperative's own audit).
        let audit = sqlx::query(
            "SELECT id, at, action, object, detail FROM audit WHERE object = ?1 OR detail = ?1 ORDER BY at, id",
        )
                .bind(reference)
                .fetch_all(pool)
                .await?;
        Ok(serde_json::json!({
            "exported_at": format_time(crate::store::now()),
            "notes": [
                "Times are Unix seconds (or milliseconds where a name ends in _ms), UTC.",
                "Usage is in bytes, exact; download = delivered to you, upload = sent by you.",
                "Days and months are the cooperative's local calendar.",
            ],
            "member": row_json(&member, None),
            "lines": lines.iter().map(|r| row_json(r, None)).collect::<Vec<_>>(),
            "usage": {
                "monthly": monthly.iter().map(|r| row_json(r, None)).collect::<Vec<_>>(),
                "daily": daily.iter().map(|r| row_json(r, None)).collect::<Vec<_>>(),
                "fine_hours": fine,
                "last_counter_samples": counters,
            },
            "events_of_their_lines": events,
            "audit_entries_about_them": audit.iter().map(|r| row_json(r, None)).collect::<Vec<_>>(),
        }))
    }
}

/// A row as a JSON object, every column by name (blobs left out; internal row ids included
/// since they appear in the other tables).
fn row_json(r: &SqliteRow, extra: Option<(&str, &str)>) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    if let Some((k, v)) = extra {
        map.insert(k.to_string(), serde_json::Value::from(v));
    }
    for (i, col) in r.columns().iter().enumerate() {
        let v = if let Ok(v) = r.try_get::<Option<i64>, _>(i) {
            serde_json::Value::from(v)
        } else if let Ok(v) = r.try_get::<Option<f64>, _>(i) {
            serde_json::Value::from(v)
        } else if let Ok(v) = r.try_get::<Option<String>, _>(i) {
            serde_json::Value::from(v)
        } else {
            continue;
        };
        map.insert(col.name().to_string(), v);
    }
    serde_json::Value::Object(map)
}
