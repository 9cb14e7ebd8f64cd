//! Events as the store keeps them: one row per change of a line, a device or a link.

use sqlx::SqliteConnection;

use super::StoreError;

/// An event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub at: i64,
    pub subject_kind: &'static str,
    pub subject: String,
    pub old_state: Option<String>,
    pub new_state: String,
    pub reason: Option<String>,
    pub detail: Option<String>,
}

pub(super) async fn insert_events(
    conn: &mut SqliteConnection,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    for e in events {
        sqlx::query("INSERT INTO event (at, subject_kind, subject, old_state, new_state, reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(e.at)
            .bind(e.subject_kind)
            .bind(&e.subject)
            .bind(&e.old_state)
            .bind(&e.new_state)
            .bind(&e.reason)
            .bind(&e.detail)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
