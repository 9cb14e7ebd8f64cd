//! The demo and bench presets start, answer and stop.

mod common;

use std::time::Instant;

use common::{get, have_net_snmp};
use coopnoc_sim::{SimKind, SimNetwork};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_is_a_small_cooperative_that_answers() {
    let started = Instant::now();
    let network = SimNetwork::start(coopnoc_sim::demo())
        .await
        .expect("start demo");
    eprintln!("demo started in {:?}", started.elapsed());
    let devices = network.devices();
    assert!(
        (1_900..=2_100).contains(&network.lines()),
        "{} lines",
        network.lines()
    );
    for kind in [
        SimKind::Olt,
        SimKind::Radio,
        SimKind::Switch,
        SimKind::Ups,
        SimKind::Router,
    ] {
        assert!(devices.iter().any(|d| d.kind == kind), "no {kind}");
    }
    assert_eq!(devices.iter().filter(|d| d.kind == SimKind::Olt).count(), 4);
    let mut ports: Vec<u16> = devices.iter().map(|d| d.addr.port()).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), devices.len(), "one socket per device");
    assert!(devices.iter().all(|d| !d.site.is_empty()));
    if have_net_snmp() {
        for d in devices {
            let name = get(d.addr, &d.community, &["1.3.6.1.2.1.1.5.0"]);
            assert_eq!(name[0].text().as_deref(), Some(d.name.as_str()));
        }
        let v3 = devices
            .iter()
            .find(|d| d.v3.is_some())
            .expect("a v3 device in the demo");
        let user = coopnoc_sim::demo_v3_user();
        let args = [
            "-v3",
            "-l",
            "authPriv",
            "-u",
            &user.user,
            "-a",
            "SHA-256",
            "-A",
            &user.auth_password,
            "-x",
            "AES",
            "-X",
            &user.priv_password,
            "-t",
            "2",
            "-r",
            "0",
        ];
        let rows = common::get_with(v3.addr, &args, &["1.3.6.1.2.1.1.5.0"]).expect("v3 answer");
        assert_eq!(rows[0].1.text().as_deref(), Some(v3.name.as_str()));
    }
    let first = devices[0].addr;
    network.shutdown().await;
    if have_net_snmp() {
        let once = ["-v2c", "-c", "public", "-t", "0.3", "-r", "0"];
        assert!(
            common::get_with(first, &once, &["1.3.6.1.2.1.1.5.0"]).is_none(),
            "an agent still answers after shutdown"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_has_10000_onus_and_100_radios() {
    let started = Instant::now();
    let network = SimNetwork::start(coopnoc_sim::bench(coopnoc_sim::BenchShape::default()))
        .await
        .expect("start bench");
    eprintln!("bench started in {:?}", started.elapsed());
    let devices = network.devices();
    assert_eq!(devices.len(), 108);
    let onus: usize = devices
        .iter()
        .filter(|d| d.kind == SimKind::Olt)
        .map(|d| d.lines)
        .sum();
    assert_eq!(onus, 10_000);
    assert_eq!(
        devices.iter().filter(|d| d.kind == SimKind::Radio).count(),
        100
    );
    if have_net_snmp() {
        let last = &devices[107];
        let t = Instant::now();
        let name = get(last.addr, &last.community, &["1.3.6.1.2.1.1.5.0"]);
        assert_eq!(name[0].text().as_deref(), Some(last.name.as_str()));
        assert!(t.elapsed() >= coopnoc_sim::BENCH_LATENCY);
    }
    network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_ports_are_consecutive() {
    let specs = coopnoc_sim::demo().into_iter().take(3).collect();
    // Pick a base from a free port; a clash would fail the start, not the test's logic.
    let base = std::net::UdpSocket::bind("127.0.0.1:0")
        .expect("probe")
        .local_addr()
        .expect("addr")
        .port();
    let base = base.saturating_sub(3000).max(20_000);
    let network = SimNetwork::start_at(specs, base)
        .await
        .expect("start at base port");
    let ports: Vec<u16> = network.devices().iter().map(|d| d.addr.port()).collect();
    assert_eq!(ports, vec![base, base + 1, base + 2]);
    network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_takes_its_size() {
    let shape = coopnoc_sim::BenchShape {
        olts: 3,
        onus_per_olt: 12_500,
        radios: 2,
        latency: std::time::Duration::ZERO,
    };
    assert_eq!(shape.lines(), 37_500);
    let network = SimNetwork::start(coopnoc_sim::bench(shape))
        .await
        .expect("start bench");
    let devices = network.devices();
    assert_eq!(devices.len(), 5, "one agent (one socket) per device");
    let olts: Vec<_> = devices.iter().filter(|d| d.kind == SimKind::Olt).collect();
    assert_eq!(olts.iter().map(|d| d.lines).sum::<usize>(), 37_500);
    assert_eq!(
        olts[2].line_labels.first().map(String::as_str),
        Some("L-25001")
    );
    assert_eq!(
        olts[2].line_labels.last().map(String::as_str),
        Some("L-37500")
    );
    if have_net_snmp() {
        let alias = get(olts[2].addr, "public", &["1.3.6.1.2.1.31.1.1.1.18.12500"]);
        assert_eq!(alias[0].text().as_deref(), Some("L-37500"));
    }
    network.shutdown().await;
}
