//! Embedded schema migrations, applied at start. A database written by a newer coopnocd is
//! refused with a plain message rather than half-understood.

use std::borrow::Cow;

use sqlx::SqliteConnection;
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};

use super::StoreError;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "inventory",
        include_str!("../../migrations/0001_inventory.sql"),
    ),
    (2, "audit", include_str!("../../migrations/0002_audit.sql")),
    (3, "usage", include_str!("../../migrations/0003_usage.sql")),
    (4, "lines", include_str!("../../migrations/0004_lines.sql")),
    (
        5,
        "audit actor",
        include_str!("../../migrations/0005_audit_actor.sql"),
    ),
];

pub const LATEST_SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The migrator with every migration this build knows.
pub fn migrator() -> Migrator {
    let migrations: Vec<Migration> = MIGRATIONS
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                sqlx::SqlSafeStr::into_sql_str(*sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

pub(super) async fn bring_up_to_date(
    conn: &mut SqliteConnection,
    path: &str,
) -> Result<(), StoreError> {
    let before = schema_version(conn).await.unwrap_or(0);
    match migrator().run(&mut *conn).await {
        Ok(()) => {
            let after = schema_version(conn).await.unwrap_or(0);
            if after != before {
                tracing::info!("store {path}: schema migrated from version {before} to {after}");
            }
            Ok(())
        }
        Err(MigrateError::VersionMissing(found)) => Err(StoreError::NewerSchema {
            path: path.to_string(),
            found: found.max(before),
            known: LATEST_SCHEMA_VERSION,
        }),
        Err(MigrateError::VersionMismatch(version)) => Err(StoreError::ModifiedSchema {
            path: path.to_string(),
            version,
        }),
        Err(source) => Err(StoreError::Migrate {
            path: path.to_string(),
            source,
        }),
    }
}

/// The highest applied migration, 0 for a new database.
pub(super) async fn schema_version(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    let exists: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut *conn)
    .await?;
    if exists == 0 {
        return Ok(0);
    }
    sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut *conn)
        .await
}
