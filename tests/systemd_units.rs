//! The systemd files in `systemd/`, checked by systemd's own tools: the unit verifies clean,
//! its security exposure stays at 2.0 or better, and the sysusers/tmpfiles files create the
//! user and directories the unit expects. Needs the Debian package `systemd` (CI installs it):
//! without it the tests fail in CI and are skipped, saying so, elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The highest exposure level we accept (systemd-analyze security: 0 best, 10 worst).
const MAX_EXPOSURE: f64 = 2.0;

fn systemd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../systemd")
}

fn have(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("{tool} is missing: install the Debian package `systemd`");
        }
        eprintln!("SKIPPED: {tool} is missing (Debian package `systemd`)");
    }
    found
}

/// The unit as installed, but starting the coopnocd just built (verify checks that the
/// command exists and is executable).
fn unit_for_test(dir: &Path) -> PathBuf {
    let unit = std::fs::read_to_string(systemd_dir().join("coopnocd.service"))
        .expect("read systemd/coopnocd.service");
    assert!(
        unit.contains("ExecStart=/usr/bin/coopnocd "),
        "the unit starts /usr/bin/coopnocd, where the package puts it"
    );
    let path = dir.join("coopnocd.service");
    std::fs::write(
        &path,
        unit.replace("/usr/bin/coopnocd", env!("CARGO_BIN_EXE_coopnocd")),
    )
    .expect("write the unit");
    path
}

#[test]
fn unit_verifies_clean() {
    if !have("systemd-analyze") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = unit_for_test(dir.path());
    // --man=no: the man pages are installed by the package, not on the build machine.
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .expect("run systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{stderr}"
    );
    // Unknown or misspelt directives are only warnings for verify: we want none.
    assert!(
        stderr.trim().is_empty(),
        "systemd-analyze verify complained:\n{stderr}"
    );
}

#[test]
fn unit_exposure_is_at_most_two() {
    if !have("systemd-analyze") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = unit_for_test(dir.path());
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("run systemd-analyze security");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stdout
        .lines()
        .chain(stderr.lines())
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| {
            panic!("no exposure level in systemd-analyze security's output:\n{stdout}\n{stderr}")
        });
    let level: f64 = line
        .split(':')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the level in {line:?}"));
    eprintln!("{}", line.trim());
    assert!(
        level <= MAX_EXPOSURE,
        "exposure level {level} is above {MAX_EXPOSURE}:\n{stdout}"
    );
    // The hardening must leave the daemon what it needs: netlink for the uplinks, the network
    // for polling, a Unix socket for the CLI.
    let unit_text = std::fs::read_to_string(&unit).expect("read the unit");
    assert!(
        unit_text.contains("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK"),
        "the unit must allow AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK"
    );
    assert!(
        !unit_text.contains("PrivateNetwork=yes") && !unit_text.contains("IPAddressDeny="),
        "coopnocd polls the network"
    );
    // In a private user namespace every other user's uid reads as "nobody" on the control
    // socket, and no role could be told.
    assert!(
        !unit_text.contains("PrivateUsers=yes"),
        "roles come from the peer's uid: no PrivateUsers="
    );
}

#[test]
fn sysusers_and_tmpfiles_make_the_user_and_directories() {
    if !have("systemd-sysusers") || !have("systemd-tmpfiles") {
        return;
    }
    let root = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(root.path().join("etc")).expect("mkdir etc");
    let run = |tool: &str, args: &[&str], file: &str| {
        let out = Command::new(tool)
            .arg(format!("--root={}", root.path().display()))
            .args(args)
            .arg(systemd_dir().join(file))
            .output()
            .expect("run the tool");
        assert!(
            out.status.success(),
            "{tool} {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run("systemd-sysusers", &[], "coopnoc.sysusers");
    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).expect("read passwd");
    let entry = passwd
        .lines()
        .find(|l| l.starts_with("coopnoc:"))
        .expect("a coopnoc user");
    let fields: Vec<&str> = entry.split(':').collect();
    let uid: u32 = fields[2].parse().expect("uid");
    assert!(uid < 1000, "coopnoc is a system user, got uid {uid}");
    assert_eq!(fields[5], "/var/lib/coopnoc");

    let group = std::fs::read_to_string(root.path().join("etc/group")).expect("read group");
    let gid: u32 = group
        .lines()
        .find(|l| l.starts_with("coopnoc:"))
        .and_then(|l| l.split(':').nth(2))
        .and_then(|g| g.parse().ok())
        .expect("a coopnoc group");

    // The CLI's groups, apart from the daemon's (which reads the secrets and the database).
    for role_group in ["coopnoc-tech", "coopnoc-admin"] {
        let line = group
            .lines()
            .find(|l| l.starts_with(&format!("{role_group}:")))
            .unwrap_or_else(|| panic!("a {role_group} group"));
        assert!(
            line.ends_with(':'),
            "nobody is in {role_group} at first: {line}"
        );
    }

    run("systemd-tmpfiles", &["--create"], "coopnoc.tmpfiles");
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // /run/coopnoc holds only the control socket, which every user may reach: the daemon
    // decides from the connecting user's groups what they may do.
    for (dir, owned_by_coopnoc, mode) in [
        ("etc/coopnoc", false, 0o750),
        ("var/lib/coopnoc", true, 0o750),
        ("run/coopnoc", true, 0o755),
    ] {
        let meta =
            std::fs::metadata(root.path().join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert_eq!(meta.permissions().mode() & 0o7777, mode, "{dir} mode");
        assert_eq!(meta.gid(), gid, "{dir} belongs to group coopnoc");
        assert_eq!(meta.uid() == uid, owned_by_coopnoc, "{dir} owner");
    }
}
