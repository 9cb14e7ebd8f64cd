//! Usage accounting against real SQLite files: the cooperative's calendar across DST,
//! idempotent roll-ups, batched retention, and a roll-up killed with SIGKILL in the middle.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{DaemonProcess, sqlite_count, wait_for};
use coopnoc_proto::{LineKind, MatchKind, NewLine, NewMember, ReportPreference, Request, Response};
use coopnocd::collect::observe::Counter;
use coopnocd::model::usage::rollup::{DayPlan, MonthPlan, rollup_days};
use coopnocd::model::usage::{CounterSample, Direction, UsageOutcome, UsageService, UsageWrite};
use coopnocd::store::{Store, WriteOp};
use jiff::civil::date;

const PEAK: (u16, u16) = (19 * 60, 23 * 60);

fn paris() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Europe/Paris").expect("tzdb has Europe/Paris")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn member(reference: &str) -> NewMember {
    NewMember {
        reference: reference.into(),
        display_name: format!("Member {reference}"),
        email: None,
        language: "fr".into(),
        reports: ReportPreference::None,
    }
}

fn line(reference: &str, member: Option<&str>) -> NewLine {
    NewLine {
        reference: reference.into(),
        kind: LineKind::Fibre,
        device: None,
        match_kind: MatchKind::Serial,
        match_key: format!("SN-{reference}"),
        member: member.map(str::to_string),
        description: None,
    }
}

/// Samples of one line every `step_s` seconds over [from, to], at constant rates (bytes/s).
fn steady(
    line: i64,
    from: i64,
    to: i64,
    step_s: i64,
    down_rate: u64,
    up_rate: u64,
) -> Vec<CounterSample> {
    let mut out = Vec::new();
    let mut t = from;
    while t <= to {
        let e = (t - from) as u64;
        for (direction, rate) in [
            (Direction::Download, down_rate),
            (Direction::Upload, up_rate),
        ] {
            out.push(CounterSample {
                line,
                direction,
                counter: Counter::C64(1_000 + rate * e),
                at: jiff::Timestamp::from_second(t).expect("time"),
                device_uptime_ticks: Some((100_000 + e * 100) as u32),
                discontinuity: None,
                link_speed_bps: Some(1_000_000_000),
                per_line: true,
            });
        }
        t += step_s;
    }
    out
}

fn ts(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().expect("timestamp").as_second()
}

/// The test's own read-only look at the database file (the store hands out no pool).
async fn reader(store: &Store) -> sqlx::SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(store.path())
        .read_only(true);
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("read-only pool")
}

async fn one_i64(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&reader(store).await)
        .await
        .expect("query")
}

#[test]
fn local_days_and_months_follow_paris_time_across_dst() {
    let tz = paris();
    // The last Sundays of March and October 2026: 23 and 25 hours.
    assert_eq!(
        DayPlan::new(date(2026, 3, 29), &tz, PEAK)
            .map(|d| d.end - d.start)
            .ok(),
        Some(82_800)
    );
    assert_eq!(
        DayPlan::new(date(2026, 10, 25), &tz, PEAK)
            .map(|d| d.end - d.start)
            .ok(),
        Some(90_000)
    );
    assert_eq!(
        DayPlan::new(date(2026, 3, 30), &tz, PEAK)
            .map(|d| d.end - d.start)
            .ok(),
        Some(86_400)
    );
    let april = MonthPlan::new(2026, 4, &tz, 0).expect("plan");
    assert_eq!(april.start, ts("2026-03-31T22:00:00Z"));
    let november = MonthPlan::new(2026, 11, &tz, 0).expect("plan");
    assert_eq!(november.start, ts("2026-10-31T23:00:00Z"));
    assert_eq!(
        MonthPlan::new(2026, 10, &tz, 0).expect("plan").end,
        november.start
    );

    let dir = tempfile::tempdir().expect("tempdir");
    rt().block_on(async {
        let (store, writer) = Store::open(&dir.path().join("coopnoc.db")).await.expect("open");
        store.write(WriteOp::AddMember(member("M-1"))).await.expect("member");
        store.write(WriteOp::AddLine(line("L-1", Some("M-1")))).await.expect("line");
        let id = one_i64(&store, "SELECT id FROM line WHERE ref = 'L-1'").await;
        let usage = UsageService::new(store.clone());
        let mut total: i64 = 0;
        for (from, to) in [
            (ts("2026-03-27T23:00:00Z"), ts("2026-04-01T06:00:00Z")),
            (ts("2026-10-23T22:00:00Z"), ts("2026-11-01T02:00:00Z")),
        ] {
            // 7 minutes apart: intervals straddle slots, hours, days and months.
            let samples = steady(id, from, to, 420, 1_000, 10);
            usage.ingest(&samples).await.expect("ingest");
            // Samples stop at the last multiple of 420 s.
            let last = from + (to - from) / 420 * 420;
            total += (last - from) * 1_010;
        }
        rollup_days(&store, &tz, PEAK, date(2026, 3, 27), date(2026, 4, 1), 0).await.expect("rollup");
        rollup_days(&store, &tz, PEAK, date(2026, 10, 23), date(2026, 11, 1), 0).await.expect("rollup");

        let day = |d: &'static str| {
            let store = store.clone();
            async move {
                let q = format!("SELECT down_bytes, period_s, down_peak_bytes, down_covered_ms FROM usage_daily WHERE day = '{d}'");
                let r: (i64, i64, i64, i64) =
                    sqlx::query_as(sqlx::AssertSqlSafe(q)).fetch_one(&reader(&store).await).await.expect("day row");
                r
            }
        };
        // Whole local days at 1,000 B/s download: exactly seconds × 1,000, evening peak 4 h.
        assert_eq!(day("2026-03-28").await, (86_400_000, 86_400, 14_400_000, 86_400_000));
        assert_eq!(day("2026-03-29").await, (82_800_000, 82_800, 14_400_000, 82_800_000));
        assert_eq!(day("2026-10-25").await, (90_000_000, 90_000, 14_400_000, 90_000_000));

        // Months split at local midnight, exact to the byte; nothing lost at the seams.
        let month = |m: &'static str| {
            let store = store.clone();
            async move {
                let q = format!("SELECT down_bytes + up_bytes FROM usage_monthly WHERE month = '{m}'");
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(q)).fetch_one(&reader(&store).await).await.expect("month row")
            }
        };
        assert_eq!(month("2026-03").await, (ts("2026-03-31T22:00:00Z") - ts("2026-03-27T23:00:00Z")) * 1_010);
        assert_eq!(month("2026-10").await, (ts("2026-10-31T23:00:00Z") - ts("2026-10-23T22:00:00Z")) * 1_010);
        let all = month("2026-03").await + month("2026-04").await + month("2026-10").await + month("2026-11").await;
        assert_eq!(all, total);
        assert_eq!(one_i64(&store, "SELECT SUM(down_bytes + up_bytes) FROM usage_daily").await, total);
        assert_eq!(one_i64(&store, "SELECT SUM(down_bytes + up_bytes) FROM usage_fine").await, total);

        // The report for March: complete only over the days with data (estimated), exact bytes.
        let r = store.usage_report("M-1", Some("2026-03"), true, &tz, "Europe/Paris", PEAK).await.expect("report");
        assert_eq!(r.total_bytes as i64, month("2026-03").await);
        assert_eq!(r.days.len(), 4);
        assert!(!r.estimated, "March is covered from the first data on: {}", r.completeness);
        assert_eq!(r.completeness, 1.0);
        assert_eq!(r.peak_bytes, 4 * 4 * 3600 * 1_010);
        // November: one night of data, then nothing: estimated.
        let r = store.usage_report("L-1", Some("2026-11"), false, &tz, "Europe/Paris", PEAK).await.expect("report");
        assert!(r.estimated && r.completeness < 0.1, "{}", r.completeness);
        assert_eq!(r.total_bytes, 3 * 3600 * 1_010);

        // Roll-ups are idempotent: again, same rows.
        let dump = |store: Store| async move {
            sqlx::query_as::<_, (String, i64, i64, i64, i64)>(
                "SELECT day, line_id, down_bytes, up_bytes, down_peak_bytes FROM usage_daily
                 UNION ALL SELECT month, member_id, down_bytes, up_bytes, peak_bytes FROM usage_monthly ORDER BY 1, 2",
            )
            .fetch_all(&reader(&store).await)
            .await
            .expect("dump")
        };
        let before = dump(store.clone()).await;
        rollup_days(&store, &tz, PEAK, date(2026, 3, 27), date(2026, 4, 1), 0).await.expect("rollup");
        rollup_days(&store, &tz, PEAK, date(2026, 10, 23), date(2026, 11, 1), 0).await.expect("rollup");
        assert_eq!(dump(store.clone()).await, before);

        drop(usage);
        store.close().await;
        writer.finish().await;
    });
}

#[test]
fn retention_prunes_in_batches_and_keeps_what_is_recent() {
    let dir = tempfile::tempdir().expect("tempdir");
    rt().block_on(async {
        let (store, writer) = Store::open(&dir.path().join("coopnoc.db"))
            .await
            .expect("open");
        store
            .write(WriteOp::AddLine(line("L-1", None)))
            .await
            .expect("line");
        let id = one_i64(&store, "SELECT id FROM line WHERE ref = 'L-1'").await;
        let now = coopnocd::store::now();
        let now_hour = now / 3600;
        // 12,000 hours (500 days) of fine rows: more than two prune batches.
        let mut slots = coopnocd::model::usage::slots::HourSlots::default();
        slots.bytes[0][0] = 1;
        let hours = (0..12_000)
            .map(|i| coopnocd::store::usage::HourRow {
                line: id,
                hour: now_hour - i,
                slots: slots.clone(),
            })
            .collect();
        store
            .usage(UsageWrite::Record {
                hours,
                counters: vec![],
            })
            .await
            .expect("record");
        // An old day rolled up, to be pruned from the daily table too.
        let old = coopnocd::model::usage::rollup::local_date(
            now - 450 * 86_400,
            &jiff::tz::TimeZone::UTC,
        );
        rollup_days(&store, &jiff::tz::TimeZone::UTC, PEAK, old, old, 0)
            .await
            .expect("rollup");
        assert_eq!(one_i64(&store, "SELECT COUNT(*) FROM usage_daily").await, 1);

        let retention = coopnocd::config::RetentionConfig {
            fine_buckets: Duration::from_secs(35 * 86_400),
            daily_per_line: Duration::from_secs(400 * 86_400),
            monthly_after_membership: Duration::from_secs(365 * 86_400),
            events: Duration::from_secs(400 * 86_400),
            levels: Duration::from_secs(35 * 86_400),
        };
        let report = coopnocd::model::usage::retention::prune(&store, &retention, now)
            .await
            .expect("prune");
        let kept = one_i64(&store, "SELECT COUNT(*) FROM usage_fine").await;
        assert_eq!(report.fine as i64 + kept, 12_000);
        assert!((35 * 24..=35 * 24 + 1).contains(&kept), "{kept} hours kept");
        assert_eq!(
            one_i64(&store, "SELECT MIN(hour) FROM usage_fine").await,
            (now - 35 * 86_400).div_euclid(3600)
        );
        assert_eq!(report.daily, 1);
        // A single batch never exceeds its limit.
        let r = store
            .usage(UsageWrite::Prune {
                target: coopnocd::model::usage::retention::PruneTarget::Fine,
                cutoff: now + 3600,
                limit: 100,
            })
            .await
            .expect("prune");
        assert_eq!(r, UsageOutcome::Pruned { rows: 100 });
        store.close().await;
        writer.finish().await;
    });
}

// ---------------------------------------------------------------------------------------------
// A real coopnocd process, killed with SIGKILL in the middle of a roll-up.

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!(
            "[daemon]\nstate-directory = \"{}\"\nshutdown-timeout = \"5s\"\ntime-zone = \"Europe/Paris\"\n\n\
             [ctl]\nsocket = \"{}\"\n\n[reports]\nenabled = false\n",
            dir.path().join("state").display(),
            dir.path().join("ctl.sock").display()
        );
        std::fs::write(dir.path().join("coopnoc.toml"), text).expect("config");
        // Our own copy of the binary: every restart runs the same build, even where several
        // worktrees share one target directory.
        std::fs::copy(env!("CARGO_BIN_EXE_coopnocd"), dir.path().join("coopnocd"))
            .expect("copy coopnocd");
        Setup { dir }
    }
    fn config(&self) -> PathBuf {
        self.dir.path().join("coopnoc.toml")
    }
    fn socket(&self) -> PathBuf {
        self.dir.path().join("ctl.sock")
    }
    fn db(&self) -> PathBuf {
        self.dir.path().join("state").join("coopnoc.db")
    }
    fn start(&self) -> DaemonProcess {
        let bin = self.dir.path().join("coopnocd");
        let d = DaemonProcess::spawn(
            bin.to_str().expect("utf-8 path"),
            &self.config(),
            &[("RUST_LOG", "warn")],
        );
        let socket = self.socket();
        wait_for("the control socket", Duration::from_secs(20), || {
            matches!(
                try_call(&socket, &Request::Status, Duration::from_secs(2)),
                Ok(Response::Status(_))
            )
        });
        d
    }
}

fn try_call(socket: &Path, req: &Request, timeout: Duration) -> Result<Response, String> {
    rt().block_on(async {
        let mut c = coopnoc_proto::Client::connect(socket, timeout)
            .await
            .map_err(|e| e.to_string())?;
        c.call(req).await.map_err(|e| e.to_string())
    })
}

fn call(socket: &Path, req: &Request) -> Response {
    match try_call(socket, req, Duration::from_secs(60)) {
        Ok(Response::Error(e)) => panic!("{req:?} refused: {}", e.message),
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

fn totals(db: &Path) -> (i64, i64, i64) {
    (
        sqlite_count(
            db,
            "SELECT COALESCE(SUM(down_bytes + up_bytes), 0) FROM usage_daily",
        ),
        sqlite_count(
            db,
            "SELECT COALESCE(SUM(down_bytes + up_bytes), 0) FROM usage_monthly",
        ),
        sqlite_count(db, "SELECT COUNT(*) FROM usage_daily"),
    )
}

/// The roll-up `a_roll_up_killed_with_sigkill_leaves_totals_unchanged` kills: this test binary
/// run again as a child process (no request of the daemon's protocol holds a transaction
/// open). Does nothing when run on its own.
#[test]
fn rollup_in_a_child_process() {
    let Ok(db) = std::env::var("COOPNOC_TEST_ROLLUP_DB") else {
        return;
    };
    let var = |name: &str| std::env::var(name).expect(name);
    let (from, to) = (
        var("COOPNOC_TEST_ROLLUP_FROM"),
        var("COOPNOC_TEST_ROLLUP_TO"),
    );
    let pause_ms: u64 = var("COOPNOC_TEST_ROLLUP_PAUSE_MS").parse().expect("pause");
    rt().block_on(async {
        let (store, writer) = Store::open(Path::new(&db)).await.expect("open");
        std::fs::write(var("COOPNOC_TEST_ROLLUP_STARTED"), b"").expect("marker");
        let (from, to) = (from.parse().expect("from"), to.parse().expect("to"));
        rollup_days(&store, &paris(), PEAK, from, to, pause_ms)
            .await
            .expect("roll-up");
        store.close().await;
        writer.finish().await;
    });
}

/// A roll-up of `days` whose every day holds its transaction `pause_ms` (after deleting the
/// day's old rows), in a child process; returns it once it has opened the store.
fn rollup_child(setup: &Setup, days: (&str, &str), pause_ms: u64) -> std::process::Child {
    let started = setup.dir.path().join("rollup-started");
    let _ = std::fs::remove_file(&started);
    let child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "rollup_in_a_child_process", "--test-threads=1"])
        .env("COOPNOC_TEST_ROLLUP_DB", setup.db())
        .env("COOPNOC_TEST_ROLLUP_FROM", days.0)
        .env("COOPNOC_TEST_ROLLUP_TO", days.1)
        .env("COOPNOC_TEST_ROLLUP_PAUSE_MS", pause_ms.to_string())
        .env("COOPNOC_TEST_ROLLUP_STARTED", &started)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn the roll-up");
    wait_for("the roll-up to start", Duration::from_secs(30), || {
        started.exists()
    });
    child
}

/// SIGKILL, then the child's end: it must not have finished on its own.
fn kill(mut child: std::process::Child) -> std::process::ExitStatus {
    child.kill().expect("SIGKILL");
    child.wait().expect("wait")
}

#[test]
fn a_roll_up_killed_with_sigkill_leaves_totals_unchanged() {
    let setup = Setup::new();
    let daemon = setup.start();
    let socket = setup.socket();
    for m in ["M-1", "M-2"] {
        call(&socket, &Request::MemberAdd(member(m)));
    }
    for (l, m) in [("L-1", "M-1"), ("L-2", "M-2"), ("L-3", "M-2")] {
        call(&socket, &Request::LineAdd(line(l, Some(m))));
    }
    daemon.signal(libc::SIGTERM);
    let (status, _) = daemon.wait(Duration::from_secs(10));
    assert!(status.success());
    // Three days and a bit of 5-minute samples for three lines, ending now, through the
    // accountant the poller feeds.
    let now = coopnocd::store::now() / 300 * 300;
    let from = now - 3 * 86_400 - 7_200;
    let mut truth = 0i64;
    let mut days = std::collections::BTreeSet::new();
    for (i, l) in ["L-1", "L-2", "L-3"].iter().enumerate() {
        let id = sqlite_count(
            &setup.db(),
            &format!("SELECT id FROM line WHERE ref = '{l}'"),
        );
        let (down, up) = (10_000 * (i as u64 + 1), 1_000 * (i as u64 + 1));
        let samples = steady(id, from, now, 300, down, up);
        truth += (now - from) * (down + up) as i64;
        for chunk in samples.chunks(1_000) {
            common::ingest(&setup.db(), chunk);
        }
    }
    let tz = paris();
    let mut t = from;
    while t <= now {
        days.insert(coopnocd::model::usage::rollup::local_date(t, &tz));
        t += 3600;
    }
    let (first, last) = (
        days.first().expect("days").to_string(),
        days.last().expect("days").to_string(),
    );
    let rollup = || common::rollup(&setup.db(), "Europe/Paris", PEAK, &first, &last);

    // 1. The first roll-up is killed half-way (each day holds its transaction 700 ms): once
    //    its first day is committed.
    let child = rollup_child(&setup, (&first, &last), 700);
    wait_for("the first day rolled up", Duration::from_secs(30), || {
        totals(&setup.db()).2 > 0
    });
    let status = kill(child);
    assert!(!status.success(), "the roll-up should not have finished");
    let partial = totals(&setup.db());
    assert!(
        partial.2 < 3 * days.len() as i64,
        "the kill came too late to test anything: {partial:?}"
    );

    // Restart: the daemon's own roll-up at start completes the job; totals are the truth.
    let daemon = setup.start();
    wait_for("the start-up roll-up", Duration::from_secs(20), || {
        totals(&setup.db()).0 == truth
    });
    rollup();
    // The start-up roll-up may still be committing its last day beside ours: wait for both.
    let whole = (truth, truth, 3 * days.len() as i64);
    wait_for("both roll-ups", Duration::from_secs(20), || {
        let t = totals(&setup.db());
        (t.0, t.1, t.2) == whole
    });
    let settled = totals(&setup.db());
    assert_eq!(settled.0, truth);
    assert_eq!(settled.1, truth);
    assert_eq!(settled.2, 3 * days.len() as i64);
    daemon.signal(libc::SIGTERM);
    let (status, _) = daemon.wait(Duration::from_secs(10));
    assert!(status.success());

    // 2. A re-roll killed inside a day's transaction (after its old rows were deleted): each
    //    day holds it 1.5 s, then waits 1.5 s; 3.7 s in, the second day's is open.
    let child = rollup_child(&setup, (&first, &last), 1_500);
    std::thread::sleep(Duration::from_millis(3_700));
    let status = kill(child);
    assert!(!status.success(), "the re-roll should not have finished");
    // Straight from the file, before any restart: the interrupted day is whole (rolled back).
    assert_eq!(totals(&setup.db()), settled);
    let daemon = setup.start();
    assert_eq!(totals(&setup.db()), settled);
    rollup();
    assert_eq!(totals(&setup.db()), settled);
    daemon.signal(libc::SIGTERM);
    let (status, _) = daemon.wait(Duration::from_secs(10));
    assert!(status.success());
}

#[test]
fn a_restart_between_two_polls_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("coopnoc.db");
    let from = ts("2026-06-01T10:02:10Z");
    let to = ts("2026-06-01T13:00:00Z");
    let samples = steady(0, from, to, 70, 123_457, 9_871);
    let half = samples.len() / 2 / 2 * 2;
    let truth = (from + (to - from) / 70 * 70 - from) * (123_457 + 9_871);
    rt().block_on(async {
        let id = {
            let (store, writer) = Store::open(&db).await.expect("open");
            store
                .write(WriteOp::AddLine(line("L-1", None)))
                .await
                .expect("line");
            let id = one_i64(&store, "SELECT id FROM line WHERE ref = 'L-1'").await;
            let samples: Vec<_> = samples[..half]
                .iter()
                .cloned()
                .map(|mut s| {
                    s.line = id;
                    s
                })
                .collect();
            let usage = UsageService::new(store.clone());
            for poll in samples.chunks(2) {
                usage.ingest(poll).await.expect("ingest");
            }
            drop(usage);
            store.close().await;
            writer.finish().await;
            id
        };
        // A new process: the accountant comes back from the store and goes on.
        let (store, writer) = Store::open(&db).await.expect("reopen");
        let usage = UsageService::new(store.clone());
        let rest: Vec<_> = samples[half..]
            .iter()
            .cloned()
            .map(|mut s| {
                s.line = id;
                s
            })
            .collect();
        let mut first = None;
        for poll in rest.chunks(2) {
            let stats = usage.ingest(poll).await.expect("ingest");
            first.get_or_insert(stats);
        }
        let first = first.expect("polls");
        // A sample for a line that does not exist is dropped alone, not the poll's write.
        let mut stray = steady(999_999, to, to, 70, 1, 1);
        stray.extend(steady(id, to + 70, to + 70, 70, 0, 0));
        usage
            .ingest(&stray)
            .await
            .expect("a stray line is not an error");
        assert_eq!(
            (first.first_sample, first.counted),
            (0, 2),
            "the interval across the restart is counted"
        );
        assert_eq!(
            one_i64(&store, "SELECT SUM(down_bytes + up_bytes) FROM usage_fine").await,
            truth
        );
        assert_eq!(
            one_i64(
                &store,
                "SELECT SUM(down_covered_ms + up_covered_ms) FROM usage_fine"
            )
            .await,
            2 * 1000 * ((to - from) / 70 * 70)
        );
        drop(usage);
        store.close().await;
        writer.finish().await;
    });
}
