//! Usage reads on the read pool: state for the accountant at start, what `coopnoc usage`
//! shows, and a member's data export.

use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteRow;
use sqlx::{Column, Row, SqlitePool};

use super::accountant::UsageAccountant;
use super::rollup::{MonthPlan, RollupError};
use super::slots::HourSlots;
use super::write::counter_from_row;
use crate::store::{Store, StoreError, format_time};

/// What an erasure removed (counts only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureSummary {
    pub lines_detached: u64,
    pub fine_rows: u64,
    pub daily_rows: u64,
    pub monthly_rows: u64,
    pub audit_rows_scrubbed: u64,
    /// The detached lines' row ids (for the accountant to forget; not shown).
    #[serde(skip)]
    pub line_ids: Vec<i64>,
}

/// Restores the accountant: every line's last samples and the hours they may still feed.
pub async fn load_accountant(pool: &SqlitePool) -> Result<UsageAccountant, StoreError> {
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
    Ok(UsageAccountant::restore(counters, hours))
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

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

/// SQL (over `line l`): from when a line's usage is expected, in Unix seconds. From its
/// creation, or from the start of its first day of data when that whole day is older (usage
/// replayed or imported for a line entered into coopnoc after it was lit). Daily rows know
/// their day, not the moment within it: on the day a line is created its data starts after
/// that moment, so the day's start would count hours in which the line did not exist yet.
pub(super) const EXPECTED_FROM: &str = "COALESCE(
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
        let pool = self.reader();
        let now = crate::store::now();
        let (y, m) = match month {
            Some(s) => parse_month(s)
                .ok_or_else(|| StoreError::Invalid(format!("\"{s}\" is not a month (YYYY-MM)")))?,
            None => {
                let d = super::rollup::local_date(now, tz);
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
        let pool = self.reader();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::{LineKind, MatchKind, NewLine, NewMember, ReportPreference};
    use crate::observe::Counter;
    use crate::store::WriteOp;
    use crate::usage::rollup::rollup_days;
    use crate::usage::{CounterSample, Direction, UsageService};

    const PEAK: (u16, u16) = (19 * 60, 23 * 60);

    fn ts(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().expect("timestamp").as_second()
    }

    /// Both directions of a line every 5 minutes over [from, to], at 1,000 bytes/s.
    fn steady(line: i64, from: i64, to: i64) -> Vec<CounterSample> {
        (from..=to)
            .step_by(300)
            .flat_map(|t| {
                [Direction::Download, Direction::Upload].map(|direction| CounterSample {
                    line,
                    direction,
                    counter: Counter::C64(1_000 * (t - from) as u64),
                    at: jiff::Timestamp::from_second(t).expect("time"),
                    device_uptime_ticks: None,
                    discontinuity: None,
                    link_speed_bps: Some(1_000_000_000),
                    per_line: true,
                })
            })
            .collect()
    }

    /// A line created in the middle of a day, measured from then on, is complete from its
    /// creation, not from that day's midnight; a line with data from days before its creation
    /// (replayed) is expected from its first day.
    #[tokio::test]
    async fn a_line_is_expected_from_its_creation_or_from_an_older_first_day() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, writer) = Store::open(&dir.path().join("coopnoc.db"))
            .await
            .expect("open");
        store
            .write(WriteOp::AddMember(NewMember {
                reference: "M-1".into(),
                display_name: "Member".into(),
                email: None,
                language: "fr".into(),
                reports: ReportPreference::None,
            }))
            .await
            .expect("member");
        for reference in ["L-NEW", "L-OLD"] {
            store
                .write(WriteOp::AddLine(NewLine {
                    reference: reference.into(),
                    kind: LineKind::Fibre,
                    device: None,
                    match_kind: MatchKind::Serial,
                    match_key: format!("SN-{reference}"),
                    member: Some("M-1".into()),
                    description: None,
                }))
                .await
                .expect("line");
        }
        // The store stamps lines with the present: move their creation into March 2026.
        let created = ts("2026-03-10T15:00:00Z");
        {
            use sqlx::ConnectOptions;
            let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(store.path())
                .connect()
                .await
                .expect("open");
            sqlx::query("UPDATE line SET created_at = ?")
                .bind(created)
                .execute(&mut conn)
                .await
                .expect("update");
        }
        let id = |r: &'static str| {
            let pool = store.reader().clone();
            async move {
                sqlx::query_scalar::<_, i64>("SELECT id FROM line WHERE ref = ?")
                    .bind(r)
                    .fetch_one(&pool)
                    .await
                    .expect("id")
            }
        };
        let usage = UsageService::new(store.clone());
        // L-NEW: the first sample 30 s after its creation; L-OLD: data from two days before.
        let (new_from, old_from, to) = (
            created + 30,
            ts("2026-03-08T00:00:30Z"),
            ts("2026-03-11T15:00:30Z"),
        );
        let old_day = ts("2026-03-08T00:00:00Z");
        usage
            .ingest(&steady(id("L-NEW").await, new_from, to))
            .await
            .expect("ingest");
        usage
            .ingest(&steady(id("L-OLD").await, old_from, to))
            .await
            .expect("ingest");
        let utc = jiff::tz::TimeZone::UTC;
        rollup_days(
            &store,
            &utc,
            PEAK,
            jiff::civil::date(2026, 3, 8),
            jiff::civil::date(2026, 3, 12),
            0,
        )
        .await
        .expect("rollup");

        // The month is over: expected to its end, from the creation (or the first old day).
        let month_end = ts("2026-04-01T00:00:00Z");
        let new = store
            .usage_report("L-NEW", Some("2026-03"), false, &utc, "UTC", PEAK)
            .await
            .expect("report");
        assert_eq!(new.total_bytes, 2 * 1_000 * (to - new_from) as u64);
        let expected = (to - new_from) as f64 / (month_end - created) as f64;
        assert!(
            (new.completeness - expected).abs() < 1e-9,
            "{} instead of {expected}",
            new.completeness
        );
        let old = store
            .usage_report("L-OLD", Some("2026-03"), false, &utc, "UTC", PEAK)
            .await
            .expect("report");
        let expected = (to - old_from) as f64 / (month_end - old_day) as f64;
        assert!(
            (old.completeness - expected).abs() < 1e-9,
            "{} instead of {expected}",
            old.completeness
        );

        // The member's month follows the same rule.
        let (covered, expected): (i64, i64) = sqlx::query_as(
            "SELECT covered_ms, expected_ms FROM usage_monthly WHERE month = '2026-03'",
        )
        .fetch_one(store.reader())
        .await
        .expect("month");
        assert_eq!(covered, 2_000 * ((to - new_from) + (to - old_from)));
        assert_eq!(
            expected,
            2_000 * ((month_end - created) + (month_end - old_day))
        );

        drop(usage);
        store.close().await;
        writer.finish().await;
    }
}
