//! net-snmp's snmpbulkwalk, walking simulated agents, returns exactly what they replay.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Printed, bulkwalk, have_net_snmp};
use coopnoc_sim::{Behaviour, DeviceSpec, SimKind, SimNetwork, SyntheticOlt};

const SYS_UPTIME: &str = ".1.3.6.1.2.1.1.3.0";

/// Recordings walked in full: two with known defects (a non-numeric Counter64 and
/// duplicated, out-of-order rows), one with out-of-order rows, and two clean ones.
const WALKED: &[&str] = &[
    "epmp_epmp-ap-connected-sta",
    "zxa10_c320",
    "aviat-wtm",
    "routeros",
    "eaton-mgeups_9px",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulkwalk_returns_exactly_the_recording() {
    if !have_net_snmp() {
        return;
    }
    let specs = WALKED
        .iter()
        .map(|name| {
            let mut spec = DeviceSpec::recording(*name, SimKind::Radio, name);
            // Frozen counters, so values can be compared with the file.
            spec.behaviour = Behaviour {
                counter_rate: 0.0,
                ..Behaviour::default()
            };
            spec
        })
        .collect();
    let network = SimNetwork::start(specs).await.expect("start");
    for device in network.devices() {
        let text = coopnoc_sim::recordings::get(&device.name).expect("bundled");
        let parsed = coopnoc_sim::snmprec::parse(text);
        let expected: BTreeMap<String, Printed> = parsed
            .entries
            .iter()
            .map(|(oid, v)| (format!(".{oid}"), Printed::from_value(v)))
            .collect();
        let (walked, stderr) = bulkwalk(device.addr, &device.community, ".1", 50);
        assert!(
            stderr.trim().is_empty(),
            "{}: snmpbulkwalk said {stderr}",
            device.name
        );
        let oids: Vec<&String> = walked.iter().map(|(o, _)| o).collect();
        let expected_oids: Vec<&String> = expected.keys().collect();
        // Same OIDs, same (numeric) order: the walk reached the end without a gap.
        assert_eq!(
            oids.len(),
            expected_oids.len(),
            "{}: row count",
            device.name
        );
        let mut sorted = oids.clone();
        sorted.sort_by_key(|o| {
            o.trim_start_matches('.')
                .split('.')
                .map(|a| a.parse::<u64>().expect("arc"))
                .collect::<Vec<_>>()
        });
        assert_eq!(oids, sorted, "{}: walk order", device.name);
        for (oid, value) in &walked {
            let want = expected
                .get(oid)
                .unwrap_or_else(|| panic!("{}: unexpected {oid}", device.name));
            if oid == SYS_UPTIME {
                // sysUpTime advances in real time from the recorded value.
                let (Printed::TimeTicks(got), Printed::TimeTicks(rec)) = (value, want) else {
                    panic!("{}: sysUpTime is {value:?}", device.name);
                };
                assert!(
                    *got >= *rec && *got - *rec < 6000,
                    "{}: sysUpTime {got} vs {rec}",
                    device.name
                );
                continue;
            }
            assert_eq!(value, want, "{}: {oid}", device.name);
        }
    }
    // The defective rows are reported by the parser, not served.
    let epmp = coopnoc_sim::snmprec::parse(
        coopnoc_sim::recordings::get("epmp_epmp-ap-connected-sta").expect("bundled"),
    );
    assert!(!epmp.warnings.is_empty());
    network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn olt10k_answers_a_bulk_walk_of_five_columns() {
    if !have_net_snmp() {
        return;
    }
    let started = Instant::now();
    let spec = DeviceSpec::synthetic_olt("olt10k", SyntheticOlt::olt10k());
    let network = SimNetwork::start(vec![spec]).await.expect("start");
    eprintln!("olt10k built and started in {:?}", started.elapsed());
    let device = &network.devices()[0];
    assert_eq!(device.lines, 10_000);
    let addr = device.addr;
    let columns = [
        ("ifDescr", ".1.3.6.1.2.1.2.2.1.2"),
        ("ifOperStatus", ".1.3.6.1.2.1.2.2.1.8"),
        ("ifName", ".1.3.6.1.2.1.31.1.1.1.1"),
        ("ifHCInOctets", ".1.3.6.1.2.1.31.1.1.1.6"),
        ("ifHighSpeed", ".1.3.6.1.2.1.31.1.1.1.15"),
    ];
    // Walk the five columns at once, as a poller with a window of requests would.
    let walks: Vec<_> = columns
        .iter()
        .map(|(name, root)| {
            let (name, root) = (*name, *root);
            std::thread::spawn(move || {
                let t = Instant::now();
                let (rows, stderr) = bulkwalk(addr, "public", root, 50);
                (name, root, rows, stderr, t.elapsed())
            })
        })
        .collect();
    for walk in walks {
        let (name, root, rows, stderr, took) = walk.join().expect("walk thread");
        eprintln!("{name}: {} rows in {took:?}", rows.len());
        assert!(stderr.trim().is_empty(), "{name}: {stderr}");
        assert_eq!(rows.len(), 10_000, "{name}");
        assert_eq!(rows[0].0, format!("{root}.1"));
        assert_eq!(rows[9_999].0, format!("{root}.10000"));
        let (first, last) = (&rows[0].1, &rows[9_999].1);
        match name {
            "ifDescr" => {
                assert_eq!(first.text().as_deref(), Some("GPON 0/1/1 ONU 1"));
                assert_eq!(last.text().as_deref(), Some("GPON 0/5/15 ONU 16"));
            }
            "ifName" => {
                assert_eq!(first.text().as_deref(), Some("gpon-onu_0/1/1:1"));
                assert_eq!(last.text().as_deref(), Some("gpon-onu_0/5/15:16"));
            }
            "ifOperStatus" => {
                let up = rows
                    .iter()
                    .filter(|(_, v)| *v == Printed::Integer(1))
                    .count();
                assert!(
                    rows.iter()
                        .all(|(_, v)| matches!(v, Printed::Integer(1 | 2)))
                );
                assert!((9_300..=9_700).contains(&up), "{up} up");
            }
            "ifHCInOctets" => {
                for (_, v) in [&rows[0], &rows[9_999]] {
                    let Printed::Counter64(n) = v else {
                        panic!("{v:?}")
                    };
                    assert!(*n < (1u64 << 50) + 10_000_000_000, "{n}");
                }
            }
            "ifHighSpeed" => {
                assert!(
                    rows.iter()
                        .all(|(_, v)| matches!(v, Printed::Gauge32(1000 | 2500 | 10000)))
                );
            }
            _ => unreachable!(),
        }
    }
    let start = Instant::now();
    network.shutdown().await;
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpv1_walk_skips_counter64() {
    if !have_net_snmp() {
        return;
    }
    let spec = DeviceSpec::synthetic_olt("olt-v1", SyntheticOlt::new(300, "olt-v1"));
    let network = SimNetwork::start(vec![spec]).await.expect("start");
    let addr = network.devices()[0].addr;
    let out = std::process::Command::new("snmpwalk")
        .args([
            "-m", "", "-On", "-Oe", "-Ot", "-Ox", "-v1", "-c", "public", "-t", "5",
        ])
        .arg(addr.to_string())
        .arg(".1.3.6.1.2.1.31.1.1.1")
        .output()
        .expect("run snmpwalk");
    let rows = common::parse_output(&String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ifName, ifHighSpeed and ifAlias; ifHCInOctets/ifHCOutOctets cannot travel in v1.
    assert_eq!(rows.len(), 900);
    assert!(
        rows.iter()
            .all(|(_, v)| !matches!(v, Printed::Counter64(_)))
    );
    network.shutdown().await;
}
