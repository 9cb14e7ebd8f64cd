//! Retention: personal usage data is kept briefly and pruned by itself, in small batches (one
//! short transaction each, the writer free for polls in between).

use std::time::Duration;

use sqlx::SqliteConnection;

use super::write::UsageWrite;
use crate::config::RetentionConfig;
use crate::store::{Store, StoreError};

/// Rows per transaction: small enough that a prune never holds the writer for long.
pub const PRUNE_BATCH: u32 = 5_000;
/// How often the pruning task runs (it also runs at start).
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneTarget {
    /// `usage_fine` rows of hours starting before the cutoff (Unix seconds).
    Fine,
    /// `usage_daily` rows of days starting before the cutoff.
    Daily,
    /// `usage_monthly` rows of members whose membership ended before the cutoff.
    Monthly,
    /// `event` rows older than the cutoff.
    Events,
    /// `line_level` rows of UTC days that ended before the cutoff.
    Levels,
}

pub(super) async fn apply_prune(
    conn: &mut SqliteConnection,
    target: PruneTarget,
    cutoff: i64,
    limit: u32,
) -> Result<u64, StoreError> {
    let limit = limit as i64;
    let q = match target {
        PruneTarget::Fine => sqlx::query(
            "DELETE FROM usage_fine WHERE (hour, line_id) IN
                 (SELECT hour, line_id FROM usage_fine WHERE hour < ? ORDER BY hour LIMIT ?)",
        )
        .bind(cutoff.div_euclid(3600)),
        PruneTarget::Daily => sqlx::query(
            "DELETE FROM usage_daily WHERE (line_id, day) IN
                 (SELECT line_id, day FROM usage_daily WHERE day_start < ? LIMIT ?)",
        )
        .bind(cutoff),
        PruneTarget::Monthly => sqlx::query(
            "DELETE FROM usage_monthly WHERE (member_id, month) IN
                 (SELECT u.member_id, u.month FROM usage_monthly u JOIN member m ON m.id = u.member_id
                  WHERE m.left_at IS NOT NULL AND m.left_at < ? LIMIT ?)",
        )
        .bind(cutoff),
        PruneTarget::Events => {
            sqlx::query("DELETE FROM event WHERE id IN (SELECT id FROM event WHERE at < ? ORDER BY at LIMIT ?)").bind(cutoff)
        }
        PruneTarget::Levels => sqlx::query(
            "DELETE FROM line_level WHERE (line_id, metric, day) IN
                 (SELECT line_id, metric, day FROM line_level WHERE day < ? LIMIT ?)",
        )
        .bind(cutoff.div_euclid(86400)),
    };
    Ok(q.bind(limit).execute(&mut *conn).await?.rows_affected())
}

/// Rows removed per table by one pruning pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub fine: u64,
    pub daily: u64,
    pub monthly: u64,
    pub events: u64,
    pub levels: u64,
}

/// One pass over every table, batch after batch until nothing is older than its retention.
pub async fn prune(
    store: &Store,
    retention: &RetentionConfig,
    now: i64,
) -> Result<PruneReport, StoreError> {
    let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let mut report = PruneReport::default();
    for (target, keep, count) in [
        (PruneTarget::Fine, retention.fine_buckets, &mut report.fine),
        (
            PruneTarget::Daily,
            retention.daily_per_line,
            &mut report.daily,
        ),
        (
            PruneTarget::Monthly,
            retention.monthly_after_membership,
            &mut report.monthly,
        ),
        (PruneTarget::Events, retention.events, &mut report.events),
        (PruneTarget::Levels, retention.levels, &mut report.levels),
    ] {
        let cutoff = now.saturating_sub(secs(keep));
        loop {
            let n = match store
                .usage(UsageWrite::Prune {
                    target,
                    cutoff,
                    limit: PRUNE_BATCH,
                })
                .await?
            {
                super::UsageOutcome::Pruned { rows } => rows,
                _ => 0,
            };
            *count += n;
            if n < PRUNE_BATCH as u64 {
                break;
            }
            // Let queued writes (a poll's usage) in between two batches.
            tokio::task::yield_now().await;
        }
    }
    if report != PruneReport::default() {
        tracing::info!(
            "retention: pruned {} fine, {} daily, {} monthly usage rows, {} events and {} line level rows",
            report.fine,
            report.daily,
            report.monthly,
            report.events,
            report.levels
        );
    }
    Ok(report)
}
