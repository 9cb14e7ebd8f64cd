//! `coopnoc` against a running daemon (run in-process on a temporary folder), as a technician
//! or an administrator types it.

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use common::{TempSetup, wait_for};

const CLI: &str = env!("CARGO_BIN_EXE_coopnoc");

/// A daemon running in this test process, stopped when dropped.
struct InProcess {
    // Declared first: the daemon stops before its temporary folder goes.
    _daemon: common::DaemonThread,
    setup: TempSetup,
}

impl InProcess {
    fn start(extra: &str) -> InProcess {
        let setup = TempSetup::new(extra);
        let config = coopnocd::config::load(&setup.config()).expect("config");
        let d = InProcess {
            _daemon: common::DaemonThread::start(config),
            setup,
        };
        wait_for("the control socket", Duration::from_secs(20), || {
            d.cli(&["status"]).status.success()
        });
        d
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new(CLI)
            .arg("--socket")
            .arg(self.setup.socket())
            .args(args)
            .current_dir(self.setup.dir.path())
            .env_remove("COOPNOC_SOCKET")
            .env("NO_COLOR", "1")
            .output()
            .expect("run coopnoc")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "coopnoc {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).expect("valid JSON")
    }
}

const DEVICES: &str = r#"
[[site]]
name = "joigny-nord"

[[device]]
name = "olt-nord"
site = "joigny-nord"
kind = "olt"
address = "127.0.0.1:9"
snmp = { community = "public" }
"#;

#[test]
fn status_members_and_lines_end_to_end() {
    let d = InProcess::start(DEVICES);
    let status = d.ok(&["status"]);
    assert!(status.contains("1 sites, 1 devices, 0 members"), "{status}");
    assert!(
        status.contains(&format!(
            "schema {}",
            coopnocd::store::LATEST_SCHEMA_VERSION
        )),
        "{status}"
    );
    let st = d.json(&["status"]);
    assert_eq!(st["devices"], 1);
    assert!(st["store"]["size_bytes"].as_u64().expect("size") > 0);

    d.ok(&[
        "member",
        "add",
        "--ref",
        "M-0042",
        "--name",
        "Mme Durand",
        "--email",
        "durand@example.org",
    ]);
    d.ok(&[
        "member",
        "add",
        "--ref",
        "M-0043",
        "--name",
        "M. Petit",
        "--language",
        "en",
        "--no-reports",
    ]);
    let out = d.cli(&[
        "member",
        "add",
        "--ref",
        "M-0042",
        "--name",
        "Twice",
        "--email",
        "t@example.org",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("member M-0042 already exists"));

    d.ok(&[
        "line",
        "add",
        "--ref",
        "L-1",
        "--kind",
        "fibre",
        "--match",
        "serial",
        "--key",
        "zteg0a1b2c3d",
        "--device",
        "olt-nord",
        "--member",
        "M-0042",
        "--description",
        "ONU au garage",
    ]);
    d.ok(&[
        "line",
        "add",
        "--ref",
        "L-2",
        "--kind",
        "radio",
        "--match",
        "mac",
        "--key",
        "AA-BB-CC-00-11-22",
    ]);
    let out = d.cli(&[
        "line", "add", "--ref", "L-3", "--kind", "port", "--match", "ifname", "--key", "ge-0/0/1",
        "--device", "olt-sud",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no device olt-sud"));

    // A technician finds the line by its reference, its ONU serial, or its member.
    for what in ["L-1", "ZTEG0A1B2C3D", "M-0042"] {
        let show = d.ok(&["line", "show", what]);
        assert!(show.contains("L-1  fibre  unknown"), "{show}");
        assert!(show.contains("member    M-0042  Mme Durand"), "{show}");
        assert!(
            show.contains("where     joigny-nord / olt-nord: not seen there now\n"),
            "{show}"
        );
        assert!(
            show.contains("found by  serial ZTEG0A1B2C3D on olt-nord\n"),
            "{show}"
        );
    }
    let line = d.json(&["line", "show", "aa:bb:cc:00:11:22"]);
    assert_eq!(line["line"]["reference"], "L-2");
    assert_eq!(line["line"]["member"], serde_json::Value::Null);

    let unassigned = d.ok(&["line", "list", "--unassigned"]);
    assert!(
        unassigned.contains("L-2") && !unassigned.contains("L-1 "),
        "{unassigned}"
    );
    assert!(
        d.ok(&["line", "assign", "L-2", "M-0043"])
            .contains("now belongs to member M-0043")
    );
    assert!(d.ok(&["line", "list", "--unassigned"]).contains("0 lines"));
    assert!(
        d.ok(&["line", "assign", "L-2", "--none"])
            .contains("unassigned")
    );

    let members = d.json(&["member", "list"]);
    assert_eq!(members.as_array().expect("array").len(), 2);
    let m = d.json(&["member", "show", "M-0042"]);
    assert_eq!(m["lines"], serde_json::json!(["L-1"]));
    let text = d.ok(&["member", "list"]);
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");

    let out = d.cli(&["line", "show", "nothing-like-this"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no line, ONU serial, MAC, interface or member matches")
    );
}

#[test]
fn csv_import_names_bad_rows_and_imports_nothing_of_a_bad_file() {
    let d = InProcess::start(DEVICES);
    let dir = d.setup.dir.path();
    std::fs::write(
        dir.join("members.csv"),
        "ref,name,email,language\nM-1,Alice,alice@example.org,fr\nM-2,Bob,not-an-email,fr\nM-3,Chloé,chloe@example.org,en\nM-4,Dan,dan@example.org,de\n",
    )
    .expect("write");
    let out = d.cli(&["import", "members.csv"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("members.csv: 2 problems; nothing of it was imported"),
        "{err}"
    );
    assert!(
        err.contains("line 3: \"not-an-email\" is not an email address"),
        "{err}"
    );
    assert!(err.contains("line 5: language \"de\""), "{err}");
    assert_eq!(
        common::sqlite_count(&d.setup.database(), "SELECT COUNT(*) FROM member"),
        0
    );

    std::fs::write(
        dir.join("members.csv"),
        "ref,name,email,language\nM-1,Alice,alice@example.org,fr\nM-3,Chloé,chloe@example.org,en\n",
    )
    .expect("write");
    assert!(
        d.ok(&["import", "members.csv"])
            .contains("2 rows (2 new, 0 updated)")
    );

    // A lines file whose last row names a member that does not exist: the store refuses it
    // inside the transaction, and the rows before it are not kept either.
    std::fs::write(
        dir.join("lines.csv"),
        "ref,kind,match,key,device,member\nL-1,fibre,serial,ALCL00000001,olt-nord,M-1\nL-2,fibre,serial,ALCL00000002,olt-nord,M-9\n",
    )
    .expect("write");
    let out = d.cli(&["import", "lines.csv"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3: no member M-9; nothing of lines.csv was imported"),
        "{err}"
    );
    assert_eq!(
        common::sqlite_count(&d.setup.database(), "SELECT COUNT(*) FROM line"),
        0
    );

    std::fs::write(dir.join("odd.csv"), "a,b\n1,2\n").expect("write");
    let out = d.cli(&["import", "odd.csv"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--kind members or --kind lines"));

    let sum = d.json(&["import", "members.csv"]);
    assert_eq!(sum["updated"], 2);
}

#[test]
fn without_a_daemon_the_cli_says_so_and_names_the_socket() {
    let dir = tempfile::tempdir().expect("tmp");
    let socket = dir.path().join("nobody-here.sock");
    let out = Command::new(CLI)
        .arg("--socket")
        .arg(&socket)
        .arg("status")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(69));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Is coopnocd running?"), "{err}");
    assert!(err.contains(socket.to_str().expect("utf8")), "{err}");
}

/// `coopnoc validate` runs the coopnocd installed beside it: in a cargo target directory, the
/// one `cargo test --workspace` (what CI runs) builds with the CLI.
#[test]
fn validate_uses_the_daemons_loader() {
    let daemon = std::path::Path::new(CLI).with_file_name("coopnocd");
    assert!(
        daemon.exists(),
        "{} is missing: build the daemon too (cargo test --workspace, or cargo build -p coopnocd)",
        daemon.display()
    );
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/example.toml");
    let out = Command::new(CLI)
        .arg("validate")
        .arg(&examples)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[daemon]\ntime-zone = \"Europe/Joigny\"\n").expect("write");
    let out = Command::new(CLI)
        .arg("validate")
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("daemon.time-zone") && err.contains("Europe/Joigny"),
        "{err}"
    );
}
