//! Config: every shipped file validates; mistakes are reported with their place, all at once,
//! by the daemon's own loader, through the daemon binary and through `coopnoc validate`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config")
}

#[test]
fn every_file_in_config_validates() {
    let mut seen = 0;
    for entry in std::fs::read_dir(config_dir()).expect("config/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = coopnocd::check::load(&path) {
                panic!("{e}");
            }
            seen += 1;
        }
    }
    assert!(
        seen >= 2,
        "expected example.toml and minimal.toml, saw {seen} files"
    );
}

#[test]
fn a_typo_fails_with_its_field_and_line_and_exit_78() {
    let setup = common::TempSetup::new("[poll]\nstatus-intervall = \"60s\"\n");
    let out = Command::new(env!("CARGO_BIN_EXE_coopnocd"))
        .arg("--check")
        .arg("--config")
        .arg(setup.config())
        .output()
        .expect("run coopnocd");
    assert_eq!(out.status.code(), Some(78), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("status-intervall"), "{err}");
    // [poll] is on line 11 of the generated file, the typo on line 12.
    assert!(err.contains("line 12"), "{err}");
}

#[test]
fn all_problems_at_once_with_places() {
    let setup = common::TempSetup::new(
        r#"
[[site]]
name = "joigny"

[[device]]
name = "olt-1"
site = "joigny"
kind = "olt"
address = "192.0.2.1"
snmp = { version = "2c", community-file = "missing-secret" }

[[device]]
name = "olt-1"
site = "nowhere"
kind = "olt"
address = "192.0.2.2:notaport"
snmp = { version = "3", user = "u", priv-protocol = "aes128", priv-password = "12345678" }
"#,
    );
    let out = Command::new(env!("CARGO_BIN_EXE_coopnocd"))
        .args(["--check", "--config"])
        .arg(setup.config())
        .output()
        .expect("run coopnocd");
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "device[0] (line 15) \"olt-1\".snmp.community-file",
        "missing-secret",
        "device[1] (line 22) \"olt-1\".site",
        "no [[site]] is named \"nowhere\"",
        ".address",
        "privacy (priv-*) needs authentication",
        "defined twice",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
}

#[test]
fn secrets_never_reach_the_output() {
    let setup = common::TempSetup::new(
        "[[device]]\nname = \"sw\"\nkind = \"switch\"\naddress = \"192.0.2.1\"\nsnmp = { community = \"TOPSECRET-community\" }\npoll = { window = 99 }\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_coopnocd"))
        .args(["--check", "--config"])
        .arg(setup.config())
        .output()
        .expect("run coopnocd");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("window"), "{all}");
    assert!(!all.contains("TOPSECRET"), "{all}");
    let parsed = coopnocd::config::parse(
        "[reports]\nenabled = false\n[[device]]\nname = \"sw\"\nkind = \"switch\"\naddress = \"192.0.2.1\"\nsnmp = { community = \"TOPSECRET-community\" }\n",
        Path::new("."),
    )
    .expect("valid");
    assert!(!format!("{parsed:?}").contains("TOPSECRET"));
}
