//! `coopnoc poll`, `coopnoc device list` and `coopnoc device show` against a daemon polling a
//! real snmpd: what a technician types over SSH.

mod common;
mod snmp_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn coopnoc(socket: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_coopnoc"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run coopnoc");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn poll_list_and_show_from_the_command_line() {
    let agent = snmp_support::start_snmpd();
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("silent socket");
    let silent_port = silent.local_addr().expect("address").port();
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        r#"
[daemon]
state-directory = "{state}"
[ctl]
socket = "{state}/ctl.sock"
[reports]
enabled = false
[[device]]
name = "switch-dc"
kind = "switch"
address = "127.0.0.1:{port}"
snmp = {{ version = "2c", community = "public" }}
[[device]]
name = "olt-silent"
kind = "olt"
address = "127.0.0.1:{silent_port}"
snmp = {{ version = "2c", community = "public" }}
poll = {{ timeout = "100ms", retries = 0, unreachable-after = 1 }}
"#,
        state = dir.path().join("state").display(),
        port = agent.port,
    );
    let config =
        coopnocd::config::parse(&text, dir.path()).unwrap_or_else(|p| panic!("config: {p:?}"));
    let socket = config.ctl.socket.clone();
    let daemon = common::DaemonThread::start(config);
    let started = Instant::now();
    while !socket.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no control socket"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let (code, out, err) = coopnoc(&socket, &["poll", "switch-dc"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("switch-dc") && out.contains("reachable"),
        "{out}"
    );
    assert!(
        out.contains("interfaces (") && out.contains(" lo "),
        "{out}"
    );
    assert!(
        !out.contains('\x1b'),
        "no colour when stdout is not a terminal: {out}"
    );

    let (code, out, err) = coopnoc(&socket, &["poll", "olt-silent"]);
    assert_eq!(
        code, 1,
        "a device that does not answer fails the poll: {out}{err}"
    );
    assert!(
        out.contains("no answer") && out.contains("unreachable"),
        "{out}"
    );

    let (code, out, _) = coopnoc(&socket, &["device", "list"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("DEVICE"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("switch-dc") && l.contains("reachable")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("olt-silent") && l.contains("unreachable")),
        "{out}"
    );
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");

    let (code, out, _) = coopnoc(&socket, &["--json", "device", "show", "switch-dc"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["summary"]["state"], "reachable");
    assert!(
        v["interfaces"].as_array().is_some_and(|a| !a.is_empty()),
        "{out}"
    );

    let (code, _, err) = coopnoc(&socket, &["device", "show", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("nope"), "{err}");

    daemon.stop(Duration::from_secs(10));
}
