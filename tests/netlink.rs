//! The server's own interfaces (kind = "local") read over netlink, in network namespaces made
//! by the test: two namespaces joined by a veth pair, the daemon (or the collector) in the
//! first. Needs root and iproute2; CI runs as root, so there a missing privilege is a failure.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use coopnocd::collect::observe::{Counter, Observation, ObservationBatch, Subject};

/// Whether this test can run here. Outside CI without root it says why and skips; in CI
/// (`CI` set) it fails, so that a lost privilege never turns into a silent pass.
fn can_run() -> bool {
    let root = nix::unistd::geteuid().is_root();
    let ip = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if root && ip {
        return true;
    }
    let why = if !root {
        "this test needs root (network namespaces)"
    } else {
        "`ip netns` (iproute2) is unavailable"
    };
    if std::env::var_os("CI").is_some() {
        panic!("{why}; CI must run the netlink tests as root with iproute2 installed");
    }
    eprintln!("SKIPPED: {why}");
    false
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The tests of this file run one at a time: iproute2 sets up /run/netns on first use and
/// `ip netns exec` remounts /sys, which concurrent namespace changes can trip on.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Two namespaces joined by a veth pair `<a>` (in the first, 10.231.N.1) and `<b>` (in the
/// second, 10.231.N.2); both deleted on drop, even when the test fails.
struct Pair {
    ns_a: String,
    ns_b: String,
    a: String,
    b: String,
    addr_a: String,
}

impl Pair {
    fn new(tag: char, subnet: u8) -> Pair {
        let pid = std::process::id();
        let pair = Pair {
            ns_a: format!("coopnoc-test-{pid}-{tag}a"),
            ns_b: format!("coopnoc-test-{pid}-{tag}b"),
            a: format!("cn{pid}{tag}a"),
            b: format!("cn{pid}{tag}b"),
            addr_a: format!("10.231.{subnet}.1"),
        };
        ip(&["netns", "add", &pair.ns_a]);
        ip(&["netns", "add", &pair.ns_b]);
        ip(&[
            "link", "add", &pair.a, "netns", &pair.ns_a, "type", "veth", "peer", "name", &pair.b,
            "netns", &pair.ns_b,
        ]);
        ip(&[
            "-n",
            &pair.ns_a,
            "addr",
            "add",
            &format!("10.231.{subnet}.1/24"),
            "dev",
            &pair.a,
        ]);
        ip(&[
            "-n",
            &pair.ns_b,
            "addr",
            "add",
            &format!("10.231.{subnet}.2/24"),
            "dev",
            &pair.b,
        ]);
        for (ns, dev) in [(&pair.ns_a, &pair.a), (&pair.ns_b, &pair.b)] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        // The kernel reports the new link operationally up within about a second.
        let started = Instant::now();
        loop {
            let out = Command::new("ip")
                .args(["-n", &pair.ns_a, "-br", "link", "show", "dev", &pair.a])
                .output()
                .expect("ip link show");
            if String::from_utf8_lossy(&out.stdout).contains(" UP ") {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the veth pair did not come up within 5s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        pair
    }

    /// Sets `dev` (in `ns`) administratively up or down.
    fn set(&self, ns: &str, dev: &str, up: bool) {
        ip(&["-n", ns, "link", "set", dev, if up { "up" } else { "down" }]);
    }

    /// Sends `count` UDP datagrams of `size` bytes from the second namespace to the first end.
    fn send_traffic(&self, count: usize, size: usize) {
        let ns = self.ns_b.clone();
        let target = format!("{}:9", self.addr_a);
        std::thread::spawn(move || {
            enter_netns(&ns);
            let socket = UdpSocket::bind("0.0.0.0:0").expect("bind a UDP socket");
            let payload = vec![0x5a; size];
            for _ in 0..count {
                // Nobody listens on port 9: the bytes still cross the veth, which is all we need.
                let _ = socket.send_to(&payload, &target);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
        .join()
        .expect("the traffic thread");
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in [&self.ns_a, &self.ns_b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Moves the calling thread into the network namespace `ns` (sockets it opens then live there).
fn enter_netns(ns: &str) {
    let file = std::fs::File::open(format!("/run/netns/{ns}")).expect("open the namespace");
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
}

/// Kills the daemon on drop, so a failing test leaves no process behind.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn write_config(dir: &Path, interfaces: &str) -> std::path::PathBuf {
    let path = dir.join("coopnoc.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[daemon]
state-directory = "{state}"

[ctl]
socket = "{state}/ctl.sock"

[reports]
enabled = false

[[device]]
name = "gw"
kind = "local"
interfaces = [{interfaces}]
"#,
            state = dir.display()
        ),
    )
    .expect("write the config");
    path
}

/// Link events of `subject` in the store, oldest first, as (old_state, new_state).
async fn events(db: &Path, subject: &str) -> Vec<(Option<String>, String)> {
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await
        .expect("open the store");
    sqlx::query_as("SELECT old_state, new_state FROM event WHERE subject_kind = 'device' AND subject = ? ORDER BY id")
        .bind(subject)
        .fetch_all(&mut conn)
        .await
        .expect("read events")
}

/// Waits up to `within` for the `n`th event of `subject` and returns it.
async fn wait_event(
    db: &Path,
    subject: &str,
    n: usize,
    within: Duration,
) -> (Option<String>, String) {
    let started = Instant::now();
    loop {
        let mut found = events(db, subject).await;
        if found.len() >= n {
            return found.swap_remove(n - 1);
        }
        assert!(
            started.elapsed() < within,
            "event #{n} of {subject} not in the store within {within:?}; events so far: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A real coopnocd inside the namespace sees a link go down and up within a second, whether
/// the link itself is set down or its far end (the carrier goes), and stores each change.
#[tokio::test(flavor = "current_thread")]
async fn daemon_records_link_down_and_up_within_a_second() {
    if !can_run() {
        return;
    }
    let _serial = ONE_AT_A_TIME.lock().await;
    let pair = Pair::new('d', 41);
    let dir = tempfile::tempdir().expect("temp dir");
    // A pattern, not the name: the tiny glob is part of what is tested.
    let config = write_config(dir.path(), &format!("\"cn{}d*\"", std::process::id()));
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &pair.ns_a,
            env!("CARGO_BIN_EXE_coopnocd"),
            "--config",
        ])
        .arg(&config)
        .env("COOPNOC_LOG", "info")
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start coopnocd");
    let mut daemon = Daemon(child);

    // Wait until the collector has seen our interface: changes are relative to that.
    let stderr = daemon.0.stderr.take().expect("stderr");
    let (lines_tx, lines_rx) = std_mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("coopnocd: {line}");
            let _ = lines_tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut said = Vec::new();
    loop {
        match lines_rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains(&format!("watching {} ", pair.a)) => {
                assert!(line.contains(", up"), "the veth should start up: {line}");
                break;
            }
            Ok(line) => said.push(line),
            Err(_) => {
                if let Some(status) = daemon.0.try_wait().expect("wait") {
                    panic!(
                        "coopnocd (under ip netns exec) exited with {status}:\n{}",
                        said.join("\n")
                    );
                }
                assert!(
                    Instant::now() < deadline,
                    "coopnocd did not report watching {} within 15s; it said:\n{}",
                    pair.a,
                    said.join("\n")
                );
            }
        }
    }

    let db = dir.path().join("coopnoc.db");
    let subject = format!("gw/{}", pair.a);
    let second = Duration::from_secs(1);
    // The kernel itself passes on at most one operational-state change of a link per second
    // (linkwatch); each change below comes a little more than a second after the previous one,
    // as a real uplink's would, and must then be in the store within a second.
    let settle = || tokio::time::sleep(Duration::from_millis(1100));

    settle().await;
    pair.set(&pair.ns_a, &pair.a, false);
    assert_eq!(
        wait_event(&db, &subject, 1, second).await,
        (None, "down".to_string())
    );
    settle().await;
    pair.set(&pair.ns_a, &pair.a, true);
    assert_eq!(
        wait_event(&db, &subject, 2, second).await,
        (Some("down".into()), "up".to_string())
    );

    // The far end goes away (cable pulled, radio lost): our end loses its carrier.
    settle().await;
    pair.set(&pair.ns_b, &pair.b, false);
    assert_eq!(
        wait_event(&db, &subject, 3, second).await,
        (Some("up".into()), "down".to_string())
    );
    settle().await;
    pair.set(&pair.ns_b, &pair.b, true);
    assert_eq!(
        wait_event(&db, &subject, 4, second).await,
        (Some("down".into()), "up".to_string())
    );

    // Only changes are events: nothing more arrives while the link stays up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(events(&db, &subject).await.len(), 4);

    // A clean stop still works with the collector running.
    let pid = nix::unistd::Pid::from_raw(daemon.0.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if let Some(status) = daemon.0.try_wait().expect("wait") {
            assert!(
                status.success(),
                "coopnocd exited with {status} after SIGTERM"
            );
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("coopnocd did not stop within 10s of SIGTERM");
}

/// The collector itself, run in the namespace: 64-bit counters move with the traffic sent
/// through the pair, and a link change arrives as a `LinkChange` at once.
#[test]
fn collector_counters_move_with_traffic() {
    if !can_run() {
        return;
    }
    let _serial = ONE_AT_A_TIME.blocking_lock();
    let pair = Pair::new('c', 42);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), &format!("\"{}\"", pair.a));
    let mut device = coopnocd::config::load(&config)
        .expect("the test config is valid")
        .devices
        .remove(0);
    // Faster than any config may ask (5s at least), so that the test stays short.
    device.poll.status_interval = Duration::from_millis(300);

    let (tx, mut rx) = tokio::sync::mpsc::channel::<ObservationBatch>(64);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let health = coopnocd::health::Health::new();
    let beat = health.register("collector", Duration::from_secs(5));
    let ns = pair.ns_a.clone();
    let stop = shutdown.clone();
    let collector = std::thread::spawn(move || {
        enter_netns(&ns);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(coopnocd::collect::local::run_local_device(
            device, tx, beat, stop,
        ));
    });

    let next_reading = |rx: &mut tokio::sync::mpsc::Receiver<ObservationBatch>| -> (u64, u64, u64) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let Ok(batch) = rx.try_recv() else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            assert_eq!(&*batch.device, "gw");
            let mut octets = None;
            let mut packets = None;
            let mut reachable = false;
            for item in &batch.items {
                match item {
                    Observation::Reachability {
                        reachable: r,
                        error,
                        ..
                    } => {
                        assert!(*r, "the kernel always answers: {error:?}");
                        reachable = true;
                    }
                    Observation::Interface {
                        subject: Subject::Interface { name, .. },
                        in_octets,
                        oper_up,
                        ..
                    } => {
                        assert_eq!(
                            &**name,
                            pair.a.as_str(),
                            "only the configured interface is read"
                        );
                        assert_eq!(*oper_up, Some(true));
                        match in_octets {
                            Some(Counter::C64(v)) => octets = Some(*v),
                            other => panic!("netlink gives 64-bit counters, got {other:?}"),
                        }
                    }
                    Observation::InterfaceStats {
                        in_packets: Counter::C64(p),
                        in_errors,
                        ..
                    } => {
                        assert_eq!(in_errors.value(), 0);
                        packets = Some(*p);
                    }
                    _ => {}
                }
            }
            if let (Some(o), Some(p)) = (octets, packets) {
                assert!(reachable, "a reading carries the device's reachability");
                return (o, p, batch.at.as_millisecond() as u64);
            }
        }
        panic!("no interface reading from the collector within 5s");
    };

    let (octets_before, packets_before, _) = next_reading(&mut rx);
    pair.send_traffic(50, 1000);
    // Readings are taken every 300ms: take the first one after the traffic was sent.
    while rx.try_recv().is_ok() {}
    let (octets_after, packets_after, _) = next_reading(&mut rx);
    assert!(
        octets_after >= octets_before + 50 * 1000,
        "rx bytes should grow by at least 50 kB: {octets_before} -> {octets_after}"
    );
    assert!(
        packets_after >= packets_before + 50,
        "rx packets: {packets_before} -> {packets_after}"
    );

    // A live change arrives without waiting for a reading.
    while rx.try_recv().is_ok() {}
    let sent = Instant::now();
    pair.set(&pair.ns_b, &pair.b, false);
    let mut seen = false;
    while sent.elapsed() < Duration::from_secs(1) && !seen {
        match rx.try_recv() {
            Ok(batch) => {
                seen = batch
                    .items
                    .iter()
                    .any(|i| matches!(i, Observation::LinkChange { up: false, .. }));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    assert!(
        seen,
        "no LinkChange(down) within 1s of the far end going down"
    );
    assert_eq!(health.check(), Ok(()), "the collector beats its heartbeat");

    shutdown.cancel();
    collector.join().expect("the collector thread");
}
