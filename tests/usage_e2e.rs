//! Issue 5, end to end: scripted SNMP agents whose counters follow a known script (steady
//! traffic, a 32-bit wrap, a missed poll, a spike above link speed, a reboot, a counter reset
//! told by ifCounterDiscontinuityTime, a stalled counter), polled by a real coopnocd, must give
//! volumes equal to the script's ground truth to the byte where data exists, and flagged gaps
//! (uncovered time, completeness below 1) where it does not.
//!
//! The test drives every poll itself (`Request::Poll`) and reads, after each, the sample the
//! daemon kept (`usage_counter`): the ground truth is then exact, interval by interval, in
//! bytes and in milliseconds. It checks the 5-minute slots (`usage_fine`), the daily roll-up
//! (`usage_daily`), the member's month (`usage_monthly`) and `coopnoc usage --json`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::wait_for;
use coopnoc_proto::Client;
use coopnoc_proto::{Request, Response};
use coopnoc_sim::{CounterWidth, ScriptHandle, ScriptedDevice, ScriptedPort, ScriptedSpec};
use coopnocd::model::usage::slots::{HourSlots, SLOT_MS, SLOTS_PER_HOUR, apportion};

const CLI: &str = env!("CARGO_BIN_EXE_coopnoc");
const TZ: &str = "Europe/Paris";

/// The members' ports run at 10 Mb/s: 1.25 MB/s. Polls start at least `PAUSE` apart, in which
/// the link carries at least ~440 kB (with the cap's slack): a normal step (at most 300 kB) is
/// always believable, the spike (100 MB) never is, however slow the machine.
const SPEED_BPS: u64 = 10_000_000;
const PAUSE: Duration = Duration::from_millis(300);
const SPIKE: u64 = 100_000_000;

/// What a step's poll must make of an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Counted,
    /// A gap, for this reason (documentation: the store does not keep reasons).
    Gap(&'static str),
}
use Expect::{Counted, Gap};

/// One interval between two answered polls of a line, in one direction.
#[derive(Debug, Clone)]
struct Interval {
    from_ms: i64,
    to_ms: i64,
    /// What the script really sent in it.
    bytes: u64,
    expect: Expect,
}

/// The ground truth of one line in one direction.
#[derive(Debug, Default)]
struct Track {
    /// Bytes the script sent since the last answered poll.
    pending: u64,
    last_at_ms: Option<i64>,
    intervals: Vec<Interval>,
}

impl Track {
    fn counted(&self) -> impl Iterator<Item = &Interval> {
        self.intervals.iter().filter(|i| i.expect == Counted)
    }
    fn counted_bytes(&self) -> u64 {
        self.counted().map(|i| i.bytes).sum()
    }
    fn covered_ms(&self) -> i64 {
        self.counted().map(|i| i.to_ms - i.from_ms).sum()
    }
    fn gap_ms(&self) -> i64 {
        self.intervals
            .iter()
            .filter(|i| i.expect != Counted)
            .map(|i| i.to_ms - i.from_ms)
            .sum()
    }
    fn gap_bytes(&self) -> u64 {
        self.intervals
            .iter()
            .filter(|i| i.expect != Counted)
            .map(|i| i.bytes)
            .sum()
    }
}

/// A line under test: a port of a scripted device, matched by its ifAlias.
struct TestLine {
    reference: &'static str,
    device: &'static str,
    width: i64,
    script: ScriptHandle,
    id: i64,
    /// [download, upload]
    tracks: [Track; 2],
}

const PORT: u32 = 3;

impl TestLine {
    /// The member downloads `down` bytes (the device's ifOutOctets) and uploads `up`
    /// (ifInOctets).
    fn traffic(&mut self, down: u64, up: u64) {
        self.script.add_octets(PORT, up, down);
        self.tracks[0].pending += down;
        self.tracks[1].pending += up;
    }

    /// What the device serves now, per direction, as the daemon should have stored it.
    fn served(&self) -> [i64; 2] {
        let o = self.script.octets(PORT);
        let mask = |v: u64| if self.width == 32 { v & 0xffff_ffff } else { v };
        [mask(o.out_octets) as i64, mask(o.in_octets) as i64]
    }
}

struct Run {
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    client: Client,
    lines: Vec<TestLine>,
    answered: u64,
}

impl Run {
    fn db(&self) -> PathBuf {
        self.dir.path().join("state").join("coopnoc.db")
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("ctl.sock")
    }

    fn query<T>(&self, sql: &str) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
    {
        self.rt.block_on(async {
            use sqlx::ConnectOptions;
            let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(self.db())
                .read_only(true)
                .connect()
                .await
                .expect("open the store read-only");
            sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_all(&mut conn)
                .await
                .expect("query")
        })
    }

    fn call(&mut self, req: Request) -> Response {
        let client = &mut self.client;
        self.rt
            .block_on(async { client.call(&req).await.expect("the daemon answers") })
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(CLI)
            .arg("--socket")
            .arg(self.socket())
            .args(args)
            .env_remove("COOPNOC_SOCKET")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run coopnoc");
        assert!(
            out.status.success(),
            "coopnoc {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn line(&mut self, reference: &str) -> &mut TestLine {
        self.lines
            .iter_mut()
            .find(|l| l.reference == reference)
            .expect("a line of the test")
    }

    /// The last sample the daemon kept for a line, per direction.
    fn kept(&self, id: i64) -> Vec<Kept> {
        self.query(&format!(
            "SELECT direction, at_ms, value, width FROM usage_counter WHERE line_id = {id} AND per_line = 1 ORDER BY direction"
        ))
    }

    /// Polls both devices (each once, as a scheduled poll would). A silent device's poll
    /// fails and leaves nothing; otherwise see `collect`.
    fn poll(&mut self, silent: bool, expect: &[[Expect; 2]]) {
        let before: Vec<_> = self.lines.iter().map(|l| self.kept(l.id)).collect();
        let dropped: Vec<u64> = self
            .lines
            .iter()
            .map(|l| l.script.requests_dropped())
            .collect();
        for device in ["sw-64", "sw-32"] {
            let r = self.call(Request::Poll {
                device: device.into(),
            });
            let Response::Device(d) = r else {
                panic!("poll answers with the device, not {r:?}")
            };
            assert_eq!(
                d.summary.consecutive_failures > 0,
                silent,
                "{device}: {:?}",
                d.last_errors
            );
        }
        if silent {
            for (i, l) in self.lines.iter().enumerate() {
                assert!(
                    l.script.requests_dropped() > dropped[i],
                    "{} was asked nothing",
                    l.device
                );
            }
            let after: Vec<_> = self.lines.iter().map(|l| self.kept(l.id)).collect();
            assert_eq!(after, before, "a failed poll left samples");
            return;
        }
        self.answered += 1;
        assert!(
            self.collect(&before, expect, Duration::from_secs(5)),
            "the poll's samples did not reach the store"
        );
    }

    /// Takes the samples of the last poll from the store: each line's intervals since its
    /// last answered poll end there, judged as `expect` says ([download, upload] per line, in
    /// the order of `self.lines`). False if no new sample came within `patience`.
    fn collect(
        &mut self,
        before: &[Vec<Kept>],
        expect: &[[Expect; 2]],
        patience: Duration,
    ) -> bool {
        for (i, line_before) in before.iter().enumerate() {
            let id = self.lines[i].id;
            // A poll answers once the line's usage has its samples; waiting costs nothing and
            // would tell that it no longer does.
            let newer = |kept: &[Kept]| {
                kept.len() == 2
                    && kept.iter().all(|k| {
                        line_before
                            .iter()
                            .find(|b| b.0 == k.0)
                            .is_none_or(|b| k.1 > b.1)
                    })
            };
            let t = Instant::now();
            let mut kept = self.kept(id);
            while !newer(&kept) {
                if t.elapsed() > patience {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(10));
                kept = self.kept(id);
            }
            let l = &mut self.lines[i];
            let served = l.served();
            for (d, (direction, at_ms, value, width)) in kept.into_iter().enumerate() {
                assert_eq!(direction as usize, d);
                let at_ms = at_ms.expect("a sample time");
                assert_eq!(
                    value,
                    Some(served[d]),
                    "{} direction {d}: the stored counter is what the device served",
                    l.reference
                );
                assert_eq!(width, Some(l.width), "{}: counter width", l.reference);
                let t = &mut l.tracks[d];
                if let Some(from_ms) = t.last_at_ms {
                    t.intervals.push(Interval {
                        from_ms,
                        to_ms: at_ms,
                        bytes: t.pending,
                        expect: expect[i][d],
                    });
                }
                t.pending = 0;
                t.last_at_ms = Some(at_ms);
            }
            assert_eq!(
                l.script.polls_answered(),
                self.answered,
                "{}: polls other than the test's",
                l.device
            );
        }
        true
    }

    /// The first samples of each line: a baseline, no interval. Matching a line may take the
    /// poll that reads its device's labels first: poll again (counters unchanged) until the
    /// samples come.
    fn baseline(&mut self) {
        for _ in 0..3 {
            let before: Vec<_> = self.lines.iter().map(|l| self.kept(l.id)).collect();
            for device in ["sw-64", "sw-32"] {
                self.call(Request::Poll {
                    device: device.into(),
                });
            }
            self.answered += 1;
            if self.collect(&before, &[], Duration::from_secs(2)) {
                assert!(
                    self.lines
                        .iter()
                        .all(|l| l.tracks.iter().all(|t| t.intervals.is_empty()))
                );
                return;
            }
        }
        panic!("three polls and no usage sample for the lines");
    }
}

/// A kept sample: direction, at_ms, value, width.
type Kept = (i64, Option<i64>, Option<i64>, Option<i64>);

fn spec(name: &str, alias: &str, width: CounterWidth) -> ScriptedSpec {
    ScriptedSpec::new(
        name,
        vec![
            // A neighbour port nobody matches, and the member's port, of the same width
            // (mixed widths on one device: tests/poller.rs).
            ScriptedPort::new(1, "ge-0/0/1", "uplink", 1_000_000_000, width),
            ScriptedPort::new(PORT, "ge-0/0/3", alias, SPEED_BPS, width),
        ],
    )
}

fn config(
    dir: &Path,
    sw64: std::net::SocketAddr,
    sw32: std::net::SocketAddr,
) -> coopnocd::config::Config {
    // Scheduled polls every hour: only the first one (within 10 s of the start) comes during
    // the test, while the devices are still silent; every other poll is the test's.
    let device = |name: &str, addr: std::net::SocketAddr| {
        format!(
            "[[device]]\nname = \"{name}\"\nkind = \"switch\"\naddress = \"{addr}\"\nsnmp = {{ version = \"2c\", community = \"public\" }}\n\
             poll = {{ status-interval = \"1h\", timeout = \"1s\", retries = 0, unreachable-after = 3 }}\n\n"
        )
    };
    let text = format!(
        "[daemon]\nstate-directory = \"{}\"\nshutdown-timeout = \"5s\"\ntime-zone = \"{TZ}\"\n\n\
         [ctl]\nsocket = \"{}\"\n\n[reports]\nenabled = false\n\n{}{}",
        dir.join("state").display(),
        dir.join("ctl.sock").display(),
        device("sw-64", sw64),
        device("sw-32", sw32),
    );
    coopnocd::config::parse(&text, dir).unwrap_or_else(|p| panic!("test config: {p:?}"))
}

/// Local months (YYYY-MM) from `from_ms` to `to_ms`.
fn months(from_ms: i64, to_ms: i64) -> Vec<String> {
    let tz = jiff::tz::TimeZone::get(TZ).expect("tz");
    let m = |ms: i64| {
        coopnocd::model::usage::rollup::local_date(ms / 1000, &tz)
            .strftime("%Y-%m")
            .to_string()
    };
    let mut out = vec![m(from_ms)];
    if m(to_ms) != out[0] {
        out.push(m(to_ms));
    }
    out
}

#[test]
fn scripted_counters_give_exact_volumes_and_flagged_gaps() {
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let sw64 = rt
        .block_on(ScriptedDevice::start(spec(
            "sw-64",
            "M1-FIBRE-A",
            CounterWidth::Hc64,
        )))
        .expect("sw-64");
    let sw32 = rt
        .block_on(ScriptedDevice::start(spec(
            "sw-32",
            "M1-PORT-B",
            CounterWidth::Only32,
        )))
        .expect("sw-32");
    let (s64, s32) = (sw64.handle(), sw32.handle());
    // Silent until the poller's first scheduled poll has come and gone: it then makes no sample.
    s64.set_silent(true);
    s32.set_silent(true);
    // The 32-bit port starts close to 2^32, so that steady traffic wraps it.
    s32.set_octets(
        PORT,
        coopnoc_sim::Octets {
            in_octets: (1 << 32) - 150_000,
            out_octets: (1 << 32) - 700_000,
        },
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = common::DaemonThread::start(config(dir.path(), sw64.addr, sw32.addr));
    let socket = dir.path().join("ctl.sock");
    let client = rt.block_on(async {
        let t = Instant::now();
        loop {
            if let Ok(c) = Client::connect(&socket, Duration::from_secs(10)).await {
                break c;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "the daemon did not open its socket"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let mut run = Run {
        rt,
        dir,
        client,
        lines: Vec::new(),
        answered: 0,
    };
    run.cli(&[
        "member",
        "add",
        "--ref",
        "M-1",
        "--name",
        "Alice",
        "--no-reports",
    ]);
    for (reference, alias, device, script, width) in [
        ("L-A", "M1-FIBRE-A", "sw-64", s64.clone(), 64),
        ("L-B", "M1-PORT-B", "sw-32", s32.clone(), 32),
    ] {
        run.cli(&[
            "line", "add", "--ref", reference, "--kind", "port", "--match", "ifalias", "--key",
            alias, "--device", device, "--member", "M-1",
        ]);
        let id: Vec<(i64,)> = run.query(&format!("SELECT id FROM line WHERE ref = '{reference}'"));
        run.lines.push(TestLine {
            reference,
            device,
            width,
            script,
            id: id[0].0,
            tracks: Default::default(),
        });
    }
    wait_for("the first scheduled polls", Duration::from_secs(15), || {
        s64.requests_dropped() >= 1 && s32.requests_dropped() >= 1
    });
    // The scheduled poll fails after its 1 s timeout (no retry); ours wait for it anyway.
    s64.set_silent(false);
    s32.set_silent(false);

    run.baseline();

    // Steady traffic; the 32-bit port wraps in both directions at the third step.
    for _ in 0..3 {
        std::thread::sleep(PAUSE);
        run.line("L-A").traffic(50_000, 5_000);
        run.line("L-B").traffic(300_000, 60_000);
        run.poll(false, &[[Counted; 2]; 2]);
    }
    assert!(
        s32.octets(PORT).in_octets > 1 << 32 && s32.octets(PORT).out_octets > 1 << 32,
        "the 32-bit port wrapped"
    );

    // sw-64 reboots; sw-32's port restarts its counters without a reboot (a line card), which
    // only ifCounterDiscontinuityTime tells. Traffic before and after, none of it seen by a
    // poll. The counters end above where they were: only sysUpTime and the discontinuity time
    // show that these deltas mean nothing.
    std::thread::sleep(PAUSE);
    let before = [run.line("L-A").served(), run.line("L-B").served()];
    run.line("L-A").traffic(20_000, 2_000);
    run.line("L-B").traffic(100_000, 10_000);
    s64.reboot(100);
    s32.reset_counters(PORT);
    run.line("L-A").traffic(200_000, 20_000);
    run.line("L-B").traffic(300_000, 60_000);
    for (i, reference) in ["L-A", "L-B"].into_iter().enumerate() {
        let after = run.line(reference).served();
        assert!(
            after[0] > before[i][0] && after[1] > before[i][1],
            "{reference}: {:?} then {after:?}",
            before[i]
        );
    }
    run.poll(
        false,
        &[[Gap("reboot"); 2], [Gap("counter discontinuity"); 2]],
    );
    std::thread::sleep(PAUSE);
    run.line("L-A").traffic(50_000, 5_000);
    run.line("L-B").traffic(300_000, 60_000);
    run.poll(false, &[[Counted; 2]; 2]);

    // A missed poll: both devices silent for one poll; the next delta covers both steps.
    std::thread::sleep(PAUSE);
    run.line("L-A").traffic(150_000, 10_000);
    run.line("L-B").traffic(120_000, 30_000);
    s64.set_silent(true);
    s32.set_silent(true);
    run.poll(true, &[]);
    s64.set_silent(false);
    s32.set_silent(false);
    std::thread::sleep(PAUSE);
    run.line("L-A").traffic(150_000, 10_000);
    run.line("L-B").traffic(120_000, 30_000);
    run.poll(false, &[[Counted; 2]; 2]);

    // A spike above link speed on L-A's download (100 MB in a fraction of a second): rejected,
    // a gap. Its upload, judged on its own, counts.
    std::thread::sleep(PAUSE);
    run.line("L-A").traffic(SPIKE, 20_000);
    run.line("L-B").traffic(300_000, 60_000);
    run.poll(false, &[[Gap("above link speed"), Counted], [Counted; 2]]);
    // From the spiked value on, counting resumes.
    std::thread::sleep(PAUSE);
    run.line("L-A").traffic(200_000, 25_000);
    run.line("L-B").traffic(300_000, 60_000);
    run.poll(false, &[[Counted; 2]; 2]);

    // L-A's counters stall for three polls: zero bytes, measured (not a gap). L-B's download
    // stalls too while its upload goes on.
    for _ in 0..3 {
        std::thread::sleep(PAUSE);
        run.line("L-B").traffic(0, 60_000);
        run.poll(false, &[[Counted; 2]; 2]);
    }
    std::thread::sleep(PAUSE);
    run.line("L-A").traffic(200_000, 25_000);
    run.line("L-B").traffic(300_000, 60_000);
    run.poll(false, &[[Counted; 2]; 2]);

    // The ground truth, per line and direction.
    for l in &run.lines {
        let [down, up] = &l.tracks;
        for t in &l.tracks {
            assert_eq!(t.intervals.len(), 12, "{}", l.reference);
            assert!(
                t.gap_bytes() > 0,
                "{}: the script has gaps in both directions",
                l.reference
            );
            // From the first sample to the last, every moment is either measured or a gap.
            let span = t.intervals.last().map_or(0, |i| i.to_ms)
                - t.intervals.first().map_or(0, |i| i.from_ms);
            assert_eq!(t.covered_ms() + t.gap_ms(), span);
            assert!(t.intervals.windows(2).all(|w| w[0].to_ms == w[1].from_ms));
        }

        // The fine slots: totals exact to the byte and to the millisecond of coverage.
        let fine: Vec<(i64, i64, i64, i64, i64)> = run.query(&format!(
            "SELECT COUNT(*), SUM(down_bytes), SUM(up_bytes), SUM(down_covered_ms), SUM(up_covered_ms) FROM usage_fine WHERE line_id = {}",
            l.id
        ));
        let (rows, fine_down, fine_up, cov_down, cov_up) = fine[0];
        assert!(rows >= 1);
        assert_eq!(
            (fine_down as u64, fine_up as u64),
            (down.counted_bytes(), up.counted_bytes()),
            "{}: fine bytes",
            l.reference
        );
        assert_eq!(
            (cov_down, cov_up),
            (down.covered_ms(), up.covered_ms()),
            "{}: fine coverage",
            l.reference
        );

        // Slot by slot: each interval's time where it happened; its bytes spread pro rata
        // (`apportion`, exact and property-tested on its own).
        let mut expected: BTreeMap<i64, [[u64; 2]; 2]> = BTreeMap::new();
        for (d, t) in l.tracks.iter().enumerate() {
            for i in t.counted() {
                for s in apportion(i.from_ms, i.to_ms, i.bytes) {
                    expected.entry(s.slot).or_default()[d][0] += s.bytes;
                }
                for slot in i.from_ms.div_euclid(SLOT_MS)..=(i.to_ms - 1).div_euclid(SLOT_MS) {
                    let overlap = i.to_ms.min((slot + 1) * SLOT_MS) - i.from_ms.max(slot * SLOT_MS);
                    expected.entry(slot).or_default()[d][1] += overlap as u64;
                }
            }
        }
        let blobs: Vec<(i64, Vec<u8>)> = run.query(&format!(
            "SELECT hour, slots FROM usage_fine WHERE line_id = {}",
            l.id
        ));
        let mut stored: BTreeMap<i64, [[u64; 2]; 2]> = BTreeMap::new();
        for (hour, blob) in blobs {
            let h = HourSlots::decode(&blob).expect("readable slots");
            for i in 0..SLOTS_PER_HOUR {
                let v = [
                    [h.bytes[0][i], u64::from(h.covered_ms[0][i])],
                    [h.bytes[1][i], u64::from(h.covered_ms[1][i])],
                ];
                if v != [[0; 2]; 2] {
                    stored.insert(hour * SLOTS_PER_HOUR as i64 + i as i64, v);
                }
            }
        }
        expected.retain(|_, v| *v != [[0; 2]; 2]);
        assert_eq!(stored, expected, "{}: 5-minute slots", l.reference);
    }

    // Roll up every day the samples touched, then read it back.
    let first_ms = run
        .lines
        .iter()
        .filter_map(|l| l.tracks[0].intervals.first())
        .map(|i| i.from_ms)
        .min()
        .expect("data");
    let last_ms = run
        .lines
        .iter()
        .filter_map(|l| l.tracks[0].last_at_ms)
        .max()
        .expect("data");
    let tz = jiff::tz::TimeZone::get(TZ).expect("tz");
    let day = |ms: i64| coopnocd::model::usage::rollup::local_date(ms / 1000, &tz).to_string();
    // Through the library, as the daemon's hourly roll-up does (no request does it).
    let peak = (19 * 60, 23 * 60);
    let daily_rows = common::rollup(&run.db(), TZ, peak, &day(first_ms), &day(last_ms));
    assert!(daily_rows > 0, "the roll-up wrote no daily rows");
    let months = months(first_ms, last_ms);

    let (mut member_down, mut member_up, mut member_covered) = (0u64, 0u64, 0i64);
    for l in &run.lines {
        let [down, up] = &l.tracks;
        let daily: Vec<(i64, i64, i64, i64)> = run.query(&format!(
            "SELECT SUM(down_bytes), SUM(up_bytes), SUM(down_covered_ms), SUM(up_covered_ms) FROM usage_daily WHERE line_id = {}",
            l.id
        ));
        assert_eq!(
            daily[0],
            (
                down.counted_bytes() as i64,
                up.counted_bytes() as i64,
                down.covered_ms(),
                up.covered_ms()
            ),
            "{}: daily roll-up",
            l.reference
        );

        // What a technician or the member is shown: exact bytes, and an estimate flagged.
        let created: Vec<(i64,)> =
            run.query(&format!("SELECT created_at FROM line WHERE id = {}", l.id));
        let (mut shown_down, mut shown_up) = (0u64, 0u64);
        for month in &months {
            let before = coopnocd::store::now();
            let text = run.cli(&["usage", l.reference, "--month", month, "--json"]);
            let after = coopnocd::store::now();
            let r: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            shown_down += r["download_bytes"].as_u64().expect("download_bytes");
            shown_up += r["upload_bytes"].as_u64().expect("upload_bytes");
            assert_eq!(
                r["estimated"], true,
                "{}: the gaps make the volume an estimate: {r}",
                l.reference
            );
            if months.len() == 1 {
                // Covered: the counted intervals, both directions; expected: both directions
                // from the line's creation to now.
                let covered = (down.covered_ms() + up.covered_ms()) as f64;
                let c = r["completeness"].as_f64().expect("completeness");
                let (lo, hi) = (
                    covered / (2000 * (after + 1 - created[0].0)) as f64,
                    covered / (2000 * (before - created[0].0).max(1)) as f64,
                );
                assert!(
                    lo - 1e-9 <= c && c <= hi.min(1.0) + 1e-9 && c < 1.0,
                    "{}: completeness {c} not in {lo}..{hi}",
                    l.reference
                );
            }
        }
        assert_eq!(
            (shown_down, shown_up),
            (down.counted_bytes(), up.counted_bytes()),
            "{}: coopnoc usage",
            l.reference
        );
        member_down += down.counted_bytes();
        member_up += up.counted_bytes();
        member_covered += down.covered_ms() + up.covered_ms();
        eprintln!(
            "{}: counted {} B down, {} B up; gaps held {} B down, {} B up (not counted)",
            l.reference,
            down.counted_bytes(),
            up.counted_bytes(),
            down.gap_bytes(),
            up.gap_bytes()
        );
    }

    // The member's month: both lines, exact.
    let monthly: Vec<(i64, i64, i64)> = run.query(
        "SELECT SUM(m.down_bytes), SUM(m.up_bytes), SUM(m.covered_ms) FROM usage_monthly m JOIN member p ON p.id = m.member_id WHERE p.ref = 'M-1'",
    );
    assert_eq!(
        monthly[0],
        (member_down as i64, member_up as i64, member_covered)
    );
    let mut shown = (0u64, 0u64);
    for month in &months {
        let r: serde_json::Value =
            serde_json::from_str(&run.cli(&["usage", "M-1", "--month", month, "--json"]))
                .expect("JSON");
        shown.0 += r["download_bytes"].as_u64().expect("bytes");
        shown.1 += r["upload_bytes"].as_u64().expect("bytes");
        assert_eq!(r["estimated"], true);
    }
    assert_eq!(shown, (member_down, member_up));

    drop(run.client);
    daemon.stop(Duration::from_secs(8));
    run.rt.block_on(async {
        sw64.shutdown().await;
        sw32.shutdown().await;
    });
    eprintln!("done in {:?}", started.elapsed());
}
