//! The store: SQLite through sqlx, behind one narrow interface.
//!
//! One writer task owns every write. It takes requests from a channel, applies as many as are
//! waiting in one transaction (each in its own savepoint, so one bad request fails alone), and
//! answers each request only after the transaction committed: an acknowledged write is on disk.
//! Readers use a separate pool of read-only connections (WAL lets them run beside the writer).

mod events;
pub mod levels;
pub mod lines;
mod migrations;
mod read;
pub mod usage;
mod write;

pub use events::NewEvent;
pub use migrations::{LATEST_SCHEMA_VERSION, migrator};
pub use read::Counts;
pub(crate) use write::audit;
pub use write::{LineImportRow, MemberImportRow, WriteOp, WriteOutcome};

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

/// Requests waiting beyond this make writers wait: back-pressure instead of unbounded memory.
const WRITE_QUEUE: usize = 1024;
/// The most requests applied in one transaction.
const MAX_BATCH: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the database {path} has schema version {found}, newer than this coopnocd knows ({known}): \
         it was written by a newer coopnocd. Run that version, or restore a backup made for this one"
    )]
    NewerSchema {
        path: String,
        found: i64,
        known: i64,
    },
    #[error(
        "the database {path} was changed by hand after migration {version} was applied (checksum differs); restore a backup"
    )]
    ModifiedSchema { path: String, version: i64 },
    #[error("migrating {path}: {source}")]
    Migrate {
        path: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("opening {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("{0}")]
    Sql(#[from] sqlx::Error),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the store writer has stopped (the daemon is shutting down)")]
    WriterGone,
}

impl StoreError {
    /// Maps a constraint violation to a message a person can act on.
    fn from_constraint(e: sqlx::Error, what: &str) -> StoreError {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(format!("{what} already exists"))
            }
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::Invalid(format!("{what} refers to something that does not exist"))
            }
            _ => StoreError::Sql(e),
        }
    }
}

/// Who a write is done for, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's name ("alice"), "uid 1001" when the user database does not know the uid,
    /// or "coopnocd" for the daemon's own writes.
    pub name: String,
    pub uid: Option<u32>,
}

impl Actor {
    /// The daemon itself (roll-ups, pruning, inventory sync).
    pub fn daemon() -> Actor {
        Actor {
            name: "coopnocd".into(),
            uid: None,
        }
    }
}

struct WriteRequest {
    op: WriteOp,
    actor: Actor,
    reply: oneshot::Sender<Result<WriteOutcome, StoreError>>,
}

/// Cheap to clone; every clone talks to the same writer and pool.
#[derive(Clone)]
pub struct Store {
    path: PathBuf,
    pool: SqlitePool,
    writer: mpsc::Sender<WriteRequest>,
}

/// The writer task; `Store::close` waits for it.
pub struct StoreWriter {
    handle: tokio::task::JoinHandle<()>,
}

impl StoreWriter {
    /// Waits until every queued write is committed and the writer connection closed.
    pub async fn finish(self) {
        if let Err(e) = self.handle.await {
            tracing::error!("store writer task failed: {e}");
        }
    }
}

fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: an acknowledged write survives a power cut, not just a crash. Batching keeps
        // the fsync cost per transaction, not per row.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        // Erased personal data is overwritten, not just unlinked (`coopnoc member erase`).
        .pragma("secure_delete", "ON")
        .busy_timeout(Duration::from_secs(10))
        .log_statements(tracing::log::LevelFilter::Trace)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1))
}

impl Store {
    /// Opens (or creates) the database, brings its schema up to date, and starts the writer.
    pub async fn open(path: &Path) -> Result<(Store, StoreWriter), StoreError> {
        let display = path.display().to_string();
        let opts = connect_options(path).create_if_missing(true);
        let mut conn = opts.connect().await.map_err(|source| StoreError::Open {
            path: display.clone(),
            source,
        })?;
        migrations::bring_up_to_date(&mut conn, &display).await?;

        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .idle_timeout(Duration::from_secs(300))
            .connect_with(connect_options(path).read_only(true))
            .await
            .map_err(|source| StoreError::Open {
                path: display.clone(),
                source,
            })?;

        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        let handle = tokio::spawn(writer_loop(conn, rx));
        Ok((
            Store {
                path: path.to_path_buf(),
                pool,
                writer: tx,
            },
            StoreWriter { handle },
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The read pool: the store's own reads only (no SQL outside the store).
    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Moves the write-ahead log into the database and empties it, so that erased data does
    /// not linger in old page images (the pages themselves are zeroed by secure_delete). On a
    /// connection of its own: a checkpoint cannot run inside the writer's transaction.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        let mut conn = connect_options(&self.path).connect().await?;
        let done = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await
            .map(|_| ());
        let _ = conn.close().await;
        Ok(done?)
    }

    /// Sends one write to the writer and waits until it is committed.
    pub async fn write(&self, op: WriteOp) -> Result<WriteOutcome, StoreError> {
        self.write_as(op, Actor::daemon()).await
    }

    /// A write done for a person: the audit log names them.
    pub async fn write_as(&self, op: WriteOp, actor: Actor) -> Result<WriteOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(WriteRequest { op, actor, reply })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Closes the read pool. The writer ends once every `Store` clone is dropped.
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// Size on disk: the database plus its write-ahead log.
    pub fn size_bytes(&self) -> u64 {
        let wal = PathBuf::from(format!("{}-wal", self.path.display()));
        [self.path.as_path(), wal.as_path()]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}

async fn writer_loop(mut conn: SqliteConnection, mut rx: mpsc::Receiver<WriteRequest>) {
    let mut batch: Vec<WriteRequest> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let n = batch.len();
        match apply_batch(&mut conn, &mut batch).await {
            Ok(results) => {
                for (req, result) in batch.drain(..).zip(results) {
                    let _ = req.reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!("store: a batch of {n} writes was rolled back: {e}");
                let message = e.to_string();
                for req in batch.drain(..) {
                    let _ = req
                        .reply
                        .send(Err(StoreError::Sql(sqlx::Error::Protocol(format!(
                            "transaction failed: {message}"
                        )))));
                }
            }
        }
        tracing::trace!(
            writes = n,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "store batch committed"
        );
    }
    if let Err(e) = conn.close().await {
        tracing::warn!("store: closing the writer connection: {e}");
    }
    tracing::debug!("store writer stopped");
}

/// Applies a batch in one transaction, each request in its own savepoint. Results are only
/// handed out after the commit succeeded.
async fn apply_batch(
    conn: &mut SqliteConnection,
    batch: &mut [WriteRequest],
) -> Result<Vec<Result<WriteOutcome, StoreError>>, sqlx::Error> {
    // IMMEDIATE: the write lock is taken at the start, waiting (busy timeout) for another
    // writer of the file to finish. A deferred transaction that reads first would fail at
    // once with "database is locked" if another connection wrote in between.
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let mut results = Vec::with_capacity(batch.len());
    for req in batch.iter_mut() {
        let op = std::mem::replace(&mut req.op, WriteOp::Nothing);
        let mut sp = tx.begin().await?;
        match write::apply(&mut sp, op, &req.actor).await {
            Ok(outcome) => {
                sp.commit().await?;
                results.push(Ok(outcome));
            }
            Err(e) => {
                sp.rollback().await?;
                results.push(Err(e));
            }
        }
    }
    tx.commit().await?;
    Ok(results)
}

/// Seconds since the Unix epoch, the stored form of every time.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// RFC 3339 in UTC, the form every output shows a stored time in.
pub fn format_time(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| seconds.to_string())
}
