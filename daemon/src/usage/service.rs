//! The usage service inside the daemon: the accountant behind a lock, the way samples come
//! in, and the background task that rolls up and prunes (at start, then every hour).

use std::sync::Arc;

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::accountant::{IngestStats, UsageAccountant};
use super::counter::CounterSample;
use super::read::{ErasureSummary, load_accountant};
use super::rollup::{RollupError, local_date, rollup_days};
use super::write::UsageWrite;
use super::{UsageOutcome, retention};
use crate::state::Shared;
use crate::store::{Actor, Store, StoreError, WriteOp, WriteOutcome};

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
            *guard = Some(load_accountant(self.store.reader()).await?);
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

    /// Erases a member (see `usage::write`), and forgets their lines' in-memory state.
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
        let WriteOutcome::Usage(UsageOutcome::Erased(summary)) = outcome else {
            return Err(StoreError::Invalid("erasure gave no summary".into()));
        };
        if let Some(acc) = guard.as_mut() {
            acc.forget_lines(&summary.line_ids);
        }
        drop(guard);
        checkpoint(&self.store).await;
        Ok(summary)
    }

    /// Rolls up local days `from..=to` (and their months).
    pub async fn rollup(
        &self,
        shared: &Shared,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<u64, RollupError> {
        let config = shared.config();
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

/// Moves the write-ahead log into the database and empties it, so that erased data does not
/// linger in old page images (the pages themselves are zeroed by secure_delete).
async fn checkpoint(store: &Store) {
    use sqlx::ConnectOptions;
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(store.path());
    match opts.connect().await {
        Ok(mut conn) => {
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut conn)
                .await
            {
                tracing::warn!("after an erasure, checkpointing the write-ahead log failed: {e}");
            }
            let _ = sqlx::Connection::close(conn).await;
        }
        Err(e) => {
            tracing::warn!("after an erasure, could not open the store to checkpoint it: {e}")
        }
    }
}

/// The days the periodic roll-up covers: from the last rolled-up day (minus a margin for late
/// data), or the oldest fine hour, never before what fine retention keeps, up to today.
async fn days_to_roll(
    shared: &Shared,
) -> Result<(jiff::civil::Date, jiff::civil::Date), StoreError> {
    let config = shared.config();
    let tz = &config.daemon.time_zone;
    let now = crate::store::now();
    let today = local_date(now, tz);
    let pool = shared.store.reader();
    let last_day: Option<String> = sqlx::query_scalar("SELECT MAX(day) FROM usage_daily")
        .fetch_one(pool)
        .await?;
    let oldest_fine: Option<i64> = sqlx::query_scalar("SELECT MIN(hour) FROM usage_fine")
        .fetch_one(pool)
        .await?;
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

/// The background task: roll up and prune at start, then every hour, until shutdown.
pub async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    loop {
        match days_to_roll(&shared).await {
            Ok((from, to)) => match shared.usage.rollup(&shared, from, to).await {
                Ok(rows) => tracing::debug!("usage: rolled up {from}..{to} ({rows} daily rows)"),
                Err(e) => {
                    tracing::error!("usage roll-up failed (it is retried within the hour): {e}")
                }
            },
            Err(e) => tracing::error!("usage roll-up: {e}"),
        }
        let retention = shared.config().retention.clone();
        if let Err(e) = retention::prune(&shared.store, &retention, crate::store::now()).await {
            tracing::error!("retention pruning failed (retried within the hour): {e}");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(retention::PRUNE_EVERY) => {}
        }
    }
}
