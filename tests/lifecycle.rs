//! The daemon as a real process: exit codes, signals, readiness, refusing what it must refuse.

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

use common::{DaemonProcess, TempSetup, wait_for};

const BIN: &str = env!("CARGO_BIN_EXE_coopnocd");

fn status_answers(socket: &std::path::Path) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let Ok(mut c) = coopnoc_proto::Client::connect(socket, Duration::from_secs(2)).await else {
            return false;
        };
        matches!(
            c.call(&coopnoc_proto::Request::Status).await,
            Ok(coopnoc_proto::Response::Status(_))
        )
    })
}

#[test]
fn bad_config_exits_78_with_the_problems_on_stderr() {
    let setup = TempSetup::new("[http]\nlisten = \"not an address\"\n");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(setup.config())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("http.listen"), "{err}");
    assert!(
        !setup.database().exists(),
        "a bad config must not touch the state directory"
    );

    let out = Command::new(BIN)
        .arg("--config")
        .arg("/nonexistent/coopnoc.toml")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be read"));
}

#[test]
fn ready_is_sent_only_once_the_socket_and_store_are_up_and_sigterm_stops_cleanly() {
    let setup = TempSetup::new("");
    let notify_path = setup.dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).expect("bind notify socket");
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");

    let daemon = DaemonProcess::spawn(
        BIN,
        &setup.config(),
        &[("NOTIFY_SOCKET", notify_path.to_str().expect("utf8"))],
    );
    let mut buf = [0u8; 4096];
    let mut messages = Vec::new();
    loop {
        let n = notify
            .recv(&mut buf)
            .expect("a notification before the timeout");
        let msg = String::from_utf8_lossy(&buf[..n]).to_string();
        messages.push(msg.clone());
        if msg.lines().any(|l| l == "READY=1") {
            break;
        }
    }
    // At READY=1 the control socket answers and the schema is in place, with no waiting.
    assert!(
        status_answers(&setup.socket()),
        "READY=1 came before the control socket answered"
    );
    assert_eq!(
        common::sqlite_count(
            &setup.database(),
            "SELECT MAX(version) FROM _sqlx_migrations"
        ),
        coopnocd::store::LATEST_SCHEMA_VERSION
    );
    assert!(
        messages.iter().any(|m| m.contains("STATUS=")),
        "{messages:?}"
    );

    daemon.signal(libc::SIGTERM);
    let (status, stderr) = daemon.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("SIGTERM received") && stderr.contains("stopped"),
        "{stderr}"
    );
    assert!(
        !setup.socket().exists(),
        "the socket file is removed on a clean stop"
    );
    let n = notify.recv(&mut buf).expect("STOPPING=1");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1"));
}

#[test]
fn runs_without_notify_socket_and_stops_on_sigint() {
    let setup = TempSetup::new("");
    let daemon = DaemonProcess::spawn(BIN, &setup.config(), &[]);
    wait_for("the control socket", Duration::from_secs(20), || {
        status_answers(&setup.socket())
    });
    daemon.signal(libc::SIGINT);
    let (status, stderr) = daemon.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn a_second_daemon_on_the_same_socket_is_refused_and_a_stale_socket_is_replaced() {
    let setup = TempSetup::new("");
    let first = DaemonProcess::spawn(BIN, &setup.config(), &[]);
    wait_for("the first daemon", Duration::from_secs(20), || {
        status_answers(&setup.socket())
    });
    let second = DaemonProcess::spawn(BIN, &setup.config(), &[]);
    let (status, stderr) = second.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("another coopnocd is already answering"),
        "{stderr}"
    );
    assert!(
        status_answers(&setup.socket()),
        "the first daemon must keep its socket"
    );

    // A daemon killed outright leaves its socket file behind; the next one replaces it.
    first.signal(libc::SIGKILL);
    let _ = first.wait(Duration::from_secs(10));
    assert!(setup.socket().exists());
    let third = DaemonProcess::spawn(BIN, &setup.config(), &[]);
    wait_for("the restarted daemon", Duration::from_secs(20), || {
        status_answers(&setup.socket())
    });
    third.signal(libc::SIGTERM);
    assert_eq!(third.wait(Duration::from_secs(10)).0.code(), Some(0));
}

#[test]
fn a_database_from_a_newer_coopnocd_is_refused_plainly() {
    let setup = TempSetup::new("");
    let daemon = DaemonProcess::spawn(BIN, &setup.config(), &[]);
    wait_for("the daemon", Duration::from_secs(20), || {
        status_answers(&setup.socket())
    });
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait(Duration::from_secs(10)).0.code(), Some(0));

    // Pretend a future coopnocd applied migration 999.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(setup.database())
            .connect()
            .await
            .expect("open");
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time)
             VALUES (999, 'future', CURRENT_TIMESTAMP, 1, x'00', 0)",
        )
        .execute(&mut conn)
        .await
        .expect("insert");
    });
    let daemon = DaemonProcess::spawn(BIN, &setup.config(), &[]);
    let (status, stderr) = daemon.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("schema version 999, newer than this coopnocd knows"),
        "{stderr}"
    );
}
