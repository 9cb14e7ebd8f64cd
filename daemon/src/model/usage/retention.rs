//! Retention: personal usage data is kept briefly and pruned by itself, in small batches (one
//! short transaction each, the writer free for polls in between).

use std::time::Duration;

use crate::config::RetentionConfig;
pub use crate::store::usage::PruneTarget;
use crate::store::usage::{UsageOutcome, UsageWrite};
use crate::store::{Store, StoreError};

/// Rows per transaction: small enough that a prune never holds the writer for long.
pub const PRUNE_BATCH: u32 = 5_000;
/// How often the pruning task runs (it also runs at start).
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

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
                UsageOutcome::Pruned { rows } => rows,
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
