//! `coopnoc usage`, `coopnoc member export` and `coopnoc member erase` against a daemon run
//! in-process, checked in the SQLite file itself.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{sqlite_count, wait_for};
use coopnocd::collect::observe::Counter;
use coopnocd::model::usage::{CounterSample, Direction};

const CLI: &str = env!("CARGO_BIN_EXE_coopnoc");
/// The daemon's `time-zone` and `evening-peak`, for the roll-ups the tests run themselves.
const TZ: &str = "Europe/Paris";
const PEAK: (u16, u16) = (19 * 60, 23 * 60);

struct Daemon {
    // Declared first: the daemon stops before its temporary folder goes.
    _daemon: common::DaemonThread,
    dir: tempfile::TempDir,
}

impl Daemon {
    fn start() -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!(
            "[daemon]\nstate-directory = \"{}\"\nshutdown-timeout = \"5s\"\ntime-zone = \"Europe/Paris\"\n\n\
             [ctl]\nsocket = \"{}\"\n\n[reports]\nenabled = false\nevening-peak = \"19:00-23:00\"\n",
            dir.path().join("state").display(),
            dir.path().join("ctl.sock").display()
        );
        std::fs::write(dir.path().join("coopnoc.toml"), text).expect("config");
        let config = coopnocd::config::load(&dir.path().join("coopnoc.toml")).expect("config");
        let d = Daemon {
            _daemon: common::DaemonThread::start(config),
            dir,
        };
        wait_for("the control socket", Duration::from_secs(20), || {
            d.cli(&["status"]).status.success()
        });
        d
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("ctl.sock")
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("state").join("coopnoc.db")
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new(CLI)
            .arg("--socket")
            .arg(self.socket())
            .args(args)
            .env_remove("COOPNOC_SOCKET")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
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

    fn line_id(&self, reference: &str) -> i64 {
        sqlite_count(
            &self.db(),
            &format!("SELECT id FROM line WHERE ref = '{reference}'"),
        )
    }
}

fn ts(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().expect("timestamp").as_second()
}

/// Every 5 minutes over [from, to), constant rates in bytes per second.
fn steady(line: i64, from: i64, to: i64, down: u64, up: u64, per_line: bool) -> Vec<CounterSample> {
    let mut out = Vec::new();
    let mut t = from;
    while t <= to {
        for (direction, rate) in [(Direction::Download, down), (Direction::Upload, up)] {
            out.push(CounterSample {
                line,
                direction,
                counter: Counter::C64(rate * (t - from) as u64),
                at: jiff::Timestamp::from_second(t).expect("time"),
                device_uptime_ticks: None,
                discontinuity: None,
                link_speed_bps: Some(1_000_000_000),
                per_line,
            });
        }
        t += 300;
    }
    out
}

/// Where a text occurs anywhere in the database, table by table, column by column.
fn occurrences(db: &Path, needle: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(db).read_only(true).connect().await.expect("open");
        let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut conn)
            .await
            .expect("tables");
        let mut found = Vec::new();
        for t in tables {
            let cols: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT name FROM pragma_table_info('{t}')")))
                .fetch_all(&mut conn)
                .await
                .expect("columns");
            for c in cols {
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM \"{t}\" WHERE instr(lower(CAST(\"{c}\" AS TEXT)), lower(?)) > 0"
                )))
                .bind(needle)
                .fetch_one(&mut conn)
                .await
                .expect("search");
                if n > 0 {
                    found.push(format!("{t}.{c} ({n})"));
                }
            }
        }
        found
    })
}

fn raw_contains(path: &Path, needle: &str) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn usage_in_gb_with_completeness_peak_share_and_per_pon_lines() {
    let d = Daemon::start();
    d.ok(&[
        "member",
        "add",
        "--ref",
        "M-1",
        "--name",
        "Alice",
        "--no-reports",
    ]);
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
        "ALCL00000001",
        "--member",
        "M-1",
    ]);
    d.ok(&[
        "line",
        "add",
        "--ref",
        "L-PON",
        "--kind",
        "fibre",
        "--match",
        "serial",
        "--key",
        "HWTC00000002",
        "--member",
        "M-1",
    ]);
    // Two local days of March 2026 (Paris, UTC+1): 150 kB/s down, 15 kB/s up.
    let (from, to) = (ts("2026-03-09T23:00:00Z"), ts("2026-03-11T23:00:00Z"));
    common::ingest(
        &d.db(),
        &steady(d.line_id("L-1"), from, to, 150_000, 15_000, true),
    );
    common::ingest(
        &d.db(),
        &steady(d.line_id("L-PON"), from, to, 999, 999, false),
    );
    common::rollup(&d.db(), TZ, PEAK, "2026-03-09", "2026-03-12");

    let seconds = (to - from) as u64;
    let r = d.json(&["usage", "L-1", "--month", "2026-03"]);
    assert_eq!(r["download_bytes"], 150_000 * seconds);
    assert_eq!(r["upload_bytes"], 15_000 * seconds);
    assert_eq!(r["peak_bytes"], 2 * 4 * 3600 * 165_000u64);
    // Data from the 10th to the 11th: the rest of March (a 23-hour day included) is a gap.
    assert_eq!(r["estimated"], true, "{r}");
    let expected = (ts("2026-03-31T22:00:00Z") - from) as f64;
    assert!(
        (r["completeness"].as_f64().expect("completeness") - seconds as f64 / expected).abs()
            < 1e-9,
        "{r}"
    );

    // 25.92 GB down in 2 days; 4 h of 24 at the evening peak = 16.7 %.
    let text = d.ok(&["usage", "M-1", "--month", "2026-03", "--daily"]);
    assert!(
        text.contains("download      25.9 GB  (25,920,000,000 bytes)"),
        "{text}"
    );
    assert!(
        text.contains("evening peak 19:00-23:00: 16.7 % of the total"),
        "{text}"
    );
    assert!(
        text.contains("L-PON: not measured per line on this device"),
        "{text}"
    );
    assert!(
        text.contains("2026-03-10") && text.contains("2026-03-11") && text.contains("100.0 %"),
        "{text}"
    );
    assert!(
        text.contains("estimated: data covers 9.1 % of the month so far"),
        "{text}"
    );
    assert!(text.contains("GB = 10^9 bytes"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");

    let pon = d.ok(&["usage", "L-PON", "--month", "2026-03"]);
    assert!(
        pon.contains("not measured per line on this device") && !pon.contains("GB"),
        "{pon}"
    );

    // A month without data is plainly estimated, not "0 GB, complete".
    let april = d.json(&["usage", "L-1", "--month", "2026-04"]);
    assert_eq!(april["total_bytes"], 0);
    assert_eq!(april["estimated"], true);

    let out = d.cli(&["usage", "L-1", "--month", "2026-13"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a month"));
}

#[test]
fn export_then_erase_leaves_nothing_of_the_member() {
    let d = Daemon::start();
    let (reference, name, email) = (
        "M-7731",
        "Zoé Quintessa-Erasmus",
        "zoe.quintessa@example.org",
    );
    d.ok(&[
        "member", "add", "--ref", reference, "--name", name, "--email", email,
    ]);
    d.ok(&[
        "member",
        "add",
        "--ref",
        "M-2",
        "--name",
        "Keeper",
        "--no-reports",
    ]);
    for (l, key) in [
        ("L-E1", "ALCL0000E001"),
        ("L-E2", "ALCL0000E002"),
        ("L-K1", "ALCL0000K001"),
    ] {
        d.ok(&[
            "line", "add", "--ref", l, "--kind", "fibre", "--match", "serial", "--key", key,
        ]);
    }
    d.ok(&["line", "assign", "L-E1", reference]);
    d.ok(&["line", "assign", "L-E2", reference]);
    d.ok(&["line", "assign", "L-K1", "M-2"]);
    let now = coopnocd::store::now() / 300 * 300;
    let from = now - 2 * 86_400;
    for l in ["L-E1", "L-E2", "L-K1"] {
        common::ingest(
            &d.db(),
            &steady(d.line_id(l), from, now, 20_000, 2_000, true),
        );
    }
    let tz = jiff::tz::TimeZone::get(TZ).expect("tz");
    let first = coopnocd::model::usage::rollup::local_date(from, &tz).to_string();
    let last = coopnocd::model::usage::rollup::local_date(now, &tz).to_string();
    common::rollup(&d.db(), TZ, PEAK, &first, &last);
    let db = d.db();
    let coop_before = (
        sqlite_count(&db, "SELECT COUNT(*) FROM usage_coop_daily"),
        sqlite_count(
            &db,
            "SELECT SUM(down_bytes + up_bytes) FROM usage_coop_daily",
        ),
    );
    assert!(coop_before.0 >= 2);

    // The export holds everything: the member, their lines, their usage, the audit trail.
    let export: serde_json::Value =
        serde_json::from_str(&d.ok(&["member", "export", reference])).expect("json");
    assert_eq!(export["member"]["display_name"], name);
    assert_eq!(export["member"]["email"], email);
    assert_eq!(export["lines"].as_array().map(Vec::len), Some(2));
    for part in ["monthly", "daily", "fine_hours", "last_counter_samples"] {
        assert!(
            !export["usage"][part].as_array().expect(part).is_empty(),
            "{part} is empty"
        );
    }
    assert!(
        export["audit_entries_about_them"]
            .as_array()
            .expect("audit")
            .len()
            >= 3
    );
    let exported_bytes: i64 = export["usage"]["daily"]
        .as_array()
        .expect("daily")
        .iter()
        .map(|r| r["down_bytes"].as_i64().unwrap_or(0) + r["up_bytes"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(exported_bytes, 2 * (now - from) * 22_000);

    // No confirmation, no erasure.
    let out = d.cli(&["member", "erase", reference]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a confirmation"));
    assert_eq!(
        sqlite_count(
            &db,
            &format!("SELECT COUNT(*) FROM member WHERE ref = '{reference}'")
        ),
        1
    );

    let sum = d.json(&["member", "erase", reference, "--yes"]);
    assert_eq!(sum["lines_detached"], 2);

    // Nothing of the member remains: no table, no column holds their reference, name or email,
    for needle in [reference, name, email, "Quintessa"] {
        assert_eq!(
            occurrences(&db, needle),
            Vec::<String>::new(),
            "{needle} is still in the database"
        );
    }
    // and not in the file's bytes either (free pages are zeroed, the log is emptied).
    for file in [db.clone(), PathBuf::from(format!("{}-wal", db.display()))] {
        for needle in [reference, email, "Quintessa"] {
            assert!(
                !raw_contains(&file, needle),
                "{needle} is still in the bytes of {}",
                file.display()
            );
        }
    }
    let (e1, e2) = (d.line_id("L-E1"), d.line_id("L-E2"));
    for table in ["usage_fine", "usage_daily", "usage_counter"] {
        assert_eq!(
            sqlite_count(
                &db,
                &format!("SELECT COUNT(*) FROM {table} WHERE line_id IN ({e1}, {e2})")
            ),
            0,
            "{table}"
        );
    }
    // The lines stay, as infrastructure, detached.
    assert_eq!(
        sqlite_count(
            &db,
            "SELECT COUNT(*) FROM line WHERE ref IN ('L-E1', 'L-E2') AND member_id IS NULL"
        ),
        2
    );
    // The other member's usage and the anonymous aggregates stay.
    assert!(
        sqlite_count(
            &db,
            "SELECT COUNT(*) FROM usage_monthly m JOIN member p ON p.id = m.member_id WHERE p.ref = 'M-2'"
        ) > 0
    );
    assert!(
        sqlite_count(
            &db,
            &format!(
                "SELECT COUNT(*) FROM usage_daily WHERE line_id = {}",
                d.line_id("L-K1")
            )
        ) > 0
    );
    assert_eq!(
        (
            sqlite_count(&db, "SELECT COUNT(*) FROM usage_coop_daily"),
            sqlite_count(
                &db,
                "SELECT SUM(down_bytes + up_bytes) FROM usage_coop_daily"
            ),
        ),
        coop_before
    );
    // The act is logged, without whom.
    assert_eq!(
        sqlite_count(
            &db,
            "SELECT COUNT(*) FROM audit WHERE action = 'member-erase'"
        ),
        1
    );
    let out = d.cli(&["member", "export", reference]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_membership_end_is_recorded_and_starts_the_monthly_retention() {
    let d = Daemon::start();
    d.ok(&[
        "member",
        "add",
        "--ref",
        "M-9",
        "--name",
        "Partant",
        "--no-reports",
    ]);
    let shown = d.json(&["member", "leave", "M-9", "--on", "2020-01-31"]);
    // Midnight in the cooperative's zone (Europe/Paris, UTC+1 in winter).
    assert_eq!(shown["left_at"], "2020-01-30T23:00:00Z");
    assert!(
        d.ok(&["member", "show", "M-9"])
            .contains("left      2020-01-30T23:00:00Z")
    );
    let db = d.db();
    assert_eq!(
        sqlite_count(
            &db,
            "SELECT COUNT(*) FROM member WHERE ref = 'M-9' AND left_at = 1580425200"
        ),
        1
    );
    assert_eq!(
        sqlite_count(
            &db,
            "SELECT COUNT(*) FROM audit WHERE action = 'member-leave' AND object = 'M-9'"
        ),
        1
    );
    // A bad date is refused with what was expected; an unknown member is named.
    let out = d.cli(&["member", "leave", "M-9", "--on", "31/01/2020"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("YYYY-MM-DD"));
    let out = d.cli(&["member", "leave", "M-404"]);
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no member M-404")
    );
    // Undone: the membership goes on.
    assert!(d.json(&["member", "leave", "M-9", "--undo"])["left_at"].is_null());
}
