//! Lines in a running daemon, against snmpsimd serving the synthetic Huawei SmartAX ONT
//! recording: matched by ONU serial (also after the OLT renumbered its ports), state judged
//! with hysteresis into events with the values behind them, ONUs no line matches listed as
//! unassigned, levels kept by the hour, and `line watch`'s single GET.

mod common;
mod snmp_support;

use std::time::{Duration, Instant};

use coopnoc_proto::Client;
use coopnoc_proto::{LineDetail, LinesQuery, Request, Response};

const RECORDING: &str = include_str!("data/snmprec/smartax_synthetic-ont.snmprec");
/// The first PON port's ifIndex in the recording (0/0/0), and the one it is renumbered to.
const PORT: &str = "4194304000";
const RENUMBERED: &str = "4194304512";
/// ONT 0 on that port: HWTC1A2B3C4D, online, rx -18.50 dBm.
const SERIAL: &str = "HWTC1A2B3C4D";
const RX_OID: &str = "1.3.6.1.4.1.2011.6.128.1.1.2.51.1.4";

fn config(dir: &std::path::Path, port: u16) -> coopnocd::config::Config {
    let text = format!(
        r#"
[daemon]
state-directory = "{state}"
shutdown-timeout = "5s"

[ctl]
socket = "{state}/ctl.sock"

[reports]
enabled = false

[lines]
hysteresis = 3

[[device]]
name = "olt-hw"
kind = "olt"
address = "127.0.0.1:{port}"
snmp = {{ version = "2c", community = "ont" }}
# Polls only when the test asks; a poll a second after the last reads the optics again.
poll = {{ status-interval = "1h", slow-interval = "1s", optics = true, max-repetitions = 25 }}
"#,
        state = dir.join("state").display()
    );
    coopnocd::config::parse(&text, dir).unwrap_or_else(|p| panic!("test config: {p:?}"))
}

async fn call(client: &mut Client, request: Request) -> Response {
    client.call(&request).await.expect("the daemon answers")
}

async fn show(client: &mut Client, line: &str) -> LineDetail {
    match call(client, Request::LineShow { line: line.into() }).await {
        Response::Line(d) => *d,
        other => panic!("line show answers with the line, not {other:?}"),
    }
}

async fn poll(client: &mut Client) {
    // Optics are read on their own slower schedule (here every second).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = call(
        client,
        Request::Poll {
            device: "olt-hw".into(),
        },
    )
    .await;
    assert!(matches!(r, Response::Device(_)), "{r:?}");
}

/// The recording with ONT 0's rx level replaced (in 0.01 dBm) and, optionally, the OLT
/// rebooted with its first PON port renumbered (sysUpTime back to 10 s).
fn recording(rx_centi_dbm: i32, renumber: bool) -> String {
    let mut out = String::new();
    for l in RECORDING.lines() {
        let l = if l.starts_with(&format!("{RX_OID}.{PORT}.0|")) {
            format!("{RX_OID}.{PORT}.0|2|{rx_centi_dbm}")
        } else if renumber && l.starts_with("1.3.6.1.2.1.1.3.0|") {
            "1.3.6.1.2.1.1.3.0|67|1000".to_string()
        } else {
            l.to_string()
        };
        out.push_str(&if renumber {
            l.replace(PORT, RENUMBERED)
        } else {
            l
        });
        out.push('\n');
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_follow_their_onu_by_serial_and_change_state_after_n_agreeing_polls() {
    let agent =
        snmp_support::start_snmpsim_with(&[("ont".to_string(), recording(-1850, false))], "ont");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path(), agent.port);
    let socket = config.ctl.socket.clone();
    let db = config.database_path();
    let daemon = common::DaemonThread::start(config);
    let mut client = common::connect(&socket, Duration::from_secs(20)).await;

    // The poller's own first poll comes within 10 s of the start (spread by jitter): wait for
    // it, so that every later poll is one the test asks for.
    let waiting = Instant::now();
    loop {
        if let Response::Device(d) = call(
            &mut client,
            Request::DeviceShow {
                device: "olt-hw".into(),
            },
        )
        .await
            && d.summary.polls >= 1
        {
            break;
        }
        assert!(waiting.elapsed() < Duration::from_secs(15), "no first poll");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A line known by its ONU serial, typed in lower case: keys are normalised.
    let r = call(
        &mut client,
        Request::LineAdd(coopnoc_proto::NewLine {
            reference: "L-0001".into(),
            kind: coopnoc_proto::LineKind::Fibre,
            device: None,
            match_kind: coopnoc_proto::MatchKind::Serial,
            match_key: SERIAL.to_lowercase(),
            member: None,
            description: None,
        }),
    )
    .await;
    assert!(matches!(r, Response::Line(_)), "{r:?}");

    poll(&mut client).await;
    let d = show(&mut client, "L-0001").await;
    let live = d.live.as_ref().expect("the daemon sees the line");
    let at = live.location.as_ref().expect("found on the OLT");
    assert_eq!(
        (at.device.as_str(), at.port.as_deref(), at.onu),
        ("olt-hw", Some("0/0/0"), Some(0)),
        "{at:?}"
    );
    assert_eq!(at.serial.as_deref(), Some(SERIAL));
    assert_eq!(d.line.state, "up", "{d:?}");
    assert_eq!(live.levels.rx_dbm, Some(-18.5));
    assert_eq!(live.levels.olt_rx_dbm, Some(-22.88));
    let rx_day = live
        .day
        .iter()
        .find(|l| l.metric == "rx")
        .expect("an rx level for the day");
    assert_eq!(
        (rx_day.min, rx_day.max, rx_day.hourly_min[23]),
        (Some(-18.5), Some(-18.5), Some(-18.5))
    );
    // The first judgement of a new line is its state, not an event.
    assert!(d.events.is_empty(), "{:?}", d.events);

    // Three ONTs of the recording have no line: listed with the key a line would take.
    let Response::Unassigned { items } = call(
        &mut client,
        Request::Lines {
            query: LinesQuery::Unassigned,
        },
    )
    .await
    else {
        panic!("unassigned list")
    };
    let keys: Vec<&str> = items.iter().filter_map(|i| i.key.as_deref()).collect();
    assert!(
        keys.contains(&"HWTCDEADBEEF") && !keys.contains(&SERIAL),
        "{items:?}"
    );
    assert!(
        items
            .iter()
            .all(|i| i.kind == "onu" && i.device == "olt-hw")
    );

    // The OLT reboots and renumbers its ports (the ONT's rows now hang under another
    // ifIndex): the line stays the same ONT, found by its serial; no event, no unknown.
    agent.rewrite_recording("ont", &recording(-1850, true));
    poll(&mut client).await;
    let d = show(&mut client, SERIAL).await;
    let at = d
        .live
        .as_ref()
        .and_then(|l| l.location.clone())
        .expect("still found");
    assert_eq!(d.line.reference, "L-0001");
    assert_eq!(
        (at.port.as_deref(), at.onu, at.serial.as_deref()),
        (Some("0/0/2"), Some(0), Some(SERIAL)),
        "{at:?}"
    );
    assert_eq!(d.line.state, "up");
    assert!(d.events.is_empty(), "{:?}", d.events);

    // The level drops below the threshold (-27 dBm): degraded only at the third poll that
    // agrees (hysteresis = 3), then an event with the values behind it.
    agent.rewrite_recording("ont", &recording(-3012, true));
    for n in 1..=2 {
        poll(&mut client).await;
        let d = show(&mut client, "L-0001").await;
        assert_eq!(
            d.line.state, "up",
            "after {n} degraded reading(s) the line is still up"
        );
    }
    poll(&mut client).await;
    let d = show(&mut client, "L-0001").await;
    assert_eq!(d.line.state, "degraded");
    let live = d.live.as_ref().expect("live");
    assert_eq!(live.reason.as_deref(), Some("rx -30.12 dBm below -27.0"));
    let e = d.events.first().expect("an event");
    assert_eq!(
        (e.old_state.as_deref(), e.new_state.as_str()),
        (Some("up"), "degraded")
    );
    assert_eq!(e.reason.as_deref(), Some("rx -30.12 dBm below -27.0"));
    let detail = e.detail.as_ref().expect("the values behind the change");
    assert_eq!(detail["rx_dbm"], serde_json::json!(-30.12));
    assert_eq!(detail["device"], "olt-hw");
    let rx_day = live.day.iter().find(|l| l.metric == "rx").expect("rx");
    assert_eq!(
        (rx_day.min, rx_day.max),
        (Some(-30.12), Some(-18.5)),
        "the hour keeps its min and max"
    );

    // Listed among the problems; the event in `events` for the line.
    let Response::Problems(p) = call(
        &mut client,
        Request::Lines {
            query: LinesQuery::Problems,
        },
    )
    .await
    else {
        panic!("problems")
    };
    assert_eq!(p.lines.len(), 1);
    assert_eq!(
        (p.lines[0].reference.as_str(), p.lines[0].state.as_str()),
        ("L-0001", "degraded")
    );
    assert_eq!(p.lines[0].location.as_deref(), Some("olt-hw 0/0/2:0"));
    let Response::Events { events } = call(
        &mut client,
        Request::Events {
            since: None,
            subject: Some("L-0001".into()),
            limit: 10,
        },
    )
    .await
    else {
        panic!("events")
    };
    assert_eq!(events.len(), 1);

    // `line watch`: one GET of the ONT's rows, read with the profile; no hysteresis.
    agent.rewrite_recording("ont", &recording(-2100, true));
    let r = call(
        &mut client,
        Request::LineWatch {
            line: "L-0001".into(),
        },
    )
    .await;
    let Response::Watch(w) = r else {
        panic!("watch answers with a reading, not {r:?}")
    };
    assert_eq!(
        (w.state.as_str(), w.levels.rx_dbm, w.oper.as_deref()),
        ("up", Some(-21.0), Some("up")),
        "{w:?}"
    );
    assert!(w.values >= 5, "{w:?}");

    // A long fibre gets its own threshold: kept with the line, read back with it, and the
    // next agreeing polls judge the line with it.
    let own = coopnoc_proto::ThresholdOverrides {
        optical_rx_min_dbm: Some(-31.0),
        ..Default::default()
    };
    let r = call(
        &mut client,
        Request::LineThresholds {
            line: "L-0001".into(),
            thresholds: own.clone(),
        },
    )
    .await;
    let Response::Line(d) = r else {
        panic!("thresholds answer with the line, not {r:?}")
    };
    assert_eq!(d.thresholds, own);
    agent.rewrite_recording("ont", &recording(-3012, true));
    for _ in 0..3 {
        poll(&mut client).await;
    }
    assert_eq!(show(&mut client, "L-0001").await.line.state, "up");

    // The state and the event are in the SQLite file.
    let count = |sql: &str| tokio::task::block_in_place(|| common::sqlite_count(&db, sql));
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM line WHERE ref = 'L-0001' AND state = 'up' AND thresholds IS NOT NULL"
        ),
        1
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM event WHERE subject = 'L-0001'"),
        2
    );
    assert!(count("SELECT COUNT(*) FROM line_level") >= 2);
    drop(client);
    daemon.stop(Duration::from_secs(10));
}
