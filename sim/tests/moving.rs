//! Values move: counters at the configured rate (with 32-bit wraps), sysUpTime in real
//! time, reboots reset both, stalls freeze counters; lost requests get no answer;
//! latency delays answers.

mod common;

use std::time::{Duration, Instant};

use async_snmp::Oid;
use common::{Printed, get, get_with, have_net_snmp};
use coopnoc_sim::{Behaviour, DeviceSpec, Reboot, SimNetwork, SyntheticOlt, V3User};

const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";

fn if_in(n: u32) -> String {
    format!("1.3.6.1.2.1.2.2.1.10.{n}")
}
fn if_hc_in(n: u32) -> String {
    format!("1.3.6.1.2.1.31.1.1.1.6.{n}")
}

fn olt(name: &str, onus: u32, behaviour: Behaviour) -> DeviceSpec {
    let mut spec = DeviceSpec::synthetic_olt(name, SyntheticOlt::new(onus, name));
    spec.behaviour = behaviour;
    spec
}

/// Read some OIDs, returning the values and the instants bracketing the request.
fn timed_get(addr: std::net::SocketAddr, oids: &[&str]) -> (Vec<Printed>, Instant, Instant) {
    let before = Instant::now();
    let values = get(addr, "public", oids);
    (values, before, Instant::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_grow_at_the_configured_rate_and_counter32_wraps() {
    if !have_net_snmp() {
        return;
    }
    let rate = 1.0e9; // fast enough to wrap a Counter32 in a few seconds
    let network = SimNetwork::start(vec![olt(
        "fast",
        20,
        Behaviour {
            counter_rate: rate,
            ..Behaviour::default()
        },
    )])
    .await
    .expect("start");
    let device = &network.devices()[0];
    let oids: Vec<String> = (1..=20).flat_map(|n| [if_in(n), if_hc_in(n)]).collect();
    let oid_refs: Vec<&str> = oids.iter().map(String::as_str).collect();
    let (v0, b0, a0) = timed_get(device.addr, &oid_refs);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (v1, b1, a1) = timed_get(device.addr, &oid_refs);
    let (longest, shortest) = ((a1 - b0).as_secs_f64(), (b1 - a0).as_secs_f64());
    let mut wraps = 0;
    for n in 0..20usize {
        let (Printed::Counter32(c0), Printed::Counter32(c1)) = (&v0[2 * n], &v1[2 * n]) else {
            panic!("ifInOctets: {:?}", v0[2 * n]);
        };
        let (Printed::Counter64(h0), Printed::Counter64(h1)) = (&v0[2 * n + 1], &v1[2 * n + 1])
        else {
            panic!("ifHCInOctets: {:?}", v0[2 * n + 1]);
        };
        let row_rate = device
            .counter_rate(&Oid::parse(&if_hc_in(n as u32 + 1)).expect("oid"))
            .expect("a counter");
        assert!((0.5 * rate..1.5 * rate).contains(&row_rate));
        // 64-bit delta at the row's rate, within the timing bracket of the two requests.
        let delta = (h1 - h0) as f64;
        assert!(
            delta >= row_rate * shortest * 0.99 && delta <= row_rate * longest * 1.01,
            "row {n}: grew {delta} in {shortest}..{longest} s at {row_rate}/s"
        );
        // The 32-bit twin grows the same modulo 2^32 and wraps.
        let delta32 = c1.wrapping_sub(*c0) as u32 as f64;
        let expected32 = (delta as u64 % (1u64 << 32)) as f64;
        assert!(
            (delta32 - expected32).abs() < row_rate * 0.05,
            "row {n}: {delta32} vs {expected32}"
        );
        if c1 < c0 {
            wraps += 1;
        }
    }
    assert!(
        wraps > 0,
        "no Counter32 wrapped in 1.5 s at ~1 GB/s on 20 rows"
    );
    network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reboot_resets_uptime_and_counters_and_stall_freezes_counters() {
    if !have_net_snmp() {
        return;
    }
    let behaviour = Behaviour {
        counter_rate: 1.0e6,
        ..Behaviour::default()
    };
    let t_start = Instant::now();
    let network = SimNetwork::start(vec![
        olt(
            "scheduled",
            4,
            Behaviour {
                reboot: Reboot::At(Duration::from_millis(700)),
                ..behaviour.clone()
            },
        ),
        olt("manual", 4, behaviour.clone()),
        olt("stalled", 4, behaviour),
    ])
    .await
    .expect("start");
    let [scheduled, manual, stalled] = network.devices() else {
        panic!("three devices")
    };
    let oids = [
        SYS_UPTIME,
        "1.3.6.1.2.1.31.1.1.1.6.1",
        "1.3.6.1.2.1.2.2.1.10.1",
    ];

    // Before any reboot: the recorded uptime (123456789 ticks) and counters well above 0.
    let before = get(scheduled.addr, "public", &oids);
    if t_start.elapsed() < Duration::from_millis(700) {
        assert!(before[0].number().expect("ticks") >= 123_456_789);
        assert!(before[1].number().expect("hc") > 1_000_000_000);
    } else {
        eprintln!("machine too slow to read before the scheduled reboot; part skipped");
    }

    // Bounds from the time elapsed since the reboot, at most (ticks, counter units).
    let bounds = |since: Duration| {
        (
            since.as_secs_f64() * 100.0 + 2.0,
            since.as_secs_f64() * 1.5e6 + 1.0,
        )
    };
    tokio::time::sleep(Duration::from_millis(900)).await;
    let after = get(scheduled.addr, "public", &oids);
    let (max_ticks, max_count) = bounds(t_start.elapsed() - Duration::from_millis(700));
    let uptime = after[0].number().expect("ticks") as f64;
    assert!(
        uptime <= max_ticks,
        "sysUpTime {uptime} > {max_ticks} after the reboot"
    );
    assert!(
        after[1].number().expect("hc") as f64 <= max_count,
        "{:?}",
        after[1]
    );
    assert!(
        after[2].number().expect("c32") as f64 <= max_count,
        "{:?}",
        after[2]
    );

    let t_reboot = Instant::now();
    manual.reboot_now();
    let after = get(manual.addr, "public", &oids);
    let (max_ticks, max_count) = bounds(t_reboot.elapsed());
    assert!(
        after[0].number().expect("ticks") as f64 <= max_ticks,
        "{:?}",
        after[0]
    );
    assert!(
        after[1].number().expect("hc") as f64 <= max_count,
        "{:?}",
        after[1]
    );

    stalled.set_stalled(true);
    let s0 = get(stalled.addr, "public", &oids);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s1 = get(stalled.addr, "public", &oids);
    assert!(s1[0].number() > s0[0].number(), "sysUpTime keeps moving");
    assert_eq!(s1[1], s0[1], "Counter64 frozen");
    assert_eq!(s1[2], s0[2], "Counter32 frozen");
    stalled.set_stalled(false);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let s2 = get(stalled.addr, "public", &oids);
    assert!(s2[1].number() > s1[1].number(), "moving again");
    network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_requests_get_no_answer_and_latency_delays_answers() {
    if !have_net_snmp() {
        return;
    }
    let network = SimNetwork::start(vec![
        olt(
            "black-hole",
            4,
            Behaviour {
                loss: 1.0,
                ..Behaviour::default()
            },
        ),
        olt(
            "lossy",
            4,
            Behaviour {
                loss: 0.5,
                seed: 7,
                ..Behaviour::default()
            },
        ),
        olt(
            "slow",
            200,
            Behaviour {
                latency: Duration::from_millis(150),
                ..Behaviour::default()
            },
        ),
    ])
    .await
    .expect("start");
    let [black_hole, lossy, slow] = network.devices() else {
        panic!("three devices")
    };
    let once = ["-v2c", "-c", "public", "-t", "0.3", "-r", "0"];

    assert!(
        get_with(black_hole.addr, &once, &[SYS_UPTIME]).is_none(),
        "a lost request was answered"
    );

    let answered = (0..16)
        .filter(|_| get_with(lossy.addr, &once, &[SYS_UPTIME]).is_some())
        .count();
    assert!(
        (3..=13).contains(&answered),
        "{answered}/16 answered at 50 % loss"
    );
    // With retries, a lossy device is still reachable.
    assert!(
        get_with(
            lossy.addr,
            &["-v2c", "-c", "public", "-t", "0.3", "-r", "8"],
            &[SYS_UPTIME]
        )
        .is_some()
    );

    let t = Instant::now();
    get(slow.addr, "public", &[SYS_UPTIME]);
    let one = t.elapsed();
    assert!(one >= Duration::from_millis(150), "answered in {one:?}");
    // A GETBULK waits once, not once per varbind.
    let t = Instant::now();
    let (rows, _) = common::bulkwalk(slow.addr, "public", "1.3.6.1.2.1.31.1.1.1.1", 50);
    assert_eq!(rows.len(), 200);
    // 200 rows in 50s: 5 requests (the last one leaves the column) of 150 ms each.
    let walk = t.elapsed();
    assert!(
        walk >= Duration::from_millis(750) && walk < Duration::from_millis(2500),
        "walk took {walk:?}"
    );
    network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jitter_varies_the_delay_per_request() {
    if !have_net_snmp() {
        return;
    }
    let behaviour = Behaviour {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(200),
        ..Behaviour::default()
    };
    let network = SimNetwork::start(vec![olt("jittery", 4, behaviour)])
        .await
        .expect("start");
    let addr = network.devices()[0].addr;
    let times: Vec<Duration> = (0..8)
        .map(|_| {
            let t = Instant::now();
            get(addr, "public", &[SYS_UPTIME]);
            t.elapsed()
        })
        .collect();
    let (min, max) = (
        times.iter().min().expect("8"),
        times.iter().max().expect("8"),
    );
    assert!(*min >= Duration::from_millis(20), "{times:?}");
    assert!(
        *max - *min >= Duration::from_millis(40),
        "no jitter: {times:?}"
    );
    network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_auth_priv_sha256_aes128() {
    if !have_net_snmp() {
        return;
    }
    let mut spec = olt("secure", 4, Behaviour::default());
    spec.v3 = Some(V3User {
        user: "coopnoc".to_owned(),
        auth_password: "auth-secret-1".to_owned(),
        priv_password: "priv-secret-1".to_owned(),
    });
    let network = SimNetwork::start(vec![spec]).await.expect("start");
    let addr = network.devices()[0].addr;
    let v3 = |auth: &'static str| {
        vec![
            "-v3",
            "-l",
            "authPriv",
            "-u",
            "coopnoc",
            "-a",
            "SHA-256",
            "-A",
            auth,
            "-x",
            "AES",
            "-X",
            "priv-secret-1",
            "-t",
            "1",
            "-r",
            "0",
        ]
    };
    let rows = get_with(addr, &v3("auth-secret-1"), &["1.3.6.1.2.1.1.5.0"]).expect("v3 answer");
    assert_eq!(rows[0].1.text().as_deref(), Some("secure"));
    assert!(get_with(addr, &v3("wrong-secret"), &["1.3.6.1.2.1.1.5.0"]).is_none());
    // v2c still works on the same agent.
    assert_eq!(
        get(addr, "public", &["1.3.6.1.2.1.1.5.0"])[0]
            .text()
            .as_deref(),
        Some("secure")
    );
    network.shutdown().await;
}
