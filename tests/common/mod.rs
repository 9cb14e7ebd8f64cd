//! Helpers shared by the integration tests: temporary daemons, configs and sockets.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A temporary folder with a config whose state and socket live inside it.
pub struct TempSetup {
    pub dir: tempfile::TempDir,
}

impl TempSetup {
    pub fn new(extra: &str) -> TempSetup {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("state");
        let socket = dir.path().join("ctl.sock");
        let text = format!(
            "[daemon]\nstate-directory = \"{}\"\nshutdown-timeout = \"5s\"\n\n[ctl]\nsocket = \"{}\"\n\n[reports]\nenabled = false\n\n{extra}",
            state.display(),
            socket.display()
        );
        std::fs::write(dir.path().join("coopnoc.toml"), text).expect("write config");
        TempSetup { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("coopnoc.toml")
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("ctl.sock")
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("state").join("coopnoc.db")
    }
}

/// Waits until `f` is true or the deadline passes.
/// A control-socket client to a daemon that is starting: retries until the socket answers
/// (10 s at most); `timeout` is the client's per-request patience.
#[allow(dead_code)]
pub async fn connect(socket: &Path, timeout: Duration) -> coopnoc_proto::Client {
    let started = Instant::now();
    loop {
        if let Ok(c) = coopnoc_proto::Client::connect(socket, timeout).await {
            return c;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the daemon did not open its socket"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// A daemon process that is killed if the test ends without stopping it.
pub struct DaemonProcess {
    pub child: Option<Child>,
}

impl DaemonProcess {
    pub fn spawn(bin: &str, config: &Path, envs: &[(&str, &str)]) -> DaemonProcess {
        let mut cmd = Command::new(bin);
        cmd.arg("--config")
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd.env_remove("NOTIFY_SOCKET").env_remove("WATCHDOG_USEC");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        DaemonProcess {
            child: Some(cmd.spawn().expect("spawn coopnocd")),
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }

    #[allow(unsafe_code)]
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the pid of a child this guard still owns.
        let r = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(r, 0, "kill({sig}) failed");
    }

    /// Waits for the process to end; returns its exit status and stderr.
    pub fn wait(mut self, timeout: Duration) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().expect("running");
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                return (status, err);
            }
            if start.elapsed() > timeout {
                let _ = child.kill();
                panic!("coopnocd did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Opens the SQLite file directly (not through the daemon), read-only.
pub fn sqlite_count(db: &Path, sql: &str) -> i64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(db)
            .read_only(true)
            .connect()
            .await
            .expect("open db");
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut conn)
            .await
            .expect("query")
    })
}

/// coopnocd running in this test process, on its own thread and runtime as in its own process
/// (`run` need not be Send). Stopped and joined by `stop`, or when dropped.
pub struct DaemonThread {
    shutdown: tokio_util::sync::CancellationToken,
    thread: Option<std::thread::JoinHandle<Result<(), coopnocd::RunError>>>,
}

impl DaemonThread {
    pub fn start(config: coopnocd::config::Config) -> DaemonThread {
        let shutdown = tokio_util::sync::CancellationToken::new();
        let token = shutdown.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(coopnocd::run(config, token))
        });
        DaemonThread {
            shutdown,
            thread: Some(thread),
        }
    }

    /// Asks the daemon to stop and checks that it stops cleanly within `within`.
    pub fn stop(mut self, within: Duration) {
        self.shutdown.cancel();
        let thread = self.thread.take().expect("running");
        let stopping = Instant::now();
        while !thread.is_finished() {
            assert!(
                stopping.elapsed() < within,
                "the daemon did not stop within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        thread
            .join()
            .expect("the daemon thread ends")
            .expect("the daemon stops cleanly");
    }
}

impl Drop for DaemonThread {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Counter samples into a daemon's store through the library, as the poller hands them to the
/// usage accountant (the control protocol has no such request): the same accountant, the same
/// writer. Safe beside a running daemon: SQLite serialises the two writers.
pub fn ingest(db: &Path, samples: &[coopnocd::model::usage::CounterSample]) {
    with_store(db, |store| async move {
        let usage = coopnocd::model::usage::UsageService::new(store);
        usage.ingest(samples).await.expect("ingest");
    });
}

/// Rolls up local days `from..=to` (YYYY-MM-DD) through the library, as the daemon's own
/// hourly roll-up does; returns the daily rows written.
pub fn rollup(db: &Path, time_zone: &str, evening_peak: (u16, u16), from: &str, to: &str) -> u64 {
    let tz = jiff::tz::TimeZone::get(time_zone).expect("time zone");
    let (from, to) = (
        from.parse().expect("from: YYYY-MM-DD"),
        to.parse().expect("to: YYYY-MM-DD"),
    );
    with_store(db, |store| async move {
        coopnocd::model::usage::rollup::rollup_days(&store, &tz, evening_peak, from, to, 0)
            .await
            .expect("roll-up")
    })
}

/// Opens the store of a daemon's state directory in this process, runs `f`, closes it.
fn with_store<F, Fut, T>(db: &Path, f: F) -> T
where
    F: FnOnce(coopnocd::store::Store) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (store, writer) = coopnocd::store::Store::open(db).await.expect("open store");
        let out = f(store.clone()).await;
        store.close().await;
        writer.finish().await;
        out
    })
}
