//! Roles from the peer's credentials (issue 10), with real users: a technician is served a
//! technician's command and refused an administrator's, a user in neither group is refused
//! with the groups to join, and the audit log names who acted. Needs root (to create users and
//! groups; CI runs as root); skipped elsewhere, saying so.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{sqlite_count, wait_for};

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn is_root() -> bool {
    run("id", &["-u"]) == "0"
}

/// Users and groups made for the test, removed when it ends.
struct Accounts {
    users: Vec<String>,
    groups: Vec<String>,
}

impl Accounts {
    fn group(&mut self, name: &str) {
        run("groupadd", &[name]);
        self.groups.push(name.to_string());
    }

    /// A user with no home, in `groups` besides the default primary group; its uid and gid.
    fn user(&mut self, name: &str, groups: &[&str]) -> (u32, u32) {
        let mut args = vec!["-M", "-N", "-s", "/usr/sbin/nologin"];
        let joined = groups.join(",");
        if !groups.is_empty() {
            args.extend(["-G", joined.as_str()]);
        }
        args.push(name);
        run("useradd", &args);
        self.users.push(name.to_string());
        (
            run("id", &["-u", name]).parse().expect("uid"),
            run("id", &["-g", name]).parse().expect("gid"),
        )
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        for u in &self.users {
            let _ = Command::new("userdel").arg(u).output();
        }
        for g in &self.groups {
            let _ = Command::new("groupdel").arg(g).output();
        }
    }
}

struct Cli {
    bin: PathBuf,
    socket: PathBuf,
    dir: PathBuf,
}

impl Cli {
    /// `coopnoc ARGS` as `user` (uid, gid; None: as this process); exit code, stdout, stderr.
    fn run(&self, user: Option<(u32, u32)>, args: &[&str]) -> (i32, String, String) {
        let mut c = Command::new(&self.bin);
        c.arg("--socket")
            .arg(&self.socket)
            .args(args)
            .current_dir(&self.dir)
            .env_remove("COOPNOC_SOCKET")
            .env("NO_COLOR", "1");
        if let Some((uid, gid)) = user {
            // As root, std drops the supplementary groups too: the process has only `gid`.
            c.uid(uid).gid(gid);
        }
        let out = c.output().expect("run coopnoc");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn audit_rows(db: &Path, action: &str, object: &str, actor: &str, uid: u32) -> i64 {
    sqlite_count(
        db,
        &format!(
            "SELECT COUNT(*) FROM audit WHERE action = '{action}' AND object = '{object}' \
             AND actor = '{actor}' AND actor_uid = {uid}"
        ),
    )
}

#[test]
fn a_technician_reads_an_administrator_acts_and_the_audit_says_who() {
    if !is_root() {
        eprintln!("SKIPPED: creating users and groups needs root (CI runs as root)");
        return;
    }
    let tag = std::process::id();
    let (tech_group, admin_group) = (format!("cnt{tag}t"), format!("cnt{tag}a"));
    let (tech, admin, nobody) = (
        format!("cnt{tag}tech"),
        format!("cnt{tag}adm"),
        format!("cnt{tag}none"),
    );
    let mut accounts = Accounts {
        users: Vec::new(),
        groups: Vec::new(),
    };
    accounts.group(&tech_group);
    accounts.group(&admin_group);
    let tech_id = accounts.user(&tech, &[&tech_group]);
    let admin_id = accounts.user(&admin, &[&admin_group]);
    let nobody_id = accounts.user(&nobody, &[]);

    // A folder every user can enter, with the CLI in it (the build's folder may not be).
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bin = dir.path().join("coopnoc");
    std::fs::copy(env!("CARGO_BIN_EXE_coopnoc"), &bin).expect("copy coopnoc");
    let text = format!(
        "[daemon]\nstate-directory = \"{state}\"\nshutdown-timeout = \"5s\"\n\n\
         [ctl]\nsocket = \"{socket}\"\ntechnicians = [\"{tech_group}\"]\nadministrators = [\"{admin_group}\"]\n\n\
         [reports]\nenabled = false\n",
        state = dir.path().join("state").display(),
        socket = dir.path().join("ctl.sock").display(),
    );
    let config = coopnocd::config::parse(&text, dir.path()).unwrap_or_else(|p| panic!("{p:?}"));
    let db = config.database_path();
    let daemon = common::DaemonThread::start(config);
    let cli = Cli {
        bin,
        socket: dir.path().join("ctl.sock"),
        dir: dir.path().to_path_buf(),
    };
    wait_for("the daemon", Duration::from_secs(20), || {
        cli.run(None, &["status"]).0 == 0
    });
    // root is an administrator.
    let (code, _, err) = cli.run(
        None,
        &[
            "member",
            "add",
            "--ref",
            "M-1",
            "--name",
            "Alice",
            "--no-reports",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(audit_rows(&db, "member-add", "M-1", "root", 0), 1);

    // The technician reads the network...
    for args in [
        &["status"][..],
        &["lines"],
        &["device", "list"],
        &["events"],
    ] {
        let (code, out, err) = cli.run(Some(tech_id), args);
        assert_eq!(code, 0, "{tech} {args:?}: {out}{err}");
    }
    // ...and is refused what is an administrator's, told why, with exit 77.
    const ADD_M9: &[&str] = &[
        "member",
        "add",
        "--ref",
        "M-9",
        "--name",
        "Nine",
        "--no-reports",
    ];
    let (code, out, err) = cli.run(Some(tech_id), ADD_M9);
    assert_eq!(code, 77, "{out}{err}");
    assert!(
        err.contains(&format!(
            "`coopnoc member add` needs the administrator role: you (uid {}, {tech}) are a technician",
            tech_id.0
        )),
        "{err}"
    );
    assert!(err.contains(&admin_group), "names the group to join: {err}");
    assert_eq!(
        sqlite_count(&db, "SELECT COUNT(*) FROM member WHERE ref = 'M-9'"),
        0
    );
    for args in [
        &["usage", "M-1"][..],
        &["member", "show", "M-1"],
        &["member", "export", "M-1"],
        &["member", "erase", "M-1", "--yes"],
    ] {
        let (code, _, err) = cli.run(Some(tech_id), args);
        assert_eq!(code, 77, "{args:?}: {err}");
        assert!(err.contains("needs the administrator role"), "{err}");
    }

    // A user in neither group is refused before anything, with the roles and their groups.
    let (code, out, err) = cli.run(Some(nobody_id), &["status"]);
    assert_eq!(code, 77, "{out}{err}");
    assert!(
        err.contains(&format!(
            "you (uid {}, {nobody}) are neither a technician nor an administrator",
            nobody_id.0
        )),
        "{err}"
    );
    assert!(
        err.contains(&tech_group) && err.contains(&admin_group),
        "{err}"
    );
    // Joining a group takes effect at once: no restart, no new login.
    run("usermod", &["-aG", &tech_group, &nobody]);
    let (code, _, err) = cli.run(Some(nobody_id), &["status"]);
    assert_eq!(code, 0, "{err}");

    // The administrator acts; the audit log names them.
    let (code, _, err) = cli.run(Some(admin_id), ADD_M9);
    assert_eq!(code, 0, "{err}");
    assert_eq!(audit_rows(&db, "member-add", "M-9", &admin, admin_id.0), 1);
    let (code, _, err) = cli.run(Some(admin_id), &["member", "export", "M-9"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        audit_rows(&db, "member-export", "M-9", &admin, admin_id.0),
        1
    );
    assert_eq!(
        sqlite_count(&db, "SELECT COUNT(*) FROM audit WHERE actor = 'ctl'"),
        0,
        "no audit row says 'ctl' any more"
    );
    daemon.stop(Duration::from_secs(15));
}
