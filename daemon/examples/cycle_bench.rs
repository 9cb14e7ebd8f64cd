//! Full-cycle benchmark of issue 3: a simulated 10,000-line network (8 OLTs of 1,250 ONUs,
//! 100 radios, agents adding 2 ms per request) polled by the daemon's own poller, and what a
//! cycle costs the daemon. Not a test. See `bench/README.md` ("Full cycle") and `bench/cycle.sh`.
//!
//!     cycle_bench [--sim PATH] [--latency-ms 2] [--base-port 17100] [--cycles 5]
//!                 [--max-repetitions 10,25,50] [--json]
//!
//! * The network runs in a separate process (`coopnoc-sim bench --latency-ms N --base-port P`,
//!   a child killed at the end), so the CPU figures are the poller's alone.
//! * The devices are polled by the real poller: a `Config` is parsed from the TOML the sim's
//!   device list gives (default poll settings: window 1, timeout 2 s, 2 retries,
//!   max-repetitions as asked, adaptive), `poller::start` runs one task per device on ONE
//!   shared `Engine` (bound as the daemon binds it), and a cycle is `PollerHandle::poll_now`
//!   for every device at once: the task's own poll (scalars, then the label and status
//!   columns of the generic IF-MIB profile walked within the window, fallbacks...). The
//!   batches are taken in by `DeviceStates::apply`, as the daemon's consumer does (the SQLite
//!   store is left out: it is not the poller's cost).
//! * Two settings differ from the defaults, for scheduling only: status-interval 1h (no
//!   scheduled poll interferes with the measured ones once the first has run) and
//!   labels-interval 12s (so that the first measured cycle reads labels, as a 6-hourly one
//!   does, and the following ones do not). The poller's own first polls (spread over 10 s by
//!   its jitter, labels included, fresh sessions) run before the measured cycles; their CPU is
//!   reported as the "spread" line.
//!
//! For each max-repetitions setting it prints, per cycle: wall time, values taken in, SNMP
//! requests, the slowest device and its poll duration, the floor set by latency × requests /
//! window on the busiest device, the daemon's CPU-seconds (CLOCK_PROCESS_CPUTIME_ID: user+sys, what getrusage RUSAGE_SELF counts),
//! the sim's CPU-seconds (/proc/PID/stat of the child), the peak RSS so far and the UDP
//! datagrams the kernel dropped for a full receive buffer (system-wide RcvbufErrors).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coopnocd::collect::observe::{Observation, ObservationBatch};
use coopnocd::collect::poller;
use coopnocd::collect::snmp::Engine;
use coopnocd::config::{self, Config};
use coopnocd::model::devices::DeviceStates;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn usage() -> ! {
    eprintln!(
        "usage: cycle_bench [--sim PATH] [--latency-ms N] [--base-port P] [--cycles N] [--max-repetitions N[,N...]] [--json]"
    );
    std::process::exit(2)
}

struct Args {
    sim: std::path::PathBuf,
    latency_ms: u64,
    base_port: u16,
    cycles: usize,
    max_repetitions: Vec<u32>,
    json: bool,
}

fn args() -> Args {
    // The sim binary sits beside the examples folder in a cargo target directory.
    let default_sim = std::env::current_exe()
        .ok()
        .and_then(|p| {
            p.parent()
                .and_then(|d| d.parent())
                .map(|d| d.join("coopnoc-sim"))
        })
        .unwrap_or_else(|| "coopnoc-sim".into());
    let mut a = Args {
        sim: default_sim,
        latency_ms: 2,
        base_port: 17100,
        cycles: 5,
        max_repetitions: vec![10, 25, 50],
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--sim" => a.sim = value().into(),
            "--latency-ms" => a.latency_ms = value().parse().unwrap_or_else(|_| usage()),
            "--base-port" => a.base_port = value().parse().unwrap_or_else(|_| usage()),
            "--cycles" => {
                a.cycles = value()
                    .parse()
                    .ok()
                    .filter(|n| *n >= 2)
                    .unwrap_or_else(|| usage())
            }
            "--max-repetitions" => {
                a.max_repetitions = value()
                    .split(',')
                    .map(|v| v.trim().parse().unwrap_or_else(|_| usage()))
                    .collect()
            }
            "--json" => a.json = true,
            _ => usage(),
        }
    }
    a
}

// ---------------------------------------------------------------------------------------------
// Measures.

#[derive(Debug, Clone, Copy)]
struct Usage {
    cpu_s: f64,
    max_rss_kib: i64,
}

fn rusage() -> Usage {
    // CPU: CLOCK_PROCESS_CPUTIME_ID (user+sys of every thread, ns resolution), as getrusage's
    // RUSAGE_SELF counts it. Peak RSS: VmHWM, getrusage's ru_maxrss.
    let cpu_s = nix::time::clock_gettime(nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID)
        .map(|t| t.tv_sec() as f64 + t.tv_nsec() as f64 / 1e9)
        .unwrap_or(0.0);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let max_rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    Usage { cpu_s, max_rss_kib }
}

/// utime + stime of another process (the sim), from /proc (USER_HZ is 100 on Linux).
fn cpu_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// UDP datagrams the kernel dropped for want of receive-buffer room (RcvbufErrors, IPv4 and
/// IPv6, system-wide): a burst of replies to the one shared socket can overflow it.
fn udp_rcvbuf_errors() -> u64 {
    let v4 = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let lines: Vec<&str> = v4.lines().filter(|l| l.starts_with("Udp: ")).collect();
    let mut n = 0;
    if let [names, values] = lines[..]
        && let Some(i) = names.split_whitespace().position(|f| f == "RcvbufErrors")
    {
        n += values
            .split_whitespace()
            .nth(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    let v6 = std::fs::read_to_string("/proc/net/snmp6").unwrap_or_default();
    n + v6
        .lines()
        .find_map(|l| l.strip_prefix("Udp6RcvbufErrors"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0)
}

/// SNMP values an observation carries (what the poller read and handed on).
fn values_in(o: &Observation) -> u64 {
    let n = |b: bool| b as u64;
    match o {
        Observation::Uptime { .. } => 1,
        Observation::System {
            descr,
            object_id,
            name,
        } => n(descr.is_some()) + n(object_id.is_some()) + n(name.is_some()),
        Observation::Interface {
            oper_up,
            in_octets,
            out_octets,
            speed_bps,
            discontinuity,
            ..
        } => {
            n(oper_up.is_some())
                + n(in_octets.is_some())
                + n(out_octets.is_some())
                + n(speed_bps.is_some())
                + n(discontinuity.is_some())
        }
        Observation::InterfaceLabels {
            name,
            descr,
            alias,
            if_type,
            ..
        } => n(name.is_some()) + n(descr.is_some()) + n(alias.is_some()) + n(if_type.is_some()),
        _ => 0,
    }
}

/// What the consumer saw of one device's last batch.
#[derive(Debug, Clone, Default)]
struct DeviceSeen {
    batches: u64,
    values: u64,
    labels: bool,
    requests: u64,
    timeouts: u64,
    too_big: u64,
    max_repetitions: u32,
    duration: Duration,
    error: Option<String>,
    anomalies: u64,
}

#[derive(Default)]
struct Seen {
    devices: HashMap<String, DeviceSeen>,
    batches: u64,
    last_batch: Option<Instant>,
}

/// The daemon's consumer, minus the store: the in-memory device state takes in every batch.
async fn consume(
    mut rx: mpsc::Receiver<ObservationBatch>,
    mut states: DeviceStates,
    seen: Arc<Mutex<Seen>>,
) {
    while let Some(batch) = rx.recv().await {
        let _ = states.apply(&batch);
        let mut d = DeviceSeen::default();
        for item in &batch.items {
            d.values += values_in(item);
            match item {
                Observation::InterfaceLabels { .. } | Observation::System { .. } => d.labels = true,
                Observation::Poll {
                    duration, error, ..
                } => {
                    d.duration = *duration;
                    d.error = error.clone();
                }
                Observation::CollectorHealth(h) => {
                    d.requests = h.requests;
                    d.timeouts = h.timeouts;
                    d.too_big = h.too_big;
                    d.max_repetitions = h.max_repetitions;
                }
                Observation::Anomaly { .. } => d.anomalies += 1,
                _ => {}
            }
        }
        let mut s = seen.lock().expect("seen");
        s.batches += 1;
        s.last_batch = Some(Instant::now());
        let prev = s.devices.entry(batch.device.to_string()).or_default();
        d.batches = prev.batches + 1;
        // Health counters are cumulative: keep them so, cycles take differences.
        *prev = d;
    }
}

// ---------------------------------------------------------------------------------------------
// The simulated network, in its own process.

struct Sim {
    child: Child,
    devices: Vec<(String, String, String, String)>,
    lines: String,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(a: &Args) -> anyhow::Result<Sim> {
    let child = Command::new(&a.sim)
        .args([
            "bench",
            "--latency-ms",
            &a.latency_ms.to_string(),
            "--base-port",
            &a.base_port.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot start {} (build it: cargo build --release -p coopnoc-sim): {e}",
                a.sim.display()
            )
        })?;
    let mut sim = Sim {
        child,
        devices: Vec::new(),
        lines: String::new(),
    };
    let out = sim
        .child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    for line in BufReader::new(out).lines() {
        let line = line?;
        if let Some(rest) = line.strip_prefix("# ") {
            if rest.contains(" devices, ") {
                sim.lines = rest.to_string();
                return Ok(sim);
            }
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() >= 4 {
            sim.devices
                .push((f[0].into(), f[1].into(), f[2].into(), f[3].into()));
        }
    }
    anyhow::bail!("coopnoc-sim ended before listing its devices")
}

fn config_for(sim: &Sim, max_repetitions: u32) -> anyhow::Result<Config> {
    let mut toml = String::from(
        "[daemon]\nstate-directory = \"/tmp\"\ntime-zone = \"UTC\"\n[http]\nenabled = false\n",
    );
    // Defaults except the two scheduling settings explained at the top.
    toml += &format!(
        "[poll]\nstatus-interval = \"1h\"\nlabels-interval = \"12s\"\nmax-repetitions = {max_repetitions}\n"
    );
    toml += "[[site]]\nname = \"bench\"\n";
    for (name, kind, addr, community) in &sim.devices {
        toml += &format!(
            "[[device]]\nname = \"{name}\"\nsite = \"bench\"\nkind = \"{kind}\"\naddress = \"{addr}\"\nsnmp = {{ version = \"2c\", community = \"{community}\" }}\n"
        );
    }
    config::parse(&toml, std::path::Path::new("/tmp")).map_err(|problems| {
        anyhow::anyhow!(
            "config: {}",
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })
}

// ---------------------------------------------------------------------------------------------

struct CycleReport {
    max_repetitions: u32,
    name: String,
    wall_s: f64,
    values: u64,
    requests: u64,
    timeouts: u64,
    too_big: u64,
    errors: u64,
    anomalies: u64,
    labels_devices: usize,
    slowest: String,
    slowest_s: f64,
    busiest_requests: u64,
    floor_s: f64,
    cpu_s: f64,
    sim_cpu_s: f64,
    max_rss_mib: f64,
    bulk_now: String,
    drops: u64,
}

impl CycleReport {
    fn print(&self, json: bool) {
        if json {
            println!(
                "{{\"max_repetitions\":{},\"cycle\":\"{}\",\"wall_s\":{:.4},\"values\":{},\"requests\":{},\"timeouts\":{},\"too_big\":{},\"errors\":{},\"anomalies\":{},\"labels_devices\":{},\"slowest\":\"{}\",\"slowest_s\":{:.4},\"busiest_requests\":{},\"floor_s\":{:.4},\"cpu_s\":{:.4},\"sim_cpu_s\":{:.3},\"max_rss_mib\":{:.1},\"bulk_now\":\"{}\",\"udp_drops\":{}}}",
                self.max_repetitions,
                self.name,
                self.wall_s,
                self.values,
                self.requests,
                self.timeouts,
                self.too_big,
                self.errors,
                self.anomalies,
                self.labels_devices,
                self.slowest,
                self.slowest_s,
                self.busiest_requests,
                self.floor_s,
                self.cpu_s,
                self.sim_cpu_s,
                self.max_rss_mib,
                self.bulk_now,
                self.drops
            );
        } else {
            println!(
                "{:>3} {:<9} {:>7.3} {:>8} {:>6} {:>7.3} {:>7.3} {:>7.3} {:>8.1} {:>5}/{:<4} {:>2}/{:<2}/{:<2} {:>5} {:>16} {:>6.3}  {}",
                self.max_repetitions,
                self.name,
                self.wall_s,
                self.values,
                self.requests,
                self.floor_s,
                self.cpu_s,
                self.sim_cpu_s,
                self.max_rss_mib,
                self.busiest_requests,
                self.labels_devices,
                self.timeouts,
                self.too_big,
                self.errors,
                self.drops,
                self.slowest,
                self.slowest_s,
                self.bulk_now
            );
        }
    }
}

fn header(json: bool) {
    if !json {
        println!(
            "rep cycle        wall-s   values   reqs floor-s  cpu-s  simcpu peakRSS-MiB busy/lbl tmo/big/err drops   slowest-device  dur-s  max-reps-now"
        );
    }
}

/// Compares the consumer's view before and after a cycle.
#[allow(clippy::too_many_arguments)]
fn report(
    max_repetitions: u32,
    name: &str,
    wall: Duration,
    before: &HashMap<String, DeviceSeen>,
    after: &HashMap<String, DeviceSeen>,
    latency: Duration,
    window: u32,
    cpu: f64,
    sim_cpu: f64,
) -> CycleReport {
    let mut r = CycleReport {
        max_repetitions,
        name: name.to_string(),
        wall_s: wall.as_secs_f64(),
        values: 0,
        requests: 0,
        timeouts: 0,
        too_big: 0,
        errors: 0,
        anomalies: 0,
        labels_devices: 0,
        slowest: String::new(),
        slowest_s: 0.0,
        busiest_requests: 0,
        floor_s: 0.0,
        cpu_s: cpu,
        sim_cpu_s: sim_cpu,
        max_rss_mib: rusage().max_rss_kib as f64 / 1024.0,
        bulk_now: String::new(),
        drops: 0,
    };
    let mut bulk: std::collections::BTreeMap<u32, usize> = Default::default();
    for (device, a) in after {
        let b = before.get(device).cloned().unwrap_or_default();
        if a.batches == b.batches {
            continue;
        }
        let requests = a.requests - b.requests;
        r.values += a.values;
        r.requests += requests;
        r.timeouts += a.timeouts - b.timeouts;
        r.too_big += a.too_big - b.too_big;
        r.errors += a.error.is_some() as u64;
        r.anomalies += a.anomalies;
        r.labels_devices += a.labels as usize;
        if a.duration.as_secs_f64() > r.slowest_s {
            r.slowest_s = a.duration.as_secs_f64();
            r.slowest = device.clone();
        }
        r.busiest_requests = r.busiest_requests.max(requests);
        if device.starts_with("olt") {
            *bulk.entry(a.max_repetitions).or_default() += 1;
        }
    }
    // Devices are polled in parallel, a device's requests one window at a time: the cycle
    // cannot end before the busiest device's requests × latency / window.
    r.floor_s = r.busiest_requests as f64 * latency.as_secs_f64() / window.max(1) as f64;
    r.bulk_now = bulk
        .iter()
        .map(|(m, n)| format!("{n} OLTs at {m}"))
        .collect::<Vec<_>>()
        .join(", ");
    r
}

async fn run_setting(
    a: &Args,
    sim: &Sim,
    engine: Arc<Engine>,
    max_repetitions: u32,
) -> anyhow::Result<Vec<CycleReport>> {
    let cfg = config_for(sim, max_repetitions)?;
    let window = cfg.poll.window;
    let latency = Duration::from_millis(a.latency_ms);
    let names: Vec<String> = cfg.devices.iter().map(|d| d.name.clone()).collect();
    let states = DeviceStates::new(&cfg.devices);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (tx, rx) = mpsc::channel(poller::CHANNEL_CAPACITY);
    let consumer = tokio::spawn(consume(rx, states, seen.clone()));
    let shutdown = CancellationToken::new();
    let mut set = tokio::task::JoinSet::new();
    let snapshot = || seen.lock().expect("seen").devices.clone();
    let batches = || seen.lock().expect("seen").batches;

    // The poller's own first polls: spread over (at most) 10 s, labels included.
    let (u0, s0) = (rusage(), cpu_of(sim.child.id()));
    let t0 = Instant::now();
    let handle = poller::start(&cfg, engine.clone(), tx, &mut set, shutdown.clone());
    while batches() < names.len() as u64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if t0.elapsed() > Duration::from_secs(60) {
            anyhow::bail!("the first polls did not end within 60 s");
        }
    }
    let spread = report(
        max_repetitions,
        "spread",
        t0.elapsed(),
        &HashMap::new(),
        &snapshot(),
        latency,
        window,
        rusage().cpu_s - u0.cpu_s,
        cpu_of(sim.child.id()) - s0,
    );
    // Labels become due again 12 s after each device's first poll: wait for that.
    let last = seen
        .lock()
        .expect("seen")
        .last_batch
        .unwrap_or_else(Instant::now);
    tokio::time::sleep_until((last + Duration::from_millis(12_300)).into()).await;

    let mut out = vec![spread];
    for cycle in 1..=a.cycles {
        let before = snapshot();
        let expected = batches() + names.len() as u64;
        let (u0, s0, d0) = (rusage(), cpu_of(sim.child.id()), udp_rcvbuf_errors());
        let t = Instant::now();
        let polls = names
            .iter()
            .map(|n| handle.poll_now(n, Duration::from_secs(60)));
        let results = futures_util::future::join_all(polls).await;
        // poll_now returns once the batch is on the channel: wait until it is taken in.
        while batches() < expected {
            tokio::task::yield_now().await;
        }
        let wall = t.elapsed();
        let (cpu, sim_cpu) = (rusage().cpu_s - u0.cpu_s, cpu_of(sim.child.id()) - s0);
        for (n, r) in names.iter().zip(&results) {
            if let Err(e) = r {
                eprintln!("cycle {cycle}: {n}: {e}");
            }
        }
        let name = if cycle == 1 {
            "labels".to_string()
        } else {
            format!("status{}", cycle - 1)
        };
        let mut r = report(
            max_repetitions,
            &name,
            wall,
            &before,
            &snapshot(),
            latency,
            window,
            cpu,
            sim_cpu,
        );
        r.drops = udp_rcvbuf_errors() - d0;
        out.push(r);
    }
    shutdown.cancel();
    while set.join_next().await.is_some() {}
    drop(handle);
    let _ = consumer.await;
    Ok(out)
}

fn main() -> anyhow::Result<()> {
    let a = args();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let sim = start_sim(&a)?;
    eprintln!("coopnoc-sim (pid {}): {}", sim.child.id(), sim.lines);
    // The daemon's runtime: multi-threaded, 2 workers (daemon/src/main.rs).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let reports = runtime.block_on(async {
        let engine = Arc::new(Engine::bind(None).await?);
        let mut all = Vec::new();
        header(a.json);
        for &m in &a.max_repetitions {
            let reports = run_setting(&a, &sim, engine.clone(), m).await?;
            for r in &reports {
                r.print(a.json);
            }
            all.extend(reports);
        }
        let c = engine.counters();
        eprintln!(
            "engine: {} replies correlated, {} discarded, {} malformed",
            c.correlated, c.discarded, c.malformed
        );
        Ok::<_, anyhow::Error>(all)
    })?;
    if !a.json {
        println!("\nsteady state (status cycles, median), per max-repetitions:");
        for &m in &a.max_repetitions {
            let mut status: Vec<&CycleReport> = reports
                .iter()
                .filter(|r| r.max_repetitions == m && r.name.starts_with("status"))
                .collect();
            if status.is_empty() {
                continue;
            }
            let median = |f: &dyn Fn(&CycleReport) -> f64| {
                let mut v: Vec<f64> = status.iter().map(|r| f(r)).collect();
                v.sort_by(|x, y| x.total_cmp(y));
                v[v.len() / 2]
            };
            let labels = reports
                .iter()
                .find(|r| r.max_repetitions == m && r.name == "labels");
            println!(
                "  max-rep {m:>3}: status cycle {:.3} s wall, {:.3} CPU-s, {} values, {} requests (floor {:.3} s); labels cycle {:.3} s wall, {:.3} CPU-s, {} values",
                median(&|r| r.wall_s),
                median(&|r| r.cpu_s),
                median(&|r| r.values as f64),
                median(&|r| r.requests as f64),
                median(&|r| r.floor_s),
                labels.map_or(0.0, |r| r.wall_s),
                labels.map_or(0.0, |r| r.cpu_s),
                labels.map_or(0, |r| r.values),
            );
            status.clear();
        }
        println!("  peak RSS {:.1} MiB", rusage().max_rss_kib as f64 / 1024.0);
    }
    drop(sim);
    Ok(())
}
