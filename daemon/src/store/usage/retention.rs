//! Pruning in the store: at most a batch of rows older than a cutoff, from one table, per
//! write (one short transaction each, the writer free for polls in between). What to keep
//! and when to prune is the usage accounting's business (`crate::model::usage::retention`).

use sqlx::SqliteConnection;

use crate::store::StoreError;

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
