//! Failure scenarios change exactly what they say on the wire, read with net-snmp's tools:
//! the ONUs they name change status, cause and levels and the others do not, a silent
//! device does not answer, a rebooted one restarts its clock, a UPS reports its battery,
//! and everything is served as before once a scenario stops. Bad files are refused with
//! their line.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Printed, bulkwalk, get_with, have_net_snmp};
use coopnoc_sim::vendor::{VsolV1600d, ZteC3xx};
use coopnoc_sim::{
    DownCause, Onu, RunningDevice, Scenario, ScenarioError, ScenarioLibrary, SimNetwork,
};

const IF_OPER_STATUS: &str = ".1.3.6.1.2.1.2.2.1.8";
const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";

fn dotted(arcs: &[u32]) -> String {
    arcs.iter().map(|a| format!(".{a}")).collect()
}

/// A column walked with snmpbulkwalk: index (after the column) -> value.
fn column(addr: SocketAddr, root: &str) -> BTreeMap<String, Printed> {
    let (rows, stderr) = bulkwalk(addr, "public", root, 50);
    assert!(stderr.trim().is_empty(), "walking {root}: {stderr}");
    rows.into_iter()
        .map(|(oid, v)| {
            let index = oid
                .strip_prefix(root)
                .and_then(|i| i.strip_prefix('.'))
                .unwrap_or_else(|| panic!("{oid} is not under {root}"))
                .to_owned();
            (index, v)
        })
        .collect()
}

/// Wait (with a generous deadline: the machine may be loaded) until `done` holds.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn builtin(name: &str, speed: f64) -> Scenario {
    let mut s = ScenarioLibrary::builtin()
        .get(name)
        .unwrap_or_else(|| panic!("built-in {name}"))
        .clone();
    s.speed = speed;
    s
}

fn scenario(name: &str, text: &str) -> Scenario {
    coopnoc_sim::scenario::parse(name, &format!("{name}.toml"), text)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn zte_index(onu: &Onu) -> String {
    format!(
        "{}.{}",
        ZteC3xx::pon_if_index(onu.card, onu.port),
        onu.onu_id
    )
}

fn device<'a>(network: &'a SimNetwork, name: &str) -> &'a RunningDevice {
    network.device(name).unwrap_or_else(|| panic!("no {name}"))
}

/// What a ZTE OLT serves per ONU: (ifOperStatus, phase state, rx) by ONU position.
fn zte_view(olt: &RunningDevice) -> BTreeMap<u32, (Printed, Printed, Printed)> {
    let oper = column(olt.addr, IF_OPER_STATUS);
    let phase = column(olt.addr, &dotted(&ZteC3xx::PHASE_STATE));
    let rx = column(olt.addr, &dotted(&ZteC3xx::RX_POWER));
    olt.onus()
        .map(|onu| {
            let i = zte_index(&onu);
            (
                onu.n,
                (
                    oper[&onu.n.to_string()].clone(),
                    phase[&i].clone(),
                    rx[&i].clone(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_power_cut_takes_its_onus_down_with_a_dying_gasp_and_nothing_else() {
    if !have_net_snmp() {
        return;
    }
    let network = SimNetwork::start(coopnoc_sim::demo()).await.expect("demo");
    let olt = device(&network, "olt-bordes");
    let before = zte_view(olt);
    // The demo's own offline ONUs carry real causes: a mix of LOS, dying gasp and offline.
    let causes: std::collections::BTreeSet<i64> = before
        .values()
        .filter(|(oper, _, _)| *oper == Printed::Integer(2))
        .map(|(_, phase, _)| match phase {
            Printed::Integer(p) => *p,
            other => panic!("phase {other:?}"),
        })
        .collect();
    assert_eq!(
        causes,
        [2, 5, 7].into(),
        "LOS, dying gasp and offline among the down ONUs"
    );

    let hit: Vec<u32> = olt
        .onus()
        .filter(|o| o.pon == "1/1/3")
        .take(30)
        .map(|o| o.n)
        .collect();
    assert_eq!(hit.len(), 30);
    // 20 minutes at speed 20: a minute; the 5 s spread takes 0.25 s.
    let status = network
        .start_scenario(builtin("power-cut", 20.0))
        .await
        .expect("start");
    assert_eq!(status.ends_after, Some(Duration::from_secs(20 * 60 + 5)));
    let mut during = BTreeMap::new();
    wait_until("the 30 ONUs to go down", || {
        during = zte_view(olt);
        hit.iter().all(|n| during[n].0 == Printed::Integer(2))
    })
    .await;
    for (n, was) in &before {
        let now = &during[n];
        if hit.contains(n) && was.0 == Printed::Integer(1) {
            assert_eq!(now.1, Printed::Integer(5), "ONU {n}: phase dying gasp");
            assert_eq!(now.2, Printed::Integer(-80_000), "ONU {n}: no rx");
        } else {
            assert_eq!(now, was, "ONU {n} is not in the power cut");
        }
    }
    // Another OLT is untouched.
    let villiers = device(&network, "olt-villiers");
    let status_column = dotted(&VsolV1600d::STATUS);
    let v_before = column(villiers.addr, &status_column);
    assert!(network.stop_scenario("power-cut").await);
    assert_eq!(zte_view(olt), before, "served as before once stopped");
    assert_eq!(column(villiers.addr, &status_column), v_before);
    assert!(
        !network.stop_scenario("power-cut").await,
        "nothing left to stop"
    );
    network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fibre_cut_puts_one_splitter_in_los_and_two_cuts_stay_apart() {
    if !have_net_snmp() {
        return;
    }
    let network = SimNetwork::start(coopnoc_sim::demo()).await.expect("demo");
    let olt = device(&network, "olt-villiers");
    let (status_col, reason_col, rx_col) = (
        dotted(&VsolV1600d::STATUS),
        dotted(&VsolV1600d::DEREG_REASON),
        dotted(&VsolV1600d::RX_POWER),
    );
    let read = || {
        (
            column(olt.addr, &status_col),
            column(olt.addr, &reason_col),
            column(olt.addr, &rx_col),
            column(olt.addr, IF_OPER_STATUS),
        )
    };
    let before = read();
    let behind: Vec<Onu> = olt.onus().filter(|o| o.splitter == "SPL-0/3-2").collect();
    assert_eq!(behind.len(), 8, "8 ONUs per splitter on the V-SOL");
    assert!(
        behind
            .iter()
            .all(|o| o.pon == "0/3" && (9..=16).contains(&o.onu_id))
    );
    // A second cut on another PON, at the same time: each changes only its own ONUs.
    let other = scenario(
        "cut-pon-5",
        "description = \"x\"\n[[event]]\ndevice = \"olt-villiers\"\neffect = \"onu-down\"\nonus = { splitter = \"SPL-0/5-1\" }\ncause = \"los\"\n",
    );
    network
        .start_scenario(builtin("fibre-cut", 10.0))
        .await
        .expect("start");
    network
        .start_scenario(other)
        .await
        .expect("start the second");
    let cut: Vec<&Onu> = behind.iter().filter(|o| o.up).collect();
    let second: Vec<Onu> = olt
        .onus()
        .filter(|o| o.splitter == "SPL-0/5-1" && o.up)
        .collect();
    let cut_indexes: Vec<String> = cut
        .iter()
        .copied()
        .chain(second.iter())
        .map(|o| format!("{}.{}", o.port, o.onu_id))
        .collect();
    let mut during = read();
    wait_until("the cut ONUs in LOS", || {
        during = read();
        cut_indexes
            .iter()
            .all(|i| during.0[i] == Printed::Integer(2))
    })
    .await;
    for onu in olt.onus() {
        let i = format!("{}.{}", onu.port, onu.onu_id);
        let n = onu.n.to_string();
        let is_cut = onu.up && (onu.splitter == "SPL-0/3-2" || onu.splitter == "SPL-0/5-1");
        if is_cut {
            assert_eq!(during.0[&i], Printed::Integer(2), "{i} offline");
            assert_eq!(during.1[&i], Printed::Integer(0), "{i}: wire down (LOS)");
            assert!(!during.2.contains_key(&i), "{i}: no optics while down");
            assert_eq!(during.3[&n], Printed::Integer(2), "{i}: ifOperStatus down");
        } else {
            assert_eq!(during.0.get(&i), before.0.get(&i), "{i}");
            assert_eq!(during.1.get(&i), before.1.get(&i), "{i}");
            assert_eq!(during.2.get(&i), before.2.get(&i), "{i}");
            assert_eq!(during.3.get(&n), before.3.get(&n), "{i}");
        }
    }
    // Stopping one cut leaves the other.
    assert!(network.stop_scenario("fibre-cut").await);
    let after = read();
    for onu in &cut {
        let i = format!("{}.{}", onu.port, onu.onu_id);
        assert_eq!(after.0[&i], Printed::Integer(1), "{i} back");
        assert_eq!(after.2.get(&i), before.2.get(&i), "{i} optics back");
    }
    for onu in &second {
        assert_eq!(
            after.0[&format!("{}.{}", onu.port, onu.onu_id)],
            Printed::Integer(2)
        );
    }
    let statuses = network.scenarios().await;
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].name, "cut-pon-5");
    assert_eq!(statuses[0].ends_after, None, "no `for`: runs until stopped");
    assert_eq!(network.stop_scenarios().await, 1);
    assert_eq!(read(), before);
    network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rain_fade_lowers_every_station_together_then_recovers() {
    if !have_net_snmp() {
        return;
    }
    let network = SimNetwork::start(coopnoc_sim::demo()).await.expect("demo");
    let ap = device(&network, "ap-clocher-epmp");
    let table = ".1.3.6.1.4.1.17713.21.1.2.30.1";
    let before = column(ap.addr, table);
    let level = |col: u32, station: u32, v: &BTreeMap<String, Printed>| match v
        [&format!("{col}.{station}")]
    {
        Printed::Integer(i) => i,
        ref other => panic!("{other:?}"),
    };
    // 4 minutes of fall in 2 s (speed 120), 15 minutes held.
    network
        .start_scenario(builtin("rain-fade", 120.0))
        .await
        .expect("start");
    let mut during = before.clone();
    wait_until("the full 14 dB fade", || {
        during = column(ap.addr, table);
        (1..=6).all(|s| level(4, s, &during) == level(4, s, &before) - 14)
    })
    .await;
    for (index, was) in &before {
        let col: u32 = index
            .split('.')
            .next()
            .and_then(|c| c.parse().ok())
            .expect("column");
        let station: u32 = index
            .split('.')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        match col {
            4 | 5 => assert_eq!(
                level(col, station, &during),
                level(col, station, &before) - 14,
                "{index}"
            ),
            6 | 7 => {
                let expected = (level(col, station, &before) - 14).max(0);
                assert_eq!(level(col, station, &during), expected, "{index}");
            }
            _ => assert_eq!(&during[index], was, "{index} is not a level"),
        }
    }
    // Another radio is untouched.
    let other = device(&network, "ap-clocher-mikrotik");
    let strength = ".1.3.6.1.4.1.14988.1.1.1.2.1.3";
    let mikrotik = column(other.addr, strength);
    assert!(!mikrotik.is_empty());
    assert_eq!(column(other.addr, strength), mikrotik);
    network.stop_scenarios().await;
    assert_eq!(column(ap.addr, table), before);
    network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dirty_connector_sinks_one_onu_slowly() {
    if !have_net_snmp() {
        return;
    }
    let network = SimNetwork::start(coopnoc_sim::demo()).await.expect("demo");
    let olt = device(&network, "olt-bordes");
    let onu = olt
        .onus()
        .find(|o| o.line_label == "L-00042")
        .expect("L-00042");
    assert!(onu.up);
    let rx_col = dotted(&ZteC3xx::RX_POWER);
    let before = column(olt.addr, &rx_col);
    let rx = |v: &BTreeMap<String, Printed>| match v[&zte_index(&onu)] {
        Printed::Integer(i) => i,
        ref other => panic!("{other:?}"),
    };
    // 30 minutes of ease-in at speed 200: 9 s; read it twice on the way down.
    network
        .start_scenario(builtin("dirty-connector", 200.0))
        .await
        .expect("start");
    let mut first = before.clone();
    wait_until("the level to start sinking", || {
        first = column(olt.addr, &rx_col);
        rx(&first) < rx(&before) - 100
    })
    .await;
    let mut second = first.clone();
    wait_until("the level to sink further", || {
        second = column(olt.addr, &rx_col);
        rx(&second) < rx(&first) - 300
    })
    .await;
    assert!(rx(&second) >= rx(&before) - 9_000, "never more than 9 dB");
    for (i, v) in &before {
        if *i != zte_index(&onu) {
            assert_eq!(&second[i], v, "{i} is not the dirty one");
        }
    }
    wait_until("the full 9 dB", || {
        rx(&column(olt.addr, &rx_col)) == rx(&before) - 9_000
    })
    .await;
    let statuses = network.scenarios().await;
    assert_eq!(statuses[0].ends_after, None, "it stays dirty until cleaned");
    network.stop_scenarios().await;
    assert_eq!(column(olt.addr, &rx_col), before);
    network.shutdown().await;
}

/// sysUpTime.0 if the device answers within half a second (one try).
fn answers(addr: SocketAddr) -> Option<u64> {
    let once = ["-v2c", "-c", "public", "-t", "0.5", "-r", "0"];
    get_with(addr, &once, &[SYS_UPTIME, "1.3.6.1.2.1.1.5.0"])
        .map(|rows| rows.first().and_then(|r| r.1.number()).unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_device_does_not_answer_and_the_others_do() {
    if !have_net_snmp() {
        return;
    }
    let network = SimNetwork::start(coopnoc_sim::demo()).await.expect("demo");
    let olt = device(&network, "olt-villiers");
    let uptime = answers(olt.addr).expect("answers before");
    network
        .start_scenario("olt-unreachable")
        .await
        .expect("start");
    assert!(olt.is_silent());
    assert_eq!(answers(olt.addr), None, "a silent device answers nothing");
    assert_eq!(answers(olt.addr), None, "nor when asked again");
    for other in network
        .devices()
        .iter()
        .filter(|d| d.name != olt.name && d.v3.is_none())
    {
        assert!(
            answers(other.addr).is_some(),
            "{} still answers",
            other.name
        );
    }
    network.stop_scenario("olt-unreachable").await;
    assert!(!olt.is_silent());
    let mut back = None;
    wait_until("an answer", || {
        back = answers(olt.addr);
        back.is_some()
    })
    .await;
    assert!(
        back.expect("ticks") > uptime,
        "not rebooted: its clock went on"
    );
    network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_toggled_quickly_under_load_ends_with_an_answer() {
    if !have_net_snmp() {
        return;
    }
    let network = SimNetwork::start(coopnoc_sim::demo()).await.expect("demo");
    let olt = device(&network, "olt-bordes").clone();
    let load = {
        let addr = olt.addr;
        std::thread::spawn(move || {
            for _ in 0..10 {
                let _ = get_with(
                    addr,
                    &["-v2c", "-c", "public", "-t", "0.2", "-r", "0"],
                    &[SYS_UPTIME],
                );
            }
        })
    };
    for _ in 0..20 {
        olt.set_silent(true).await;
        olt.set_silent(false).await;
    }
    load.join().expect("load");
    let mut back = None;
    wait_until("an answer after the toggles", || {
        back = answers(olt.addr);
        back.is_some()
    })
    .await;
    network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_olt_reboot_is_silent_then_restarts_its_clock_and_onus() {
    if !have_net_snmp() {
        return;
    }
    let network = SimNetwork::start(coopnoc_sim::demo()).await.expect("demo");
    let olt = device(&network, "olt-forge");
    let uptime = answers(olt.addr).expect("answers before");
    assert!(uptime > 100_000, "a device up for a while");
    let oper_before = column(olt.addr, IF_OPER_STATUS);
    network
        .start_scenario(scenario(
            "quick-reboot",
            "description = \"x\"\n[[event]]\ndevice = \"olt-forge\"\neffect = \"reboot\"\nfor = \"3s\"\nreturn-over = \"4s\"\n",
        ))
        .await
        .expect("start");
    assert_eq!(answers(olt.addr), None, "silent while it boots");
    let mut ticks = None;
    wait_until("the OLT to answer again", || {
        ticks = answers(olt.addr);
        ticks.is_some()
    })
    .await;
    assert!(
        ticks.expect("ticks") < 3_000,
        "sysUpTime restarted: {ticks:?}"
    );
    // Its ONUs register again one by one, then all are as before.
    let up =
        |c: &BTreeMap<String, Printed>| c.values().filter(|v| **v == Printed::Integer(1)).count();
    let first = column(olt.addr, IF_OPER_STATUS);
    assert!(up(&first) < up(&oper_before), "some ONUs still registering");
    wait_until("every ONU back", || {
        column(olt.addr, IF_OPER_STATUS) == oper_before
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !network.scenarios().await.iter().all(|s| s.finished) {
        assert!(Instant::now() < deadline, "the scenario never ended");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ups_on_battery_says_so_and_its_runtime_falls() {
    if !have_net_snmp() {
        return;
    }
    let network = SimNetwork::start(coopnoc_sim::demo()).await.expect("demo");
    let ups = device(&network, "ups-forge");
    let read = || {
        let once = ["-v2c", "-c", "public", "-t", "2", "-r", "1"];
        let rows = get_with(
            ups.addr,
            &once,
            &[
                "1.3.6.1.2.1.33.1.4.1.0",
                "1.3.6.1.2.1.33.1.2.1.0",
                "1.3.6.1.2.1.33.1.2.2.0",
                "1.3.6.1.2.1.33.1.2.3.0",
                "1.3.6.1.2.1.33.1.2.4.0",
                "1.3.6.1.2.1.33.1.3.3.1.3.1",
            ],
        )
        .expect("the UPS answers");
        rows.into_iter()
            .map(|(_, v)| v.number().expect("a number"))
            .collect::<Vec<u64>>()
    };
    assert_eq!(read(), vec![3, 2, 0, 24, 100, 237], "on mains, as recorded");
    // Draining 4 minutes a minute, at speed 60: low (5 minutes left) after about 5 s.
    let mut on_battery = builtin("ups-on-battery", 60.0);
    on_battery.events[0].effect = coopnoc_sim::scenario::Effect::OnBattery {
        runtime_minutes: None,
        drain: 4.0,
        low_at: 5.0,
    };
    network.start_scenario(on_battery).await.expect("start");
    let first = read();
    assert_eq!(first[0], 5, "upsOutputSource battery");
    assert_eq!(first[5], 0, "no input voltage");
    let mut later = first.clone();
    wait_until("the battery to run low", || {
        later = read();
        later[1] == 3
    })
    .await;
    assert!(later[2] > first[2], "seconds on battery count");
    assert!(
        later[3] <= 5 && later[3] < first[3],
        "runtime falls: {later:?}"
    );
    assert!(later[4] < first[4], "charge falls");
    network.stop_scenarios().await;
    assert_eq!(read(), vec![3, 2, 0, 24, 100, 237], "back on mains");
    network.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_that_do_not_fit_the_network_are_refused_with_their_line() {
    let network = SimNetwork::start(coopnoc_sim::demo()).await.expect("demo");
    let refuse = |text: &str| scenario("bad", text);
    let cases = [
        (
            "[[event]]\ndevice = \"olt-nowhere\"\neffect = \"silent\"\n",
            "bad.toml:1: event 1: no device named \"olt-nowhere\"",
        ),
        (
            "\n[[event]]\ndevice = \"olt-bordes\"\neffect = \"onu-down\"\ncause = \"los\"\nonus = { pon = \"1/1/42\" }\n",
            "bad.toml:2: event 1: olt-bordes has no PON \"1/1/42\" (its PONs: 1/1/1 to 1/1/10)",
        ),
        (
            "[[event]]\ndevice = \"olt-chaumont\"\neffect = \"rx-drop\"\ndb = 3\nonus = \"all\"\n",
            "olt-chaumont serves no per-ONU optical level",
        ),
        (
            "[[event]]\ndevice = \"ups-forge\"\neffect = \"signal-drop\"\ndb = 3\n",
            "serves no radio level",
        ),
        (
            "[[event]]\ndevice = \"ap-clocher-epmp\"\neffect = \"on-battery\"\n",
            "not a UPS",
        ),
        (
            "[[event]]\ndevice = \"ap-clocher-epmp\"\neffect = \"signal-drop\"\ndb = 3\nstations = { index = [\"9\"] }\n",
            "has no station \"9\" (its stations: 1, 2, 3, 4, 5, 6)",
        ),
        (
            "[[event]]\ndevice = \"olt-bordes\"\neffect = \"onu-down\"\ncause = \"los\"\nonus = { lines = [\"L-01200\"] }\n",
            "line \"L-01200\" is not on olt-bordes",
        ),
        (
            "[[event]]\ndevice = \"gw-forge-linux\"\neffect = \"onu-down\"\ncause = \"los\"\nonus = \"all\"\n",
            "not a simulated OLT",
        ),
    ];
    for (text, expected) in cases {
        match network.start_scenario(refuse(text)).await {
            Err(e @ ScenarioError::Network { .. }) => {
                let message = e.to_string();
                assert!(
                    message.contains(expected),
                    "{message:?} should say {expected:?}"
                );
                assert!(message.starts_with("scenario bad: bad.toml:"), "{message}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    match network.start_scenario("no-such-scenario").await {
        Err(ScenarioError::Unknown { available, .. }) => {
            assert!(available.contains(&"power-cut".to_owned()));
        }
        other => panic!("{other:?}"),
    }
    assert!(network.scenarios().await.is_empty(), "nothing started");
    // Every built-in scenario fits the demo network.
    for s in ScenarioLibrary::builtin().iter() {
        network
            .start_scenario(s.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(
        network.stop_scenarios().await,
        coopnoc_sim::scenario::BUILTIN.len()
    );
    network.shutdown().await;
}

#[test]
fn a_bad_scenario_file_is_refused_with_its_line_by_the_command() {
    let dir = tempfile_dir("check");
    let path = dir.join("my-outage.toml");
    std::fs::write(
        &path,
        "description = \"a trainer's file\"\n\n[[event]]\ndevice = \"olt-bordes\"\neffect = \"onu-down\"\ncause = \"power\"\nonus = { pon = \"1/1/3\" }\n",
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coopnoc-sim"))
        .args(["scenario", "--check"])
        .arg(&path)
        .output()
        .expect("run coopnoc-sim");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!(
            "{}:6: event 1: unknown cause \"power\" (one of: los, dying-gasp, offline)",
            path.display()
        )),
        "{stderr}"
    );
    std::fs::write(
        &path,
        "description = \"ok\"\n[[event]]\ndevice = \"olt-bordes\"\neffect = \"silent\"\n",
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coopnoc-sim"))
        .args(["scenario", "--check"])
        .arg(&path)
        .output()
        .expect("run coopnoc-sim");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).expect("clean");
}

fn tempfile_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("coopnoc-sim-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_socket_starts_lists_and_stops_scenarios() {
    let dir = tempfile_dir("control");
    let scenarios = dir.join("scenarios");
    std::fs::create_dir_all(&scenarios).expect("dir");
    std::fs::write(
        scenarios.join("class-1.toml"),
        "description = \"First lesson. Then more.\"\n[[event]]\ndevice = \"ap-clocher-mikrotik\"\neffect = \"silent\"\n",
    )
    .expect("write");
    std::fs::write(scenarios.join("broken.toml"), "[[event]]\nwho = 1\n").expect("write");
    let socket = dir.join("sim.sock");
    let network = SimNetwork::start(coopnoc_sim::demo()).await.expect("demo");
    network
        .serve_control(&socket, Some(scenarios.clone()))
        .await
        .expect("control socket");
    let sim = |args: &[&str]| {
        let socket = socket.clone();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        async move {
            tokio::task::spawn_blocking(move || sim_client(&socket, &args))
                .await
                .expect("join")
        }
    };
    let (code, out, _) = sim(&["--list"]).await;
    assert_eq!(code, Some(0));
    assert!(
        out.contains("power-cut") && out.contains("(built-in)"),
        "{out}"
    );
    assert!(
        out.contains("class-1") && out.contains("First lesson."),
        "{out}"
    );
    assert!(!out.contains("Then more"), "only the first sentence: {out}");
    assert!(
        out.contains("files not read:") && out.contains("broken.toml:2: "),
        "{out}"
    );

    let (code, out, _) = sim(&["class-1"]).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("started class-1"), "{out}");
    assert!(device(&network, "ap-clocher-mikrotik").is_silent());
    let (code, out, _) = sim(&["rain-fade", "--speed", "5"]).await;
    assert_eq!(code, Some(0));
    assert!(out.contains("started rain-fade at speed 5"), "{out}");
    let (_, out, _) = sim(&["--list"]).await;
    assert!(
        out.contains("running:\n  class-1") && out.contains("(speed 5)"),
        "{out}"
    );

    let (code, _, err) = sim(&["no-such"]).await;
    assert_eq!(code, Some(1));
    assert!(err.contains("no scenario named \"no-such\""), "{err}");
    let (code, out, _) = sim(&["class-1", "--stop"]).await;
    assert_eq!(code, Some(0));
    assert!(out.contains("stopped class-1"));
    assert!(!device(&network, "ap-clocher-mikrotik").is_silent());
    let (code, out, _) = sim(&["--stop"]).await;
    assert_eq!(code, Some(0));
    assert!(out.contains("stopped 1 scenario"), "{out}");

    // A second network cannot take a live socket; the socket goes with its network.
    let second = SimNetwork::start(Vec::new()).await.expect("empty network");
    assert!(second.serve_control(&socket, None).await.is_err());
    network.shutdown().await;
    assert!(!socket.exists(), "socket removed at shutdown");
    second
        .serve_control(&socket, None)
        .await
        .expect("free again");
    second.shutdown().await;
    let (code, _, err) = sim(&["--list"]).await;
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot reach the simulated network"), "{err}");
    std::fs::remove_dir_all(&dir).expect("clean");
}

/// `coopnoc-sim scenario ARGS --socket SOCKET`: exit code, stdout, stderr.
fn sim_client(socket: &std::path::Path, args: &[String]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coopnoc-sim"))
        .arg("scenario")
        .args(args)
        .arg("--socket")
        .arg(socket)
        .output()
        .expect("run coopnoc-sim");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_onu_of_the_demo_hangs_from_a_splitter_of_its_pon() {
    let network = SimNetwork::start(coopnoc_sim::demo()).await.expect("demo");
    for d in network
        .devices()
        .iter()
        .filter(|d| d.synthetic_olt().is_some())
    {
        let onus: Vec<Onu> = d.onus().collect();
        assert_eq!(onus.len(), d.lines);
        let per = d.synthetic_olt().expect("olt").onus_per_splitter();
        let mut by_splitter: BTreeMap<String, Vec<&Onu>> = BTreeMap::new();
        for onu in &onus {
            assert!(
                onu.splitter.starts_with(&format!("SPL-{}-", onu.pon)),
                "{}",
                onu.splitter
            );
            assert_eq!(d.splitter(onu.n).as_deref(), Some(onu.splitter.as_str()));
            assert_eq!(onu.up, onu.cause.is_none());
            by_splitter
                .entry(onu.splitter.clone())
                .or_default()
                .push(onu);
        }
        for (name, members) in &by_splitter {
            assert!(members.len() as u32 <= per, "{name}");
            let ids: Vec<u32> = members.iter().map(|o| o.onu_id).collect();
            assert_eq!(
                ids.last().expect("one") - ids[0] + 1,
                ids.len() as u32,
                "{name}: consecutive ONU ids"
            );
        }
        assert!(d.splitter(0).is_none() && d.splitter(d.lines as u32 + 1).is_none());
    }
    let zte = device(&network, "olt-bordes").onu(1).expect("onu 1");
    assert_eq!(
        (zte.pon.as_str(), zte.splitter.as_str()),
        ("1/1/1", "SPL-1/1/1-1")
    );
    let zte = device(&network, "olt-bordes")
        .onu(64 * 2 + 17)
        .expect("onu");
    assert_eq!(zte.splitter, "SPL-1/1/3-2", "16 ONUs per GPON splitter");
    let vsol = device(&network, "olt-villiers").onu(64 + 9).expect("onu");
    assert_eq!(
        (vsol.pon.as_str(), vsol.splitter.as_str()),
        ("0/2", "SPL-0/2-2")
    );
    assert!(device(&network, "ups-forge").onu(1).is_none());
    let causes: std::collections::BTreeSet<DownCause> = network
        .devices()
        .iter()
        .flat_map(|d| d.onus())
        .filter_map(|o| o.cause)
        .collect();
    assert_eq!(causes.len(), 3);
    network.shutdown().await;
}
