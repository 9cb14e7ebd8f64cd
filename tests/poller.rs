//! The poller inside the daemon: devices polled against a real snmpd and a silent address,
//! state shown over the control socket (`device list`, `device show`, `poll`), and a device
//! that stops answering becomes unreachable, with an event in the store.

mod common;
mod snmp_support;

use std::time::{Duration, Instant};

use coopnoc_proto::Client;
use coopnoc_proto::{Request, Response};
use tokio_util::sync::CancellationToken;

fn config(dir: &std::path::Path, snmpd_port: u16, silent_port: u16) -> coopnocd::config::Config {
    let text = format!(
        r#"
[daemon]
state-directory = "{state}"
shutdown-timeout = "5s"

[ctl]
socket = "{state}/ctl.sock"

[reports]
enabled = false

[[device]]
name = "switch-dc"
kind = "switch"
address = "127.0.0.1:{snmpd_port}"
snmp = {{ version = "2c", community = "public" }}
poll = {{ status-interval = "5s", max-repetitions = 25 }}

[[device]]
name = "olt-silent"
kind = "olt"
address = "127.0.0.1:{silent_port}"
snmp = {{ version = "2c", community = "public" }}
poll = {{ timeout = "150ms", retries = 0, unreachable-after = 2, status-interval = "5s", unreachable-interval = "10s" }}
"#,
        state = dir.join("state").display()
    );
    coopnocd::config::parse(&text, dir).unwrap_or_else(|p| panic!("test config: {p:?}"))
}

async fn call(client: &mut Client, request: Request) -> Response {
    client.call(&request).await.expect("the daemon answers")
}

#[tokio::test]
async fn devices_are_polled_shown_and_judged_unreachable() {
    let agent = snmp_support::start_snmpd();
    // An address where a socket exists but nobody answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("silent socket");
    let silent_port = silent.local_addr().expect("address").port();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path(), agent.port, silent_port);
    let socket = config.ctl.socket.clone();
    let db = config.database_path();

    let daemon = common::DaemonThread::start(config);
    let mut client = common::connect(&socket, Duration::from_secs(10)).await;

    // Poll now: the result comes back with the device's state.
    let answer = call(
        &mut client,
        Request::Poll {
            device: "switch-dc".into(),
        },
    )
    .await;
    let Response::Device(d) = answer else {
        panic!("poll answers with the device, not {answer:?}");
    };
    assert_eq!(d.summary.state, "reachable");
    assert!(d.summary.polls >= 1);
    assert!(d.sys_descr.is_some() && d.uptime_seconds.is_some(), "{d:?}");
    let lo = d
        .interfaces
        .iter()
        .find(|i| i.name.as_deref() == Some("lo"))
        .expect("snmpd shows lo");
    assert_eq!(lo.oper.as_deref(), Some("up"));
    assert_eq!(lo.counter_bits, Some(64));
    assert!(lo.in_octets.is_some());
    assert!(
        d.health.requests >= 2 && d.health.timeouts == 0,
        "{:?}",
        d.health
    );

    // The silent device: unknown after one failure, unreachable after two; each poll within
    // its budget.
    let t = Instant::now();
    let Response::Device(d) = call(
        &mut client,
        Request::Poll {
            device: "olt-silent".into(),
        },
    )
    .await
    else {
        panic!("poll answers with the device");
    };
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(d.summary.consecutive_failures >= 1);
    assert!(
        d.last_errors[0].message.contains("no answer"),
        "{:?}",
        d.last_errors
    );
    let Response::Device(d) = call(
        &mut client,
        Request::Poll {
            device: "olt-silent".into(),
        },
    )
    .await
    else {
        panic!("poll answers with the device");
    };
    assert_eq!(d.summary.state, "unreachable", "{:?}", d.summary);

    let Response::Devices { devices } = call(&mut client, Request::DeviceList).await else {
        panic!("device list answers with devices");
    };
    let states: Vec<(&str, &str)> = devices
        .iter()
        .map(|d| (d.name.as_str(), d.state.as_str()))
        .collect();
    assert!(states.contains(&("switch-dc", "reachable")), "{states:?}");
    assert!(
        states.contains(&("olt-silent", "unreachable")),
        "{states:?}"
    );

    // Unknown names are a clear refusal.
    let r = call(
        &mut client,
        Request::DeviceShow {
            device: "nope".into(),
        },
    )
    .await;
    assert!(
        matches!(r, Response::Error(ref e) if e.message.contains("nope")),
        "{r:?}"
    );
    let r = call(
        &mut client,
        Request::Poll {
            device: "nope".into(),
        },
    )
    .await;
    assert!(matches!(r, Response::Error(_)), "{r:?}");

    // The change is an event in the store.
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut found = false;
    for _ in 0..50 {
        let pool = sqlx::SqlitePool::connect(&url)
            .await
            .expect("open the store read-only");
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT subject, new_state FROM event WHERE subject_kind = 'device'")
                .fetch_all(&pool)
                .await
                .expect("query events");
        pool.close().await;
        if rows.contains(&("olt-silent".to_string(), "unreachable".to_string())) {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(found, "an event says olt-silent became unreachable");

    drop(client);
    daemon.stop(Duration::from_secs(8));
    drop(silent);
}

/// The daemon as a process, killed if the test fails half way.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(pid: u32, name: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

async fn device_names(socket: &std::path::Path) -> Vec<String> {
    let mut client = Client::connect(socket, Duration::from_secs(5))
        .await
        .expect("connect");
    let Response::Devices { devices } = call(&mut client, Request::DeviceList).await else {
        panic!("device list answers with devices");
    };
    devices.into_iter().map(|d| d.name).collect()
}

#[tokio::test]
async fn sighup_adds_and_removes_polled_devices() {
    let agent = snmp_support::start_snmpd();
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("silent socket");
    let silent_port = silent.local_addr().expect("address").port();
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");
    let socket = state.join("ctl.sock");
    let file = dir.path().join("coopnoc.toml");
    let head = format!(
        "[daemon]\nstate-directory = \"{}\"\n[ctl]\nsocket = \"{}\"\n[reports]\nenabled = false\n",
        state.display(),
        socket.display()
    );
    let silent_device = format!(
        "[[device]]\nname = \"olt-silent\"\nkind = \"olt\"\naddress = \"127.0.0.1:{silent_port}\"\nsnmp = {{ version = \"2c\", community = \"x\" }}\npoll = {{ timeout = \"100ms\", retries = 0 }}\n"
    );
    let snmpd_device = format!(
        "[[device]]\nname = \"switch-dc\"\nkind = \"switch\"\naddress = \"127.0.0.1:{}\"\nsnmp = {{ version = \"2c\", community = \"public\" }}\n",
        agent.port
    );
    std::fs::write(&file, format!("{head}{silent_device}")).expect("write config");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_coopnocd"))
        .arg("--config")
        .arg(&file)
        .stderr(std::fs::File::create(dir.path().join("stderr")).expect("stderr file"))
        .spawn()
        .expect("start coopnocd");
    let mut daemon = Daemon(child);
    let pid = daemon.0.id();
    let started = Instant::now();
    while !socket.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no control socket"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(device_names(&socket).await, vec!["olt-silent"]);

    // Add a device: it is polled after SIGHUP.
    std::fs::write(&file, format!("{head}{silent_device}{snmpd_device}")).expect("write config");
    signal(pid, "HUP");
    let t = Instant::now();
    while device_names(&socket).await.len() != 2 {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the new device did not appear"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut client = Client::connect(&socket, Duration::from_secs(10))
        .await
        .expect("connect");
    let t = Instant::now();
    let d = loop {
        // The poller restarts after the state shows the device: retry until it answers.
        match call(
            &mut client,
            Request::Poll {
                device: "switch-dc".into(),
            },
        )
        .await
        {
            Response::Device(d) => break d,
            other => {
                assert!(t.elapsed() < Duration::from_secs(5), "{other:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(d.summary.state, "reachable");

    // Remove one: it is no longer listed or polled.
    std::fs::write(&file, format!("{head}{snmpd_device}")).expect("write config");
    signal(pid, "HUP");
    let t = Instant::now();
    while device_names(&socket).await != vec!["switch-dc"] {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the removed device is still listed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = call(
        &mut client,
        Request::Poll {
            device: "olt-silent".into(),
        },
    )
    .await;
    assert!(matches!(r, Response::Error(_)), "{r:?}");

    drop(client);
    signal(pid, "TERM");
    let t = Instant::now();
    let status = loop {
        if let Some(s) = daemon.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "coopnocd did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default();
    assert!(status.success(), "{status:?}\n{stderr}");
    assert!(stderr.contains("SNMP poller restarted"), "{stderr}");
    drop(silent);
}

/// Vendor profiles in the poller: snmpsimd replays a ZTE C320 (optics on) and a Cambium ePMP
/// AP; each is detected from its sysObjectID (and probes), its tables walked on their
/// schedules and decoded; `device show` tells the profile and the ONUs/stations found, which
/// must be the recording's rows. A device forced to a profile that does not exist says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_profiles_are_detected_walked_and_shown() {
    let agent = snmp_support::start_snmpsim();
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        r#"
[daemon]
state-directory = "{state}"
shutdown-timeout = "5s"

[ctl]
socket = "{state}/ctl.sock"

[reports]
enabled = false

[poll]
status-interval = "10m"
timeout = "3s"
retries = 1
max-repetitions = 25

[[device]]
name = "olt-zte"
kind = "olt"
address = "127.0.0.1:{port}"
snmp = {{ version = "2c", community = "zxa10_c320v2" }}
poll = {{ optics = true }}

[[device]]
name = "ap-epmp"
kind = "radio"
address = "127.0.0.1:{port}"
snmp = {{ version = "2c", community = "epmp_epmp-ap-connected-sta" }}

[[device]]
name = "olt-typo"
kind = "olt"
address = "127.0.0.1:{port}"
profile = "zte-c999"
snmp = {{ version = "2c", community = "zxa10_c320v2" }}
"#,
        state = dir.path().join("state").display(),
        port = agent.port
    );
    let config =
        coopnocd::config::parse(&text, dir.path()).unwrap_or_else(|p| panic!("test config: {p:?}"));
    let socket = config.ctl.socket.clone();
    let daemon = common::DaemonThread::start(config);
    let mut client = common::connect(&socket, Duration::from_secs(25)).await;

    // The OLT: detected by sysObjectID; 458 ONU rows in zxAnPonRxOpticalPower, read on the
    // slow schedule because optics are on for it.
    let Response::Device(d) = call(
        &mut client,
        Request::Poll {
            device: "olt-zte".into(),
        },
    )
    .await
    else {
        panic!("poll answers with the device");
    };
    assert_eq!(d.summary.state, "reachable", "{d:?}");
    assert_eq!(
        (d.profile.as_deref(), d.profile_by.as_deref()),
        (Some("zte-c3xx"), Some("matched")),
        "{d:?}"
    );
    assert_eq!(d.profile_name.as_deref(), Some("ZTE ZXA10 C300/C320"));
    assert_eq!(d.profile_error, None);
    assert_eq!(d.lines_seen, 458, "ONUs seen");
    // Interfaces are still the poller's own IF-MIB reading, named.
    assert!(
        d.interfaces
            .iter()
            .any(|i| i.name.as_deref() == Some("gpon_1/1/1")),
        "{:?}",
        d.interfaces
    );

    // The AP: six connected stations, found on the status schedule.
    let Response::Device(d) = call(
        &mut client,
        Request::Poll {
            device: "ap-epmp".into(),
        },
    )
    .await
    else {
        panic!("poll answers with the device");
    };
    assert_eq!(
        (d.profile.as_deref(), d.profile_by.as_deref()),
        (Some("cambium-epmp"), Some("matched")),
        "{d:?}"
    );
    assert_eq!(d.lines_seen, 6, "stations seen");

    // A profile the config names but nobody wrote: a clear error in the device's state, and
    // the device is still polled (generic IF-MIB).
    let Response::Device(d) = call(
        &mut client,
        Request::Poll {
            device: "olt-typo".into(),
        },
    )
    .await
    else {
        panic!("poll answers with the device");
    };
    let error = d.profile_error.clone().unwrap_or_default();
    assert!(
        error.contains("zte-c999") && error.contains("no profile"),
        "{d:?}"
    );
    assert!(
        d.last_errors.iter().any(|e| e.message.contains("zte-c999")),
        "{:?}",
        d.last_errors
    );
    assert_eq!(d.summary.state, "reachable");
    assert_eq!(d.lines_seen, 0);

    // What `device show` reads is the same state.
    let Response::Device(d) = call(
        &mut client,
        Request::DeviceShow {
            device: "olt-zte".into(),
        },
    )
    .await
    else {
        panic!("device show answers with the device");
    };
    assert_eq!(
        (d.profile.as_deref(), d.lines_seen),
        (Some("zte-c3xx"), 458)
    );

    drop(client);
    daemon.stop(Duration::from_secs(8));
}

/// What the vendor profile decodes travels in the device's batch, beside the poller's own
/// IF-MIB observations: the ZTE's 458 ONU optical readings (82 of them "no reading"), the
/// detection and what was found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vendor_profile_observations_are_in_the_device_batch() {
    use coopnocd::collect::observe::{Observation, Subject};
    let agent = snmp_support::start_snmpsim();
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        "[reports]\nenabled = false\n[[device]]\nname = \"olt-zte\"\nkind = \"olt\"\naddress = \"127.0.0.1:{}\"\n\
         snmp = {{ version = \"2c\", community = \"zxa10_c320v2\" }}\npoll = {{ optics = true, status-interval = \"5s\", max-repetitions = 25 }}\n",
        agent.port
    );
    let config =
        coopnocd::config::parse(&text, dir.path()).unwrap_or_else(|p| panic!("test config: {p:?}"));
    let engine = std::sync::Arc::new(
        coopnocd::collect::snmp::Engine::bind_on("127.0.0.1:0")
            .await
            .expect("engine"),
    );
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let mut set = tokio::task::JoinSet::new();
    let shutdown = CancellationToken::new();
    // Kept: a device task stops when nobody can ask it for a poll any more.
    let _handle = coopnocd::collect::poller::start(&config, engine, tx, &mut set, shutdown.clone());
    let batch = tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .expect("a batch in time")
        .expect("a batch");
    shutdown.cancel();

    let onu_optics: Vec<Option<f64>> = batch
        .items
        .iter()
        .filter_map(|o| match o {
            Observation::Optical {
                subject: Subject::Onu { .. },
                olt_rx_dbm,
                ..
            } => Some(*olt_rx_dbm),
            _ => None,
        })
        .collect();
    assert_eq!(onu_optics.len(), 458);
    assert_eq!(
        onu_optics.iter().filter(|x| x.is_none()).count(),
        82,
        "-80000 is no reading"
    );
    let detection = batch.items.iter().find_map(|o| match o {
        Observation::Profile { detection } => Some(detection.clone()),
        _ => None,
    });
    assert_eq!(
        detection
            .expect("a detection")
            .expect("a profile")
            .profile
            .id,
        "zte-c3xx"
    );
    let found = batch.items.iter().find_map(|o| match o {
        Observation::Discovered { items } => Some(items.clone()),
        _ => None,
    });
    let found = found.expect("what was found");
    assert_eq!(
        found
            .iter()
            .filter(|d| matches!(d.subject, Subject::Onu { .. }))
            .count(),
        458
    );
    let first = found
        .iter()
        .find(|d| d.index == vec![285278465, 1])
        .expect("the first ONU row");
    assert_eq!(
        first.key.as_ref().map(|k| k.1.as_str()),
        Some("gpon_1/1/1:1")
    );
    // Interfaces once each: the poller's own, not again from the profile's decode.
    let mut interfaces: Vec<u32> = batch
        .items
        .iter()
        .filter_map(|o| match o {
            Observation::Interface {
                subject: Subject::Interface { index, .. },
                ..
            } => Some(*index),
            _ => None,
        })
        .collect();
    let all = interfaces.len();
    interfaces.sort_unstable();
    interfaces.dedup();
    assert!(
        all > 0 && all == interfaces.len(),
        "{all} interface observations, {} interfaces",
        interfaces.len()
    );
    while set.join_next().await.is_some() {}
}

/// A switch whose ports do not all have 64-bit counters (a 10 Mb/s port on an old line card):
/// each port is read with the widest counters it has, none is left without.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ports_without_64_bit_counters_fall_back_to_32_bit_one_by_one() {
    use coopnoc_sim::{CounterWidth, Octets, ScriptedDevice, ScriptedPort, ScriptedSpec};
    let device = ScriptedDevice::start(ScriptedSpec::new(
        "sw-mixed",
        vec![
            ScriptedPort::new(1, "ge-0/0/1", "uplink", 1_000_000_000, CounterWidth::Hc64),
            ScriptedPort::new(2, "fe-0/0/2", "L-0002", 10_000_000, CounterWidth::Only32),
        ],
    ))
    .await
    .expect("scripted device");
    let h = device.handle();
    h.set_octets(
        1,
        Octets {
            in_octets: 5_000_000_000,
            out_octets: 7_000_000_000,
        },
    );
    h.set_octets(
        2,
        Octets {
            in_octets: 1_234,
            out_octets: 5_678,
        },
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        "[daemon]\nstate-directory = \"{state}\"\nshutdown-timeout = \"5s\"\n\n[ctl]\nsocket = \"{state}/ctl.sock\"\n\n\
         [reports]\nenabled = false\n\n[[device]]\nname = \"sw-mixed\"\nkind = \"switch\"\naddress = \"{addr}\"\n\
         snmp = {{ version = \"2c\", community = \"{community}\" }}\npoll = {{ status-interval = \"1h\" }}\n",
        state = dir.path().join("state").display(),
        addr = device.addr,
        community = device.community,
    );
    let config =
        coopnocd::config::parse(&text, dir.path()).unwrap_or_else(|p| panic!("test config: {p:?}"));
    let socket = config.ctl.socket.clone();
    let daemon = common::DaemonThread::start(config);
    let mut client = common::connect(&socket, Duration::from_secs(10)).await;
    let Response::Device(d) = call(
        &mut client,
        Request::Poll {
            device: "sw-mixed".into(),
        },
    )
    .await
    else {
        panic!("poll")
    };
    let port = |i: u32| {
        d.interfaces
            .iter()
            .find(|p| p.index == i)
            .cloned()
            .expect("port")
    };
    let (p1, p2) = (port(1), port(2));
    assert_eq!(
        (p1.counter_bits, p1.in_octets, p1.out_octets),
        (Some(64), Some(5_000_000_000), Some(7_000_000_000)),
        "{p1:?}"
    );
    assert_eq!(
        (p2.counter_bits, p2.in_octets, p2.out_octets),
        (Some(32), Some(1_234), Some(5_678)),
        "{p2:?}"
    );
    drop(client);
    daemon.stop(Duration::from_secs(8));
    device.shutdown().await;
}
