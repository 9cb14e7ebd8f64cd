//! The usage service inside the daemon: the accountant behind a lock, the way samples come
//! in, and the background task that rolls up and prunes (at start, then every hour).

use std::sync::Arc;

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::accountant::{IngestStats, UsageAccountant};
use super::counter::CounterSample;
use super::rollup::{RollupError, local_date, rollup_days};
use super::{UsageOutcome, UsageWrite, retention};
use crate::config::Config;
use crate::store::{Actor, Store, StoreError, WriteOp, WriteOutcome};
use coopnoc_proto::ErasureSummary;

/// Days before today rolled up again every hour, for late samples that fill their slots.
const ROLLUP_LOOKBACK_DAYS: i64 = 2;

pub struct UsageService {
    store: Store,
    /// `None` until first use (then loaded from the store), and again after a failed write
    /// (memory may be ahead of the store: the store is the truth).
    accountant: Mutex<Option<UsageAccountant>>,
}

impl UsageService {
    pub fn new(store: Store) -> UsageService {
        UsageService {
            store,
            accountant: Mutex::new(None),
        }
    }

    /// The seam for the line matcher: one poll's samples in, their effect durably stored
    /// (the fine slots and the last samples in one transaction) before this returns.
    pub async fn ingest(&self, samples: &[CounterSample]) -> Result<IngestStats, StoreError> {
        let mut guard = self.accountant.lock().await;
        if guard.is_none() {
            let rows = self.store.accountant_rows().await?;
            *guard = Some(UsageAccountant::restore(rows.counters, rows.hours));
        }
        let Some(acc) = guard.as_mut() else {
            return Err(StoreError::Invalid("usage accountant unavailable".into()));
        };
        let (write, stats) = acc.ingest(samples);
        if let Err(e) = self.store.usage(write).await {
            *guard = None;
            return Err(e);
        }
        Ok(stats)
    }

    /// Erases a member (see `crate::store::usage`), and forgets their lines' in-memory state.
    pub async fn erase_member(
        &self,
        reference: &str,
        by: Actor,
    ) -> Result<ErasureSummary, StoreError> {
        let mut guard = self.accountant.lock().await;
        let op = WriteOp::Usage(UsageWrite::EraseMember {
            member: reference.to_string(),
        });
        let outcome = self.store.write_as(op, by).await?;
        let WriteOutcome::Usage(UsageOutcome::Erased(erased)) = outcome else {
            return Err(StoreError::Invalid("erasure gave no summary".into()));
        };
        if let Some(acc) = guard.as_mut() {
            acc.forget_lines(&erased.line_ids);
        }
        drop(guard);
        // Erased data must not linger in old page images of the write-ahead log.
        if let Err(e) = self.store.checkpoint().await {
            tracing::warn!("after an erasure, checkpointing the write-ahead log failed: {e}");
        }
        Ok(erased.summary)
    }

    /// Rolls up local days `from..=to` (and their months).
    pub async fn rollup(
        &self,
        config: &Config,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<u64, RollupError> {
        rollup_days(
            &self.store,
            &config.daemon.time_zone,
            config.reports.evening_peak,
            from,
            to,
            0,
        )
        .await
    }
}

/// The days the periodic roll-up covers: from the last rolled-up day (minus a margin for late
/// data), or the oldest fine hour, never before what fine retention keeps, up to today.
async fn days_to_roll(
    store: &Store,
    config: &Config,
) -> Result<(jiff::civil::Date, jiff::civil::Date), StoreError> {
    let tz = &config.daemon.time_zone;
    let now = crate::store::now();
    let today = local_date(now, tz);
    let (last_day, oldest_fine) = store.usage_extent().await?;
    let keep = i64::try_from(config.retention.fine_buckets.as_secs()).unwrap_or(i64::MAX);
    let floor = local_date(now.saturating_sub(keep), tz);
    let from = match (
        last_day.and_then(|d| d.parse::<jiff::civil::Date>().ok()),
        oldest_fine,
    ) {
        (Some(d), _) => d
            .checked_sub(jiff::Span::new().days(ROLLUP_LOOKBACK_DAYS))
            .unwrap_or(d),
        (None, Some(h)) => local_date(h * 3600, tz),
        (None, None) => today,
    };
    Ok((from.max(floor).min(today), today))
}

/// The background task: roll up and prune at start, then every hour, until shutdown. The
/// config in force is read at each round (a reload changes the time zone or the retention).
pub async fn run(
    usage: Arc<UsageService>,
    config: tokio::sync::watch::Receiver<Arc<Config>>,
    shutdown: CancellationToken,
) {
    loop {
        let current = config.borrow().clone();
        match days_to_roll(&usage.store, &current).await {
            Ok((from, to)) => match usage.rollup(&current, from, to).await {
                Ok(rows) => tracing::debug!("usage: rolled up {from}..{to} ({rows} daily rows)"),
                Err(e) => {
                    tracing::error!("usage roll-up failed (it is retried within the hour): {e}")
                }
            },
            Err(e) => tracing::error!("usage roll-up: {e}"),
        }
        if let Err(e) =
            retention::prune(&usage.store, &current.retention, crate::store::now()).await
        {
            tracing::error!("retention pruning failed (retried within the hour): {e}");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(retention::PRUNE_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::usage::Direction;
    use crate::octets::Counter;
    use crate::store::WriteOp;
    use coopnoc_proto::{LineKind, MatchKind, NewLine, NewMember, ReportPreference};
    use sqlx::ConnectOptions;

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
        let id = |r: &'static str| store.line_id(r);
        let usage = UsageService::new(store.clone());
        // L-NEW: the first sample 30 s after its creation; L-OLD: data from two days before.
        let (new_from, old_from, to) = (
            created + 30,
            ts("2026-03-08T00:00:30Z"),
            ts("2026-03-11T15:00:30Z"),
        );
        let old_day = ts("2026-03-08T00:00:00Z");
        usage
            .ingest(&steady(id("L-NEW").await.expect("id"), new_from, to))
            .await
            .expect("ingest");
        usage
            .ingest(&steady(id("L-OLD").await.expect("id"), old_from, to))
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
        .fetch_one(&mut conn)
        .await
        .expect("month");
        assert_eq!(covered, 2_000 * ((to - new_from) + (to - old_from)));
        assert_eq!(
            expected,
            2_000 * ((month_end - created) + (month_end - old_day))
        );

        drop(usage);
        drop(conn);
        store.close().await;
        writer.finish().await;
    }
}
