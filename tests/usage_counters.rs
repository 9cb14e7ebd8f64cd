//! Issue 12, counters exact at any speed or honestly absent, end to end: scripted agents polled
//! by a real coopnocd.
//!
//! - 32-bit counters on a port with no speed (and on a gigabit port), moving fast: every
//!   interval the daemon counts carries exactly the script's bytes, and a delta that more than
//!   one wrap could explain is a flagged gap, never a silent loss of 2^32 bytes.
//! - A slow path (every request held 2 s, then 3.5 s): each counter is stamped with the time its
//!   reply arrived, so two ports read seconds apart get different, right times, and rates are
//!   right whatever the delays.

mod common;
mod snmp_support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use coopnoc_proto::Client;
use coopnoc_proto::{Request, Response};
use coopnoc_sim::{CounterWidth, Octets, ScriptHandle, ScriptedDevice, ScriptedPort, ScriptedSpec};
use snmp_support::udp_proxy::{Fault, UdpProxy};

const CLI: &str = env!("CARGO_BIN_EXE_coopnoc");

/// A kept sample: direction (0 download, 1 upload), at_ms, value.
type Kept = (i64, i64, i64);

struct Daemon {
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    client: Client,
    daemon: Option<common::DaemonThread>,
}

impl Daemon {
    /// coopnocd polling one device at `address` (scheduled polls hourly: the test drives them).
    fn start(rt: tokio::runtime::Runtime, address: SocketAddr, poll: &str) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!(
            "[daemon]\nstate-directory = \"{}\"\nshutdown-timeout = \"5s\"\n\n\
             [ctl]\nsocket = \"{}\"\n\n[reports]\nenabled = false\n\n\
             [[device]]\nname = \"dev\"\nkind = \"switch\"\naddress = \"{address}\"\n\
             snmp = {{ version = \"2c\", community = \"public\" }}\n\
             poll = {{ status-interval = \"1h\", {poll} }}\n",
            dir.path().join("state").display(),
            dir.path().join("ctl.sock").display(),
        );
        let config = coopnocd::config::parse(&text, dir.path())
            .unwrap_or_else(|p| panic!("test config: {p:?}"));
        let daemon = common::DaemonThread::start(config);
        let socket = dir.path().join("ctl.sock");
        let client = rt.block_on(async {
            let t = Instant::now();
            loop {
                if let Ok(c) = Client::connect(&socket, Duration::from_secs(30)).await {
                    break c;
                }
                assert!(t.elapsed() < Duration::from_secs(10), "no control socket");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        Daemon {
            rt,
            dir,
            client,
            daemon: Some(daemon),
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("state").join("coopnoc.db")
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(CLI)
            .arg("--socket")
            .arg(self.dir.path().join("ctl.sock"))
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

    fn query<T>(&self, sql: &str) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
    {
        let db = self.db();
        self.rt.block_on(async {
            use sqlx::ConnectOptions;
            let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(db)
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

    /// A member and a line per (reference, ifAlias); their ids.
    fn lines(&self, lines: &[(&str, &str)]) -> Vec<i64> {
        self.cli(&[
            "member",
            "add",
            "--ref",
            "M-1",
            "--name",
            "Alice",
            "--no-reports",
        ]);
        lines
            .iter()
            .map(|(reference, alias)| {
                self.cli(&[
                    "line", "add", "--ref", reference, "--kind", "port", "--match", "ifalias",
                    "--key", alias, "--device", "dev", "--member", "M-1",
                ]);
                let id: Vec<(i64,)> =
                    self.query(&format!("SELECT id FROM line WHERE ref = '{reference}'"));
                id[0].0
            })
            .collect()
    }

    fn call(&mut self, req: Request) -> Response {
        let client = &mut self.client;
        self.rt
            .block_on(async { client.call(&req).await.expect("the daemon answers") })
    }

    /// Polls the device now; fails the test if the poll failed.
    fn poll(&mut self) {
        let r = self.call(Request::Poll {
            device: "dev".into(),
        });
        let Response::Device(d) = r else {
            panic!("poll answers with the device, not {r:?}")
        };
        assert_eq!(
            d.summary.consecutive_failures, 0,
            "the poll failed: {:?}",
            d.last_errors
        );
    }

    /// The last sample the daemon kept for a line, per direction.
    fn kept(&self, line: i64) -> Vec<Kept> {
        self.query(&format!(
            "SELECT direction, at_ms, value FROM usage_counter \
             WHERE line_id = {line} AND per_line = 1 AND at_ms IS NOT NULL ORDER BY direction"
        ))
    }

    /// Polls until every line has a sample newer than `before` in both directions.
    fn poll_and_collect(&mut self, lines: &[i64], before: &[Vec<Kept>]) -> Vec<Vec<Kept>> {
        self.poll();
        let t = Instant::now();
        loop {
            let now: Vec<Vec<Kept>> = lines.iter().map(|l| self.kept(*l)).collect();
            let newer = now.iter().zip(before).all(|(n, b)| {
                n.len() == 2
                    && n.iter()
                        .all(|k| b.iter().find(|o| o.0 == k.0).is_none_or(|o| k.1 > o.1))
            });
            if newer {
                return now;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "no new usage sample after a poll: {now:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Polls (at most a few times: the first polls read labels and match lines) until every
    /// line has its first samples.
    fn baseline(&mut self, lines: &[i64]) -> Vec<Vec<Kept>> {
        for _ in 0..4 {
            self.poll();
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(2) {
                let now: Vec<Vec<Kept>> = lines.iter().map(|l| self.kept(*l)).collect();
                if now.iter().all(|k| k.len() == 2) {
                    return now;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        panic!("no usage samples after four polls");
    }

    fn stop(mut self) {
        if let Some(d) = self.daemon.take() {
            d.stop(Duration::from_secs(10));
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// One judged interval of a line and direction, as the script knows it.
#[derive(Debug)]
struct Interval {
    ms: i64,
    bytes: u64,
    counted: bool,
}

/// 32-bit counters, moving fast, on a port with no speed (ifSpeed and ifHighSpeed 0, as Linux
/// VMs report) and on a gigabit port. Plausible steps (10 MB every half second or more) are
/// counted to the byte, across wraps; a step of 5.4 GB (the 30 MB/s for 180 s: more
/// than 2^32 bytes, which the 32-bit counter shows as 1.1 GB) is a gap on both, flagged, never
/// counted as 1.1 GB. `coopnoc usage` shows the counted bytes exactly, marked estimated.
#[test]
fn fast_32_bit_counters_count_exactly_or_leave_flagged_gaps() {
    let rt = runtime();
    let device = rt
        .block_on(ScriptedDevice::start(ScriptedSpec::new(
            "vm-1",
            vec![
                ScriptedPort::new(1, "eth0", "M1-VM", 0, CounterWidth::Only32),
                ScriptedPort::new(
                    2,
                    "ge-0/0/2",
                    "M1-GIGA",
                    1_000_000_000,
                    CounterWidth::Only32,
                ),
            ],
        )))
        .expect("scripted device");
    let script = device.handle();
    // Both ports start just below 2^32: the first steps wrap them.
    for port in [1, 2] {
        script.set_octets(
            port,
            Octets {
                in_octets: (1 << 32) - 4_000_000,
                out_octets: (1 << 32) - 15_000_000,
            },
        );
    }
    // Silent until the first scheduled poll (within 10 s of the start) has come and gone:
    // every later poll is the test's.
    script.set_silent(true);
    let mut d = Daemon::start(rt, device.addr, "timeout = \"1s\", retries = 0");
    let lines = d.lines(&[("L-VM", "M1-VM"), ("L-GIGA", "M1-GIGA")]);
    common::wait_for("the first scheduled poll", Duration::from_secs(20), || {
        script.requests_dropped() >= 1
    });
    script.set_silent(false);
    let mut kept = d.baseline(&lines);

    // [line][direction] → intervals.
    let mut truth: Vec<[Vec<Interval>; 2]> = vec![Default::default(), Default::default()];
    let mut step = |d: &mut Daemon, kept: &mut Vec<Vec<Kept>>, down: u64, up: u64| {
        std::thread::sleep(Duration::from_millis(500));
        for port in [1, 2] {
            script.add_octets(port, up, down);
        }
        let now = d.poll_and_collect(&lines, kept);
        for (l, (before, after)) in kept.iter().zip(&now).enumerate() {
            for dir in 0..2 {
                let (b, a) = (before[dir], after[dir]);
                let bytes = if dir == 0 { down } else { up };
                let judged: Vec<(i64, i64)> = d.query(&format!(
                    "SELECT COALESCE(SUM(CASE {dir} WHEN 0 THEN down_bytes ELSE up_bytes END), 0), \
                     COALESCE(SUM(CASE {dir} WHEN 0 THEN down_covered_ms ELSE up_covered_ms END), 0) \
                     FROM usage_fine WHERE line_id = {}",
                    lines[l]
                ));
                let counted_so_far: u64 = truth[l][dir]
                    .iter()
                    .filter(|i| i.counted)
                    .map(|i| i.bytes)
                    .sum();
                let counted = judged[0].0 as u64 - counted_so_far;
                assert!(
                    counted == 0 || counted == bytes,
                    "line {l} direction {dir}: {counted} bytes counted for {bytes} sent"
                );
                truth[l][dir].push(Interval {
                    ms: a.1 - b.1,
                    bytes,
                    counted: counted == bytes,
                });
            }
        }
        *kept = now;
    };
    // Plausible traffic, wrapping both counters: counted exactly.
    for _ in 0..3 {
        step(&mut d, &mut kept, 10_000_000, 2_000_000);
    }
    // 5.4 GB down in one interval: a gap, on both ports; the upload goes on, counted.
    step(&mut d, &mut kept, 5_400_000_000, 2_000_000);
    step(&mut d, &mut kept, 10_000_000, 2_000_000);

    // What members are shown comes from the daily roll-up: make today's now, through the
    // library as the daemon's hourly roll-up does.
    let today = coopnocd::model::usage::rollup::local_date(
        jiff::Timestamp::now().as_second(),
        &jiff::tz::TimeZone::UTC,
    )
    .to_string();
    common::rollup(&d.db(), "Etc/UTC", (19 * 60, 23 * 60), &today, &today);
    for (l, line) in truth.iter().enumerate() {
        for (dir, intervals) in line.iter().enumerate() {
            let flags: Vec<bool> = intervals.iter().map(|i| i.counted).collect();
            let want = if dir == 0 {
                vec![true, true, true, false, true]
            } else {
                vec![true; 5]
            };
            assert_eq!(flags, want, "line {l} direction {dir}: {intervals:?}");
            // Coverage: exactly the counted intervals' time; the gap is missing time.
            let covered: Vec<(i64,)> = d.query(&format!(
                "SELECT COALESCE(SUM({}), 0) FROM usage_fine WHERE line_id = {}",
                if dir == 0 {
                    "down_covered_ms"
                } else {
                    "up_covered_ms"
                },
                lines[l]
            ));
            let want_ms: i64 = intervals.iter().filter(|i| i.counted).map(|i| i.ms).sum();
            assert_eq!(covered[0].0, want_ms, "line {l} direction {dir}: coverage");
        }
        // What the member is shown: the counted bytes exactly, flagged as an estimate.
        let reference = ["L-VM", "L-GIGA"][l];
        let r: serde_json::Value =
            serde_json::from_str(&d.cli(&["usage", reference, "--json"])).expect("JSON");
        let counted = |dir: usize| -> u64 {
            line[dir]
                .iter()
                .filter(|i| i.counted)
                .map(|i| i.bytes)
                .sum()
        };
        assert_eq!(r["download_bytes"].as_u64(), Some(counted(0)), "{r}");
        assert_eq!(r["upload_bytes"].as_u64(), Some(counted(1)), "{r}");
        assert_eq!(r["estimated"], true, "{r}");
        assert_eq!(
            counted(0),
            40_000_000,
            "{reference}: the four plausible steps"
        );
    }
    d.stop();
    d_shutdown(device);
}

fn d_shutdown(device: ScriptedDevice) {
    runtime().block_on(device.shutdown());
}

/// Feeds both ports of a scripted device at a steady rate, in real time, until stopped:
/// `(start_ms, base octets)` tell what a counter read at any moment should be.
struct Feeder {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    start_ms: i64,
}

/// Bytes per second the feeder adds to each port's download (half of it to its upload).
const RATE: u64 = 4_000_000;

impl Feeder {
    fn start(script: ScriptHandle) -> Feeder {
        let stop = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let start_ms = jiff::Timestamp::now().as_millisecond();
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut added = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let due = (start.elapsed().as_secs_f64() * RATE as f64) as u64;
                    let more = due - added;
                    for port in [1, 3] {
                        script.add_octets(port, more / 2, more);
                    }
                    added = due;
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        Feeder {
            stop,
            thread: Some(thread),
            start_ms,
        }
    }

    /// The download counter a port served at `at_ms` (wall clock), from its start value.
    fn download_at(&self, at_ms: i64) -> f64 {
        (at_ms - self.start_ms) as f64 * RATE as f64 / 1000.0
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A slow path: every request held 2 s, then 3.5 s, on its way to the agent (which answers at
/// once: its values are read right before the reply). With max-repetitions 1 the two ports are
/// read in different replies, seconds apart. Each sample must carry its reply's time: the
/// counter it holds is what the steadily fed port had then (within 0.5 s of traffic, where
/// stamping with the poll's start would be off by 2 s or more), and the rate over each
/// interval is the feeder's.
#[test]
fn counters_carry_the_time_their_reply_arrived() {
    let rt = runtime();
    let device = rt
        .block_on(ScriptedDevice::start(ScriptedSpec::new(
            "sw-1",
            vec![
                ScriptedPort::new(1, "ge-0/0/1", "M1-A", 1_000_000_000, CounterWidth::Hc64),
                ScriptedPort::new(3, "ge-0/0/3", "M1-B", 1_000_000_000, CounterWidth::Hc64),
            ],
        )))
        .expect("scripted device");
    let proxy = rt.block_on(UdpProxy::start(device.addr));
    // Silent until the first scheduled poll has come and gone (see above).
    proxy.set(Fault::DropAll);
    let mut d = Daemon::start(
        rt,
        proxy.address,
        "timeout = \"5s\", retries = 0, max-repetitions = 1, window = 1",
    );
    let lines = d.lines(&[("L-A", "M1-A"), ("L-B", "M1-B")]);
    common::wait_for("the first scheduled poll", Duration::from_secs(20), || {
        proxy.requests.load(Ordering::Relaxed) >= 1
    });
    proxy.set(Fault::None);
    let mut kept = d.baseline(&lines);
    let before = proxy.requests.load(Ordering::Relaxed);
    kept = d.poll_and_collect(&lines, &kept);
    let per_poll = proxy.requests.load(Ordering::Relaxed) - before;
    eprintln!("requests per status poll: {per_poll}");
    let feeder = Feeder::start(device.handle());

    let baseline = kept.clone();
    // The counter a line's port served at `at_ms`, by the feeder's clock.
    let expected = |l: usize, dir: i64, at_ms: i64| {
        let first = baseline[l].iter().find(|k| k.0 == dir).expect("baseline");
        let share = if dir == 0 { 1.0 } else { 0.5 };
        first.2 as f64 + share * feeder.download_at(at_ms)
    };
    let mut checked = 0;
    for delay in [2_000i64, 3_500, 2_000] {
        proxy.set(Fault::DelayRequests(Duration::from_millis(delay as u64)));
        std::thread::sleep(Duration::from_millis(300));
        let asked = jiff::Timestamp::now().as_millisecond();
        let now = d.poll_and_collect(&lines, &kept);
        let answered = jiff::Timestamp::now().as_millisecond();
        let (a, b) = (now[0][0], now[1][0]);
        // Read in different replies: seconds apart, after at least one held request.
        assert!(
            (b.1 - a.1).abs() >= delay * 3 / 4,
            "ports read {} ms apart through a {delay} ms path",
            b.1 - a.1
        );
        for (l, samples) in now.iter().enumerate() {
            for &(dir, at_ms, value) in samples {
                assert!(
                    at_ms >= asked + delay && at_ms <= answered,
                    "line {l}: sample at {at_ms}, poll from {asked} to {answered}"
                );
                // What the port had at the sample's time, within half a second of traffic
                // (the poll's start would be off by the delay, at least).
                let off_ms = (value as f64 - expected(l, dir, at_ms)) * 1000.0
                    / (RATE as f64 * if dir == 0 { 1.0 } else { 0.5 });
                assert!(
                    off_ms.abs() <= 500.0,
                    "line {l} direction {dir}: the counter is {off_ms:.0} ms of traffic away \
                     from its time ({delay} ms path)"
                );
                // The rate over the interval since the previous poll: the feeder's.
                let prev = kept[l].iter().find(|k| k.0 == dir).expect("previous");
                if prev.1 > feeder.start_ms {
                    let want = RATE as f64 * if dir == 0 { 1.0 } else { 0.5 };
                    let rate = (value - prev.2) as f64 * 1000.0 / (at_ms - prev.1) as f64;
                    assert!(
                        (rate - want).abs() <= want * 0.05,
                        "line {l} direction {dir}: {rate:.0} B/s measured, {want:.0} B/s \
                         sent (interval {} ms)",
                        at_ms - prev.1
                    );
                    checked += 1;
                }
            }
        }
        kept = now;
    }
    assert_eq!(checked, 8, "two intervals, two lines, two directions");
    drop(feeder);
    d.stop();
    drop(proxy);
    d_shutdown(device);
}
