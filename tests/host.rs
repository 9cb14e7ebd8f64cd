//! coopnocd as systemd runs it, as a real process: sd_notify on a socket the test binds,
//! watchdog pings that come from the daemon's health (and stop when the store writer is
//! stuck), and SIGHUP reloads of a good and of a bad configuration.

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use coopnoc_proto::Client;
use coopnoc_proto::{NewMember, ReportPreference, Request, Response, StatusInfo};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn config_text(dir: &Path, sites: &[&str]) -> String {
    let mut text = format!(
        "[daemon]\nstate-directory = \"{d}\"\n\n[ctl]\nsocket = \"{d}/ctl.sock\"\n\n[reports]\nenabled = false\n",
        d = dir.display()
    );
    for s in sites {
        text.push_str(&format!("\n[[site]]\nname = \"{s}\"\n"));
    }
    text
}

/// A running coopnocd with its notify socket and stderr; killed on drop.
struct Daemon {
    child: Child,
    notify: UnixDatagram,
    stderr: mpsc::Receiver<String>,
    dir: tempfile::TempDir,
}

impl Daemon {
    fn start(sites: &[&str], env: &[(&str, String)]) -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("coopnoc.toml"),
            config_text(dir.path(), sites),
        )
        .expect("write config");
        let notify_path = dir.path().join("notify.sock");
        let notify = UnixDatagram::bind(&notify_path).expect("bind the notify socket");
        notify
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coopnocd"));
        cmd.arg("--config")
            .arg(dir.path().join("coopnoc.toml"))
            .env("NOTIFY_SOCKET", &notify_path)
            .env("COOPNOC_LOG", "info")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start coopnocd");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("coopnocd: {line}");
                let _ = tx.send(line);
            }
        });
        Daemon {
            child,
            notify,
            stderr: rx,
            dir,
        }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("coopnoc.toml")
    }

    /// The next sd_notify message, if one comes within `within`.
    fn next_notify(&self, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.notify.recv(&mut buf) {
                return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        None
    }

    /// Every message up to and including the first one that satisfies `done`.
    fn notify_until(&self, within: Duration, done: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        while let Some(m) = self.next_notify(deadline.saturating_duration_since(Instant::now())) {
            let last = done(&m);
            seen.push(m);
            if last {
                return seen;
            }
        }
        panic!("no matching sd_notify message within {within:?}; got {seen:?}");
    }

    /// Every message received during `period`.
    fn notify_during(&self, period: Duration) -> Vec<String> {
        let deadline = Instant::now() + period;
        let mut seen = Vec::new();
        while let Some(m) = self.next_notify(deadline.saturating_duration_since(Instant::now())) {
            seen.push(m);
        }
        seen
    }

    fn wait_ready(&self) -> Vec<String> {
        self.notify_until(Duration::from_secs(15), |m| {
            m.lines().any(|l| l == "READY=1")
        })
    }

    /// Stderr lines up to the first containing `needle`.
    fn stderr_until(&self, needle: &str, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            match self
                .stderr
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => {
                    let found = line.contains(needle);
                    seen.push(line);
                    if found {
                        return seen;
                    }
                }
                Err(_) => panic!(
                    "{needle:?} not on stderr within {within:?}; got:\n{}",
                    seen.join("\n")
                ),
            }
        }
    }

    fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), sig)
            .unwrap_or_else(|e| panic!("kill {sig}: {e}"));
    }

    fn call(&self, request: Request) -> Response {
        let socket = self.dir.path().join("ctl.sock");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut client = Client::connect(&socket, Duration::from_secs(20))
                .await
                .expect("connect to coopnocd");
            client
                .call(&request)
                .await
                .expect("an answer from coopnocd")
        })
    }

    fn status(&self) -> StatusInfo {
        match self.call(Request::Status) {
            Response::Status(s) => s,
            other => panic!("unexpected answer to status: {other:?}"),
        }
    }

    /// SIGTERM, then a clean exit within 10 s.
    fn stop(mut self) {
        self.signal(Signal::SIGTERM);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "coopnocd exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("coopnocd did not stop within 10s of SIGTERM");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn count_pings(messages: &[String]) -> usize {
    messages
        .iter()
        .filter(|m| m.lines().any(|l| l == "WATCHDOG=1"))
        .count()
}

fn monotonic_usec() -> u64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).expect("clock");
    t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1_000
}

#[test]
fn watchdog_pings_follow_ready_and_stop_while_the_store_writer_is_stuck() {
    // WatchdogSec=1s: a ping every half second while healthy.
    let daemon = Daemon::start(
        &["joigny-nord"],
        &[("WATCHDOG_USEC", "1000000".to_string())],
    );
    let before_ready = daemon.wait_ready();
    assert_eq!(
        count_pings(&before_ready),
        0,
        "no watchdog ping before READY=1: {before_ready:?}"
    );
    let ready = before_ready.last().expect("READY");
    assert!(
        ready.contains("STATUS=watching 0 devices and 0 lines"),
        "READY says what the daemon does: {ready:?}"
    );
    let pings = count_pings(&daemon.notify_during(Duration::from_millis(2100)));
    assert!(
        (3..=6).contains(&pings),
        "about 4 pings in 2.1s at WatchdogSec=1s, got {pings}"
    );

    // Hold SQLite's write lock from outside: the store writer blocks on the next real write,
    // its health probe waits behind it, and the pings must stop.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let db = daemon.dir.path().join("coopnoc.db");
    let mut lock = rt.block_on(async {
        use sqlx::{ConnectOptions, Connection};
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .connect()
            .await
            .expect("open the store");
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut conn)
            .await
            .expect("lock the store");
        let _ = conn.ping().await;
        conn
    });
    let socket = daemon.dir.path().join("ctl.sock");
    let blocked_write = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut client = Client::connect(&socket, Duration::from_secs(30))
                .await
                .expect("connect");
            client
                .call(&Request::MemberAdd(NewMember {
                    reference: "M-0001".into(),
                    display_name: "Mme Durand".into(),
                    email: None,
                    language: "fr".into(),
                    reports: ReportPreference::None,
                }))
                .await
                .expect("an answer once the lock is gone")
        })
    });
    let stuck = daemon.notify_until(Duration::from_secs(4), |m| m.contains("STATUS=stuck"));
    let status = stuck.last().expect("a STATUS");
    assert!(
        status.contains("store writer"),
        "STATUS names the stuck task: {status:?}"
    );
    let silent = daemon.notify_during(Duration::from_millis(1500));
    assert_eq!(
        count_pings(&silent),
        0,
        "no ping while the store writer is stuck: {silent:?}"
    );

    // The lock goes: the write completes, the pings come back with the usual STATUS.
    rt.block_on(async {
        sqlx::query("ROLLBACK")
            .execute(&mut lock)
            .await
            .expect("unlock");
    });
    drop(lock);
    let back = daemon.notify_until(Duration::from_secs(4), |m| {
        m.lines().any(|l| l == "WATCHDOG=1")
    });
    assert!(
        back.last().expect("a ping").contains("STATUS=watching"),
        "the STATUS is restored: {back:?}"
    );
    let added = blocked_write.join().expect("the blocked write");
    assert!(
        !matches!(added, Response::Error(_)),
        "the queued write succeeds after the lock: {added:?}"
    );
    daemon.stop();
}

#[test]
fn a_watchdog_meant_for_another_process_is_ignored() {
    let daemon = Daemon::start(
        &["joigny-nord"],
        &[
            ("WATCHDOG_USEC", "500000".to_string()),
            ("WATCHDOG_PID", "1".to_string()),
        ],
    );
    daemon.wait_ready();
    assert_eq!(
        count_pings(&daemon.notify_during(Duration::from_millis(1200))),
        0
    );
    daemon.stop();
}

#[test]
fn sighup_reloads_a_good_config_and_refuses_a_bad_one() {
    let daemon = Daemon::start(&["joigny-nord"], &[]);
    daemon.wait_ready();
    assert_eq!(daemon.status().sites, 1);

    // A good config: one more site.
    std::fs::write(
        daemon.config_path(),
        config_text(daemon.dir.path(), &["joigny-nord", "les-bordes"]),
    )
    .expect("write");
    let sent_at = monotonic_usec();
    daemon.signal(Signal::SIGHUP);
    let messages = daemon.notify_until(Duration::from_secs(5), |m| {
        m.lines().any(|l| l == "READY=1")
    });
    let reloading = messages
        .iter()
        .find(|m| m.lines().any(|l| l == "RELOADING=1"))
        .expect("RELOADING=1 before READY=1");
    let usec: u64 = reloading
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("RELOADING=1 carries MONOTONIC_USEC: {reloading:?}"));
    assert!(
        usec >= sent_at && usec < sent_at + 5_000_000,
        "MONOTONIC_USEC is CLOCK_MONOTONIC at the reload"
    );
    let ready = messages.last().expect("READY");
    assert!(
        ready.contains("STATUS=watching 0 devices and 0 lines; configuration reloaded"),
        "{ready:?}"
    );
    daemon.stderr_until("configuration reloaded from", Duration::from_secs(5));
    assert_eq!(daemon.status().sites, 2, "the new config is in force");

    // A bad config: a misspelt key. It is refused, with the reason, and the daemon goes on.
    let bad = config_text(daemon.dir.path(), &["joigny-nord"])
        .replace("name = \"joigny-nord\"", "nmae = \"joigny-nord\"");
    std::fs::write(daemon.config_path(), bad).expect("write");
    daemon.signal(Signal::SIGHUP);
    let messages = daemon.notify_until(Duration::from_secs(5), |m| {
        m.lines().any(|l| l == "READY=1")
    });
    assert!(
        messages
            .last()
            .expect("READY")
            .contains("; new configuration refused, running on the previous one"),
        "{messages:?}"
    );
    let said = daemon
        .stderr_until("nmae", Duration::from_secs(5))
        .join("\n");
    assert!(
        said.contains("keeping the running configuration"),
        "stderr says the old config is kept:\n{said}"
    );
    let status = daemon.status();
    assert_eq!(status.sites, 2, "still on the previous good configuration");
    daemon.stop();
}
