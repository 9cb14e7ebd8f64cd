//! Roll-ups in the store: fine slots → daily per line → monthly per member, in the
//! cooperative's time zone.
//!
//! Each period is rebuilt whole from its source in one transaction (delete the period, insert
//! its new rows): running it twice gives the same rows, and a crash in the middle leaves either
//! the old rows or the new ones, never a mix, never a double count. Which days to roll up, and
//! when, is the usage accounting's business (`crate::model::usage::rollup`).

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use sqlx::{Row, SqliteConnection};

use super::slots::{HourSlots, SLOTS_PER_HOUR};
use super::{ROWS_PER_STATEMENT, multi_row_insert, to_db};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    #[error("time zone arithmetic for {0}: {1}")]
    Time(String, jiff::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One local day, with its bounds and evening-peak ranges in UTC seconds.
#[derive(Debug, Clone)]
pub struct DayPlan {
    pub day: String,
    pub start: i64,
    pub end: i64,
    pub peak: Vec<(i64, i64)>,
    /// Test hook: hold the transaction this long after deleting the old rows (a crash test
    /// kills the daemon there). Zero in normal operation.
    pub pause_ms: u64,
}

/// Local midnight of `date` (or the first instant of the day when midnight does not exist).
pub fn local_instant(date: Date, minutes: u16, tz: &TimeZone) -> Result<i64, jiff::Error> {
    if minutes >= 24 * 60 {
        return local_instant(date.tomorrow()?, 0, tz);
    }
    let dt = date.at((minutes / 60) as i8, (minutes % 60) as i8, 0, 0);
    Ok(dt.to_zoned_datetime(tz.clone())?.timestamp().as_second())
}

impl DayPlan {
    pub fn new(
        date: Date,
        tz: &TimeZone,
        evening_peak: (u16, u16),
    ) -> Result<DayPlan, RollupError> {
        let err = |e| RollupError::Time(date.to_string(), e);
        let start = local_instant(date, 0, tz).map_err(err)?;
        let end = local_instant(date, 24 * 60, tz).map_err(err)?;
        let (ps, pe) = evening_peak;
        let at = |m| local_instant(date, m, tz).map_err(err);
        let peak = if ps < pe {
            vec![(at(ps)?, at(pe)?)]
        } else {
            // A peak across midnight: the evening part and the early-morning part of this day.
            vec![(start, at(pe)?), (at(ps)?, end)]
        };
        Ok(DayPlan {
            day: date.to_string(),
            start,
            end,
            peak,
            pause_ms: 0,
        })
    }
}

/// One local month.
#[derive(Debug, Clone)]
pub struct MonthPlan {
    pub month: String,
    pub first_day: String,
    pub next_first_day: String,
    pub start: i64,
    pub end: i64,
    /// Expected coverage counts up to here (the month so far).
    pub now: i64,
}

impl MonthPlan {
    pub fn new(year: i16, month: i8, tz: &TimeZone, now: i64) -> Result<MonthPlan, RollupError> {
        let name = format!("{year:04}-{month:02}");
        let err = |e| RollupError::Time(name.clone(), e);
        let first = Date::new(year, month, 1).map_err(err)?;
        let next = first
            .checked_add(jiff::Span::new().months(1))
            .map_err(err)?;
        Ok(MonthPlan {
            first_day: first.to_string(),
            next_first_day: next.to_string(),
            start: local_instant(first, 0, tz).map_err(err)?,
            end: local_instant(next, 0, tz).map_err(err)?,
            month: name,
            now,
        })
    }
}

#[derive(Default, Clone, Copy)]
struct DayAgg {
    bytes: [u64; 2],
    peak: [u64; 2],
    covered_ms: [u64; 2],
}

pub(super) async fn apply_day(
    conn: &mut SqliteConnection,
    plan: &DayPlan,
) -> Result<u64, StoreError> {
    let first_hour = plan.start.div_euclid(3600);
    let last_hour = (plan.end - 1).div_euclid(3600);
    let rows =
        sqlx::query("SELECT hour, line_id, slots FROM usage_fine WHERE hour >= ? AND hour <= ?")
            .bind(first_hour)
            .bind(last_hour)
            .fetch_all(&mut *conn)
            .await?;
    let mut per_line: BTreeMap<i64, DayAgg> = BTreeMap::new();
    for r in &rows {
        let hour: i64 = r.try_get("hour")?;
        let line: i64 = r.try_get("line_id")?;
        let blob: &[u8] = r.try_get("slots")?;
        let Some(slots) = HourSlots::decode(blob) else {
            tracing::error!(
                line,
                hour,
                "usage: an hour of fine usage is unreadable; left out of the roll-up"
            );
            continue;
        };
        let agg = per_line.entry(line).or_default();
        for i in 0..SLOTS_PER_HOUR {
            let t = hour * 3600 + i as i64 * 300;
            if t < plan.start || t >= plan.end {
                continue;
            }
            let in_peak = plan.peak.iter().any(|&(a, b)| t >= a && t < b);
            for d in 0..2 {
                agg.bytes[d] += slots.bytes[d][i];
                agg.covered_ms[d] += slots.covered_ms[d][i] as u64;
                if in_peak {
                    agg.peak[d] += slots.bytes[d][i];
                }
            }
        }
    }
    let members: HashMap<i64, Option<i64>> = sqlx::query("SELECT id, member_id FROM line")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("member_id")?)))
        .collect::<Result<_, sqlx::Error>>()?;

    sqlx::query("DELETE FROM usage_daily WHERE day = ?")
        .bind(&plan.day)
        .execute(&mut *conn)
        .await?;
    if plan.pause_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(plan.pause_ms)).await;
    }
    let period = plan.end - plan.start;
    let mut total = DayAgg::default();
    let rows: Vec<(i64, Option<i64>, DayAgg)> = per_line
        .iter()
        .filter_map(|(line, a)| members.get(line).map(|m| (*line, *m, *a)))
        .collect();
    let n = rows.len() as u64;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = multi_row_insert(
            "INSERT INTO usage_daily (line_id, day, member_id, day_start, period_s, down_bytes, up_bytes,
                 down_peak_bytes, up_peak_bytes, down_covered_ms, up_covered_ms) VALUES ",
            11,
            chunk.len(),
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (line, member, a) in chunk {
            q = q
                .bind(line)
                .bind(&plan.day)
                .bind(member)
                .bind(plan.start)
                .bind(period)
                .bind(to_db(a.bytes[0]))
                .bind(to_db(a.bytes[1]))
                .bind(to_db(a.peak[0]))
                .bind(to_db(a.peak[1]))
                .bind(to_db(a.covered_ms[0]))
                .bind(to_db(a.covered_ms[1]));
            for d in 0..2 {
                total.bytes[d] += a.bytes[d];
                total.peak[d] += a.peak[d];
                total.covered_ms[d] += a.covered_ms[d];
            }
        }
        q.execute(&mut *conn).await?;
    }
    sqlx::query("DELETE FROM usage_coop_daily WHERE day = ?")
        .bind(&plan.day)
        .execute(&mut *conn)
        .await?;
    if n > 0 {
        sqlx::query(
            "INSERT INTO usage_coop_daily (day, lines, down_bytes, up_bytes, peak_bytes, covered_ms) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&plan.day)
        .bind(n as i64)
        .bind(to_db(total.bytes[0]))
        .bind(to_db(total.bytes[1]))
        .bind(to_db(total.peak[0] + total.peak[1]))
        .bind(to_db(total.covered_ms[0] + total.covered_ms[1]))
        .execute(&mut *conn)
        .await?;
    }
    Ok(n)
}

#[derive(Default, Clone, Copy)]
struct MonthAgg {
    lines: i64,
    down: i64,
    up: i64,
    peak: i64,
    covered_ms: i64,
    expected_ms: i64,
}

pub(super) async fn apply_month(
    conn: &mut SqliteConnection,
    plan: &MonthPlan,
) -> Result<u64, StoreError> {
    let mut per_member: BTreeMap<i64, MonthAgg> = BTreeMap::new();
    let rows = sqlx::query(
        "SELECT member_id, COUNT(DISTINCT line_id) AS lines, SUM(down_bytes) AS down, SUM(up_bytes) AS up,
                SUM(down_peak_bytes + up_peak_bytes) AS peak, SUM(down_covered_ms + up_covered_ms) AS covered
         FROM usage_daily WHERE day >= ? AND day < ? AND member_id IS NOT NULL GROUP BY member_id",
    )
    .bind(&plan.first_day)
    .bind(&plan.next_first_day)
    .fetch_all(&mut *conn)
    .await?;
    for r in &rows {
        per_member.insert(
            r.try_get("member_id")?,
            MonthAgg {
                lines: r.try_get("lines")?,
                down: r.try_get("down")?,
                up: r.try_get("up")?,
                peak: r.try_get("peak")?,
                covered_ms: r.try_get("covered")?,
                expected_ms: 0,
            },
        );
    }
    // Expected coverage: each measured line of the member, both directions, from the start of
    // the month (or the line's creation, see `read::EXPECTED_FROM`) to the end of the month
    // (or now).
    let lines = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT l.member_id, {} AS created_at,
                EXISTS (SELECT 1 FROM usage_counter c WHERE c.line_id = l.id AND c.per_line = 0) AS per_pon
         FROM line l WHERE l.member_id IS NOT NULL",
        super::EXPECTED_FROM
    )))
    .fetch_all(&mut *conn)
    .await?;
    let until = plan.end.min(plan.now);
    for r in &lines {
        if r.try_get::<bool, _>("per_pon")? {
            continue;
        }
        let from = plan.start.max(r.try_get::<i64, _>("created_at")?);
        if until > from {
            per_member
                .entry(r.try_get("member_id")?)
                .or_default()
                .expected_ms += 2 * 1000 * (until - from);
        }
    }
    sqlx::query("DELETE FROM usage_monthly WHERE month = ?")
        .bind(&plan.month)
        .execute(&mut *conn)
        .await?;
    let now = crate::store::now();
    let mut totals: Vec<i64> = Vec::with_capacity(per_member.len());
    let (mut down, mut up, mut peak) = (0i64, 0i64, 0i64);
    let members: Vec<(&i64, &MonthAgg)> = per_member.iter().collect();
    for chunk in members.chunks(ROWS_PER_STATEMENT) {
        let sql = multi_row_insert(
            "INSERT INTO usage_monthly (member_id, month, month_start, period_s, lines, down_bytes, up_bytes, peak_bytes,
                 covered_ms, expected_ms, rolled_at) VALUES ",
            11,
            chunk.len(),
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (member, a) in chunk {
            q = q
                .bind(**member)
                .bind(&plan.month)
                .bind(plan.start)
                .bind(plan.end - plan.start)
                .bind(a.lines)
                .bind(a.down)
                .bind(a.up)
                .bind(a.peak)
                .bind(a.covered_ms)
                // Lines moved between members can make the data exceed the expectation: cap at 100 %.
                .bind(a.expected_ms.max(a.covered_ms))
                .bind(now);
            totals.push(a.down.saturating_add(a.up));
            down = down.saturating_add(a.down);
            up = up.saturating_add(a.up);
            peak = peak.saturating_add(a.peak);
        }
        q.execute(&mut *conn).await?;
    }
    totals.sort_unstable();
    let median = match totals.len() {
        0 => 0,
        n if n % 2 == 1 => totals[n / 2],
        n => ((totals[n / 2 - 1] as i128 + totals[n / 2] as i128) / 2) as i64,
    };
    sqlx::query("DELETE FROM usage_coop_monthly WHERE month = ?")
        .bind(&plan.month)
        .execute(&mut *conn)
        .await?;
    if !totals.is_empty() {
        sqlx::query(
            "INSERT INTO usage_coop_monthly (month, members, down_bytes, up_bytes, peak_bytes, median_member_bytes)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&plan.month)
        .bind(totals.len() as i64)
        .bind(down)
        .bind(up)
        .bind(peak)
        .bind(median)
        .execute(&mut *conn)
        .await?;
    }
    Ok(per_member.len() as u64)
}

/// The local date of a Unix time.
pub fn local_date(seconds: i64, tz: &TimeZone) -> Date {
    jiff::Timestamp::from_second(seconds)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(tz.clone())
        .date()
}
