//! Text from devices and members that would take over a terminal (issue 10): a switch whose
//! sysDescr, sysName and ifAlias carry `ESC]0;owned BEL ESC[2J` (a recording made here,
//! served by a simulated SNMP agent), a member and a line named the same way. Every text
//! output of `coopnoc` shows the sequences escaped, never raw; `--json` escapes them as JSON.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use coopnoc_sim::{DeviceSpec, SimKind, SimNetwork, Source};

/// What a hostile device or member writes: retitle the terminal, then clear it.
const HOSTILE: &str = "\u{1b}]0;owned\u{7}\u{1b}[2J";
/// How `coopnoc` shows it.
const SHOWN: &str = "\\x1b]0;owned\\x07\\x1b[2J";

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// A two-port switch: port 1 up, port 2 down, hostile system strings and aliases.
fn recording() -> String {
    let mut rec = vec![
        format!(
            "1.3.6.1.2.1.1.1.0|4x|{}",
            hex(&format!("Switch OS 1.0 {HOSTILE}"))
        ),
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10".to_string(),
        "1.3.6.1.2.1.1.3.0|67|123456".to_string(),
        format!("1.3.6.1.2.1.1.5.0|4x|{}", hex(&format!("sw{HOSTILE}"))),
        "1.3.6.1.2.1.2.1.0|2|2".to_string(),
    ];
    let aliases = [format!("L-UP {HOSTILE}"), format!("{HOSTILE} L-DOWN")];
    let columns: [(&str, &dyn Fn(usize) -> String); 9] = [
        ("1.3.6.1.2.1.2.2.1.1", &|i| format!("2|{i}")),
        ("1.3.6.1.2.1.2.2.1.2", &|i| format!("4|ge-0/0/{i}")),
        ("1.3.6.1.2.1.2.2.1.3", &|_| "2|6".into()),
        ("1.3.6.1.2.1.2.2.1.5", &|_| "66|1000000000".into()),
        ("1.3.6.1.2.1.2.2.1.7", &|_| "2|1".into()),
        ("1.3.6.1.2.1.2.2.1.8", &|i| format!("2|{i}")),
        ("1.3.6.1.2.1.2.2.1.10", &|i| format!("65|{}", 1000 * i)),
        ("1.3.6.1.2.1.2.2.1.16", &|i| format!("65|{}", 2000 * i)),
        ("1.3.6.1.2.1.31.1.1.1.1", &|i| format!("4|ge-0/0/{i}")),
    ];
    for (column, value) in columns {
        for i in 1..=2 {
            rec.push(format!("{column}.{i}|{}", value(i)));
        }
    }
    for (column, value) in [
        ("1.3.6.1.2.1.31.1.1.1.6", "70|5000"),
        ("1.3.6.1.2.1.31.1.1.1.10", "70|7000"),
        ("1.3.6.1.2.1.31.1.1.1.15", "66|1000"),
    ] {
        for i in 1..=2 {
            rec.push(format!("{column}.{i}|{value}"));
        }
    }
    for (i, alias) in aliases.iter().enumerate() {
        rec.push(format!(
            "1.3.6.1.2.1.31.1.1.1.18.{}|4x|{}",
            i + 1,
            hex(alias)
        ));
    }
    rec.join("\n") + "\n"
}

fn coopnoc(socket: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_coopnoc"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("COOPNOC_SOCKET")
        .stdin(Stdio::null())
        .output()
        .expect("run coopnoc");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// No terminal control reaches the terminal: no ESC, BEL, other C0 but newline, DEL or C1.
fn harmless(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| (c.is_control() && c != '\n') || ('\u{80}'..='\u{9f}').contains(&c))
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: raw control characters {bad:?} in:\n{text}"
    );
}

#[test]
fn escape_sequences_from_devices_and_members_are_shown_escaped_everywhere() {
    let rec = coopnoc_sim::snmprec::parse(&recording());
    assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
    let table = coopnoc_sim::table::MibTable::from_recording(&rec.entries);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut spec = DeviceSpec::recording("sw-hostile", SimKind::Switch, "unused");
    spec.source = Source::Table {
        description: "a switch with hostile strings".into(),
        table: Arc::new(table),
    };
    let net = rt
        .block_on(SimNetwork::start(vec![spec]))
        .expect("simulated switch");
    let addr = net.devices()[0].addr;

    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        r#"
[daemon]
state-directory = "{state}"
shutdown-timeout = "5s"
[ctl]
socket = "{state}/ctl.sock"
[reports]
enabled = false
[lines]
hysteresis = 1
[[device]]
name = "sw-hostile"
kind = "switch"
address = "{addr}"
snmp = {{ version = "2c", community = "public" }}
poll = {{ timeout = "1s", retries = 1 }}
"#,
        state = dir.path().join("state").display(),
    );
    let config = coopnocd::config::parse(&text, dir.path()).unwrap_or_else(|p| panic!("{p:?}"));
    let socket = config.ctl.socket.clone();
    let daemon = common::DaemonThread::start(config);
    common::wait_for("the daemon", Duration::from_secs(20), || {
        coopnoc(&socket, &["status"]).0 == 0
    });
    let ok = |args: &[&str]| {
        let (code, out, err) = coopnoc(&socket, args);
        assert_eq!(code, 0, "coopnoc {args:?}: {out}{err}");
        harmless(&format!("coopnoc {args:?} (stderr)"), &err);
        harmless(&format!("coopnoc {args:?}"), &out);
        out
    };

    // A member and lines described by hand with the same sequences, on the two ports.
    let name = format!("Mallory {HOSTILE}");
    let note = format!("cabinet 3 {HOSTILE}");
    ok(&[
        "member",
        "add",
        "--ref",
        "M-1",
        "--name",
        &name,
        "--no-reports",
    ]);
    for (reference, port) in [("L-UP", "ge-0/0/1"), ("L-DOWN", "ge-0/0/2")] {
        ok(&[
            "line",
            "add",
            "--ref",
            reference,
            "--kind",
            "port",
            "--match",
            "ifname",
            "--key",
            port,
            "--device",
            "sw-hostile",
            "--member",
            "M-1",
            "--description",
            &note,
        ]);
    }

    // The device: poll, show, list.
    let polled = ok(&["poll", "sw-hostile"]);
    assert!(
        polled.contains(&format!("Switch OS 1.0 {SHOWN}")),
        "{polled}"
    );
    assert!(polled.contains(&format!("sw{SHOWN}")), "{polled}");
    // The alias column is narrow: its start is enough to see it is escaped.
    assert!(polled.contains("\\x1b]0;"), "{polled}");
    let shown = ok(&["device", "show", "sw-hostile"]);
    assert!(shown.contains(&format!("sw{SHOWN}")), "{shown}");
    ok(&["device", "list"]);
    ok(&["poll", "sw-hostile"]);
    let seen = |reference: &str, state: &str| {
        let (_, out, _) = coopnoc(&socket, &["--json", "line", "show", reference]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        v["line"]["state"] == state
    };
    let started = std::time::Instant::now();
    while !(seen("L-UP", "up") && seen("L-DOWN", "down")) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the lines were not found on their ports:\n{}\n{}",
            coopnoc(&socket, &["line", "show", "L-UP"]).1,
            coopnoc(&socket, &["line", "show", "L-DOWN"]).1
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The lines and the member, in every text output.
    let line = ok(&["line", "show", "L-UP"]);
    for wanted in [&name, &note] {
        let escaped = wanted.replace(HOSTILE, SHOWN);
        assert!(line.contains(&escaped), "{escaped} not in:\n{line}");
    }
    ok(&["line", "list"]);
    let problems = ok(&["lines"]);
    assert!(problems.contains("L-DOWN"), "{problems}");
    ok(&["lines", "--unassigned"]);
    ok(&["events"]);
    ok(&["events", "--line", "L-DOWN"]);
    let member = ok(&["member", "show", "M-1"]);
    assert!(member.contains(&name.replace(HOSTILE, SHOWN)), "{member}");
    let members = ok(&["member", "list"]);
    assert!(members.contains("Mallory \\x1b"), "{members}");
    ok(&["usage", "M-1"]);
    ok(&["usage", "L-UP"]);
    let (_, out, err) = coopnoc(&socket, &["line", "watch", "L-UP", "--count", "1"]);
    harmless("line watch", &out);
    harmless("line watch (stderr)", &err);

    // Error messages that quote what they were given, and an import's row errors.
    let (code, out, err) = coopnoc(&socket, &["line", "show", HOSTILE]);
    assert_eq!(code, 1, "{out}{err}");
    harmless("an error quoting its input", &err);
    assert!(err.contains(SHOWN), "{err}");
    let csv = dir.path().join("members.csv");
    std::fs::write(
        &csv,
        format!("ref,name,email,language,reports\nM-2,Bob,bob{HOSTILE}@example.org,fr,email\n"),
    )
    .expect("csv");
    let (code, out, err) = coopnoc(
        &socket,
        &["import", csv.to_str().expect("path"), "--kind", "members"],
    );
    assert_eq!(code, 1, "{out}{err}");
    harmless("import errors", &err);
    assert!(err.contains(SHOWN), "{err}");

    // --json: the same text, escaped as JSON escapes it.
    let (code, json, _) = coopnoc(&socket, &["--json", "device", "show", "sw-hostile"]);
    assert_eq!(code, 0);
    harmless("device show --json", &json);
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(
        v["sys_name"],
        format!("sw{HOSTILE}"),
        "the data itself is exact"
    );
    let (code, export, _) = coopnoc(&socket, &["member", "export", "M-1"]);
    assert_eq!(code, 0);
    harmless("member export", &export);
    let v: serde_json::Value = serde_json::from_str(&export).expect("JSON");
    assert_eq!(v["member"]["display_name"], name, "the export is exact");

    daemon.stop(Duration::from_secs(15));
    rt.block_on(net.shutdown());
}
