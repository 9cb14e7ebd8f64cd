//! `coopnoc line show` benchmark (not a test): run on purpose, in release.
//!
//!     cargo build --release -p coopnocd -p coopnoc --example line_show_bench
//!     target/release/examples/line_show_bench [--lines 10000] [--days 30] [--runs 40]
//!
//! Builds a store of `--lines` lines (each with a member) and `--days` days of history: per
//! line two optical levels by the hour (`line_level`), daily usage rows, and about one state
//! change every three days (events). Starts the real `coopnocd` on it, then times the real
//! `coopnoc line show` (a process per run: start, connect, request, answer, print), text and
//! --json, on lines picked across the table, and prints the daemon's memory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use coopnoc_proto::{LineKind, MatchKind, NewLine, NewMember, ReportPreference};
use coopnocd::store::levels::{DayLevels, Metric};
use coopnocd::store::{LineImportRow, MemberImportRow, Store, WriteOp};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bin(name: &str) -> PathBuf {
    // target/release/examples/line_show_bench -> target/release/NAME
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join(name)
}

async fn populate(store: &Store, lines: usize, days: i64) {
    let members = (0..lines)
        .map(|i| MemberImportRow {
            member: NewMember {
                reference: format!("M-{i:05}"),
                display_name: format!("Foyer {i}"),
                email: None,
                language: "fr".into(),
                reports: ReportPreference::None,
            },
        })
        .collect();
    store
        .write(WriteOp::ImportMembers {
            rows: members,
            file_name: "bench".into(),
        })
        .await
        .expect("members");
    let rows = (0..lines)
        .map(|i| LineImportRow {
            line: NewLine {
                reference: format!("L-{i:05}"),
                kind: LineKind::Fibre,
                device: None,
                match_kind: MatchKind::Serial,
                match_key: format!("BENC{i:08X}"),
                member: Some(format!("M-{i:05}")),
                description: None,
            },
            csv_line: i as u64 + 2,
        })
        .collect();
    store
        .write(WriteOp::ImportLines {
            rows,
            file_name: "bench".into(),
        })
        .await
        .expect("lines");

    // History straight into SQLite, in one transaction per day.
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(store.path())
        .connect()
        .await
        .expect("connect");
    let ids: Vec<(i64, i64)> = sqlx::query_as("SELECT id, member_id FROM line ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .expect("ids");
    let now = coopnocd::store::now();
    let today = now.div_euclid(86400);
    for day in today - days + 1..=today {
        let mut tx = sqlx::Connection::begin(&mut conn).await.expect("begin");
        for &(id, member) in &ids {
            for (metric, base) in [(Metric::Rx, -19.0), (Metric::OltRx, -23.0)] {
                let mut d = DayLevels::new(metric, day);
                let hours = if day == today {
                    now.rem_euclid(86400) / 3600 + 1
                } else {
                    24
                };
                for h in 0..hours {
                    let wobble = ((id * 31 + day * 7 + h * 13) % 200) as f64 / 100.0;
                    d.record(day * 86400 + h * 3600, base - wobble);
                    d.record(day * 86400 + h * 3600 + 1800, base + wobble / 2.0);
                }
                sqlx::query(
                    "INSERT INTO line_level (line_id, metric, day, hours) VALUES (?, ?, ?, ?)",
                )
                .bind(id)
                .bind(metric.code())
                .bind(day)
                .bind(d.to_blob())
                .execute(&mut *tx)
                .await
                .expect("level");
            }
            let date =
                coopnocd::model::usage::rollup::local_date(day * 86400, &jiff::tz::TimeZone::UTC)
                    .to_string();
            sqlx::query(
                "INSERT INTO usage_daily (line_id, day, member_id, day_start, period_s, down_bytes, up_bytes, down_peak_bytes,
                 up_peak_bytes, down_covered_ms, up_covered_ms) VALUES (?, ?, ?, ?, 86400, ?, ?, ?, ?, 86400000, 86400000)",
            )
            .bind(id)
            .bind(date)
            .bind(member)
            .bind(day * 86400)
            .bind(3_000_000_000i64 + id)
            .bind(400_000_000i64 + id)
            .bind(1_000_000_000i64)
            .bind(100_000_000i64)
            .execute(&mut *tx)
            .await
            .expect("usage");
            if (id + day) % 3 == 0 {
                let reference = format!("L-{:05}", id - 1);
                for (k, (old, new)) in [("up", "down"), ("down", "up")].into_iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO event (at, subject_kind, subject, old_state, new_state, reason, detail)
                         VALUES (?, 'line', ?, ?, ?, 'LOS', '{\"rx_dbm\":null}')",
                    )
                    .bind(day * 86400 + 3600 * (id % 20) + k as i64 * 600)
                    .bind(&reference)
                    .bind(old)
                    .bind(new)
                    .execute(&mut *tx)
                    .await
                    .expect("event");
                }
            }
        }
        tx.commit().await.expect("commit");
    }
    let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await;
}

fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let lines = arg("--lines", 10_000);
    let days = arg("--days", 30) as i64;
    let runs = arg("--runs", 40);
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    let db = state.join("coopnoc.db");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    rt.block_on(async {
        let (store, writer) = Store::open(&db).await.expect("store");
        populate(&store, lines, days).await;
        store.close().await;
        writer.finish().await;
    });
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "store: {lines} lines, {days} days of history, {:.1} MiB, built in {:.1} s",
        size as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );

    let config = dir.path().join("coopnoc.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-directory = \"{}\"\n\n[ctl]\nsocket = \"{}/ctl.sock\"\n\n[reports]\nenabled = false\n",
            state.display(),
            state.display()
        ),
    )
    .expect("config");
    let daemon = Daemon(
        Command::new(bin("coopnocd"))
            .args([
                "--config",
                &config.display().to_string(),
                "--log-level",
                "warn",
            ])
            .stdin(Stdio::null())
            .spawn()
            .expect("start coopnocd (build it in release first)"),
    );
    let socket = state.join("ctl.sock");
    let cli = |args: &[&str]| -> (Duration, String) {
        let t = Instant::now();
        let out = Command::new(bin("coopnoc"))
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .output()
            .expect("run coopnoc");
        let took = t.elapsed();
        assert!(
            out.status.success(),
            "coopnoc {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (took, String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let waiting = Instant::now();
    while Command::new(bin("coopnoc"))
        .arg("--socket")
        .arg(&socket)
        .arg("status")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
            "the daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let (rss_idle, hwm_idle) = rss(daemon.0.id());
    println!(
        "coopnocd started on it: VmRSS {:.1} MiB, VmHWM {:.1} MiB",
        rss_idle as f64 / 1024.0,
        hwm_idle as f64 / 1024.0
    );
    // The first request loads the line book: timed apart.
    let (first, _) = cli(&["line", "show", "L-00000"]);
    let mut text = Vec::new();
    let mut json = Vec::new();
    let mut sample = String::new();
    for i in 0..runs {
        let line = format!("L-{:05}", (i * 7919) % lines);
        let (t, out) = cli(&["line", "show", &line]);
        text.push(t.as_secs_f64() * 1000.0);
        if i == 1 {
            sample = out;
        }
        let (t, _) = cli(&["line", "show", &line, "--json"]);
        json.push(t.as_secs_f64() * 1000.0);
    }
    let (by_member, _) = cli(&["line", "show", &format!("M-{:05}", lines / 2)]);
    let (rss, hwm) = rss(daemon.0.id());
    println!(
        "coopnoc line show, {runs} lines across the table (whole process: start, request, answer, print):"
    );
    println!(
        "  first request (loads the line book): {:.1} ms",
        first.as_secs_f64() * 1000.0
    );
    println!(
        "  text:   median {:.1} ms, p95 {:.1} ms",
        percentile(&mut text, 0.5),
        percentile(&mut text, 0.95)
    );
    println!(
        "  --json: median {:.1} ms, p95 {:.1} ms",
        percentile(&mut json, 0.5),
        percentile(&mut json, 0.95)
    );
    println!(
        "  by member reference: {:.1} ms",
        by_member.as_secs_f64() * 1000.0
    );
    println!(
        "coopnocd with {lines} lines: VmRSS {:.1} MiB, VmHWM {:.1} MiB",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!("\none answer:\n{sample}");
}

/// The daemon, stopped (SIGTERM) when the bench ends, also on a panic.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}
