//! The scripted device, read with net-snmp's tools: counters exactly as the script set them
//! (32-bit ones wrapping, none on a 32-bit port's 64-bit columns), a reboot, a counter reset
//! with its discontinuity time, silence, and the polls it counts.

mod common;

use common::{Printed, bulkwalk, get, get_with, have_net_snmp};
use coopnoc_sim::{CounterWidth, Octets, ScriptedDevice, ScriptedPort, ScriptedSpec};

const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";

fn spec() -> ScriptedSpec {
    ScriptedSpec::new(
        "scripted",
        vec![
            ScriptedPort::new(1, "ge-0/0/1", "M-1", 1_000_000_000, CounterWidth::Hc64),
            ScriptedPort::new(2, "fe-0/0/2", "M-2", 100_000_000, CounterWidth::Only32),
        ],
    )
}

fn numbers(values: &[Printed]) -> Vec<u64> {
    values
        .iter()
        .map(|v| v.number().unwrap_or_else(|| panic!("a number: {v:?}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_serves_what_the_script_says() {
    if !have_net_snmp() {
        return;
    }
    let device = ScriptedDevice::start(spec()).await.expect("start");
    let script = device.handle();
    let addr = device.addr;
    let counters = [
        "1.3.6.1.2.1.31.1.1.1.6.1",
        "1.3.6.1.2.1.31.1.1.1.10.1",
        "1.3.6.1.2.1.2.2.1.10.1",
        "1.3.6.1.2.1.2.2.1.10.2",
        "1.3.6.1.2.1.2.2.1.16.2",
    ];

    // Nothing moves until the script says so.
    assert_eq!(numbers(&get(addr, "public", &counters)), [0, 0, 0, 0, 0]);
    script.add_octets(1, (1 << 32) + 10, 20);
    script.set_octets(
        2,
        Octets {
            in_octets: u64::from(u32::MAX) - 4,
            out_octets: 7,
        },
    );
    assert_eq!(
        numbers(&get(addr, "public", &counters)),
        [(1 << 32) + 10, 20, 10, u64::from(u32::MAX) - 4, 7]
    );
    // Past 2^32 the 32-bit counter wraps; the script keeps the 64-bit total.
    assert_eq!(script.add_octets(2, 10, 0).in_octets, (1 << 32) + 5);
    assert_eq!(numbers(&get(addr, "public", &counters[3..4])), [5]);

    // ifXTable: names, aliases and speeds for both ports, 64-bit counters for port 1 only.
    let (rows, _) = bulkwalk(addr, "public", "1.3.6.1.2.1.31.1.1.1", 10);
    let oids: Vec<&str> = rows.iter().map(|(o, _)| o.as_str()).collect();
    assert!(oids.contains(&".1.3.6.1.2.1.31.1.1.1.6.1"), "{oids:?}");
    assert!(!oids.contains(&".1.3.6.1.2.1.31.1.1.1.6.2"), "{oids:?}");
    let value = |oid: &str| rows.iter().find(|(o, _)| o == oid).map(|(_, v)| v.clone());
    assert_eq!(
        value(".1.3.6.1.2.1.31.1.1.1.18.2").and_then(|v| v.text()),
        Some("M-2".to_owned())
    );
    assert_eq!(
        value(".1.3.6.1.2.1.31.1.1.1.15.2"),
        Some(Printed::Gauge32(100))
    );

    // sysUpTime runs from the value set; every read of it counts as a poll.
    let polls = script.polls_answered();
    script.set_uptime(5_000_000);
    let up = numbers(&get(addr, "public", &[SYS_UPTIME]))[0];
    assert!((5_000_000..5_000_500).contains(&up), "{up}");
    assert_eq!(script.polls_answered(), polls + 1);

    // A counter reset without a reboot: counters at 0, discontinuity time = sysUpTime.
    script.reset_counters(1);
    let got = numbers(&get(
        addr,
        "public",
        &[
            "1.3.6.1.2.1.31.1.1.1.6.1",
            "1.3.6.1.2.1.31.1.1.1.19.1",
            "1.3.6.1.2.1.31.1.1.1.19.2",
        ],
    ));
    assert_eq!(got[0], 0);
    assert!((5_000_000..5_000_500).contains(&got[1]), "{got:?}");
    assert_eq!(got[2], 0);

    // A reboot: sysUpTime back, every counter and discontinuity time at 0.
    script.add_octets(1, 99, 99);
    script.reboot(100);
    let got = numbers(&get(
        addr,
        "public",
        &[
            SYS_UPTIME,
            "1.3.6.1.2.1.31.1.1.1.6.1",
            "1.3.6.1.2.1.2.2.1.16.2",
            "1.3.6.1.2.1.31.1.1.1.19.1",
        ],
    ));
    assert!((100..600).contains(&got[0]), "{got:?}");
    assert_eq!(got[1..], [0, 0, 0]);

    // Silent: no answer at all, and the request is counted as dropped; then it answers again.
    script.set_silent(true);
    let silent = get_with(
        addr,
        &["-v2c", "-c", "public", "-t", "0.3", "-r", "0"],
        &[SYS_UPTIME],
    );
    assert!(silent.is_none(), "a silent device answered: {silent:?}");
    assert!(script.requests_dropped() >= 1);
    script.set_silent(false);
    assert_eq!(get(addr, "public", &[SYS_UPTIME]).len(), 1);

    device.shutdown().await;
}
