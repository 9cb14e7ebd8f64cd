//! The technician's commands (`line show`, `lines`, `line watch`, `events`, `line
//! thresholds`) run as the `coopnoc` binary against a daemon polling a simulated ZTE C320 OLT:
//! a known line, its place on the OLT and its optical level, as a technician reads them.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use coopnoc_sim::vendor::ZteC3xx;
use coopnoc_sim::{DeviceSpec, SimNetwork, SyntheticOlt};

fn coopnoc(socket: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_coopnoc"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("LC_ALL")
        .env_remove("LC_CTYPE")
        .env("LANG", "C.UTF-8")
        .output()
        .expect("run coopnoc");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs coopnoc and wants exit 0; returns stdout.
fn ok(socket: &Path, args: &[&str]) -> String {
    let (code, out, err) = coopnoc(socket, args);
    assert_eq!(code, 0, "coopnoc {args:?}: {out}{err}");
    out
}

fn json(socket: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = ok(socket, &all);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("coopnoc {args:?}: not JSON ({e}): {out}"))
}

fn fits(text: &str) {
    assert!(
        text.lines().all(|l| l.chars().count() <= 80),
        "wider than 80 columns:\n{text}"
    );
    assert!(
        !text.contains('\x1b'),
        "colour codes while stdout is not a terminal:\n{text}"
    );
}

#[test]
fn a_technician_reads_a_known_line_from_the_command_line() {
    // A ZTE C320 with 64 ONUs, each carrying its line label in ifAlias and an optics row.
    let mut olt = SyntheticOlt::new(64, "olt-test");
    olt.base = Some("zxa10_c320");
    olt.extra.push(Arc::new(ZteC3xx));
    olt.seed = 7;
    let up = (1..=64)
        .map(|n| olt.onu(n))
        .find(|o| o.up)
        .expect("an ONU that is up");
    let down = (1..=64).map(|n| olt.onu(n)).find(|o| !o.up);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let net = rt
        .block_on(SimNetwork::start(vec![DeviceSpec::synthetic_olt(
            "olt-test",
            olt.clone(),
        )]))
        .expect("simulated OLT");
    let addr = net.devices()[0].addr;

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
[lines]
hysteresis = 1
[[site]]
name = "bordes"
[[device]]
name = "olt-test"
site = "bordes"
kind = "olt"
address = "{addr}"
snmp = {{ version = "2c", community = "public" }}
poll = {{ optics = true, slow-interval = "1s", timeout = "1s", retries = 1 }}
"#,
        state = dir.path().join("state").display(),
    );
    let config =
        coopnocd::config::parse(&text, dir.path()).unwrap_or_else(|p| panic!("config: {p:?}"));
    let socket = config.ctl.socket.clone();
    let daemon = common::DaemonThread::start(config);
    let started = Instant::now();
    while !socket.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no control socket"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // The cooperative's lines, as a CSV import: one up, one down (if the OLT has one), one
    // that no device shows.
    let line = up.line_label.clone();
    let mut csv = format!(
        "ref,kind,match,key,device,member,description\n{line},fibre,ifalias,{line},olt-test,,\n"
    );
    if let Some(d) = &down {
        csv.push_str(&format!("{0},fibre,ifalias,{0},olt-test,,\n", d.line_label));
    }
    csv.push_str("L-GHOST,fibre,ifalias,NOBODY,olt-test,,\n");
    let file = dir.path().join("lines.csv");
    std::fs::write(&file, csv).expect("write lines.csv");
    ok(&socket, &["import", file.to_str().expect("path")]);

    // Two polls: the first after the import matches the lines and reads their optics.
    ok(&socket, &["poll", "olt-test"]);
    std::thread::sleep(Duration::from_millis(1100));
    ok(&socket, &["poll", "olt-test"]);
    common::wait_for("the line's level", Duration::from_secs(20), || {
        let v = json(&socket, &["line", "show", &line]);
        v["live"]["levels"]["olt_rx_dbm"].is_number() && v["line"]["state"] == "up"
    });

    // line show: state, where it hangs, its level.
    let out = ok(&socket, &["line", "show", &line]);
    fits(&out);
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("{line}  fibre  up for ")),
        "{out}"
    );
    let place = format!(
        "  where     bordes / olt-test / gpon_1/{}/{} ONU {}\n",
        up.card, up.port, up.onu_id
    );
    assert!(out.contains(&place), "wanted {place:?} in:\n{out}");
    assert!(
        out.contains(&format!("ifIndex {}, profile zte-c3xx, seen ", up.if_index)),
        "{out}"
    );
    assert!(
        out.contains(&format!("  found by  ifalias {line} on olt-test\n")),
        "{out}"
    );
    assert!(
        out.contains("  levels    now         24 h min     max  last 24 h, worst of each hour\n"),
        "{out}"
    );
    let level = out
        .lines()
        .find(|l| l.starts_with("    OLT rx  -"))
        .unwrap_or_else(|| panic!("an OLT rx level:\n{out}"));
    assert!(level.contains(" dBm "), "{level}");
    assert!(out.contains("  flaps     0 in the flap window\n"), "{out}");

    // lines --unassigned: the OLT's other ONUs, with the command that makes a line of one.
    let out = ok(&socket, &["lines", "--unassigned"]);
    fits(&out);
    assert!(out.starts_with("DEVICE    KIND  PORT/ONU"), "{out}");
    assert!(out.contains("olt-test  onu   gpon_1/1/1:"), "{out}");
    assert!(
        out.contains("coopnoc line add --ref REF --kind fibre --match onu --key gpon_1/"),
        "{out}"
    );
    let items = json(&socket, &["lines", "--unassigned"]);
    let keys: Vec<&str> = items
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["key"].as_str())
        .collect();
    let own = format!("gpon_1/{}/{}:{}", up.card, up.port, up.onu_id);
    assert!(!keys.contains(&own.as_str()), "{own} has a line: {keys:?}");
    assert_eq!(keys.len(), 64 - 1 - usize::from(down.is_some()), "{keys:?}");

    // lines (problems by default): the ONU that is down, if any; the footer counts them all.
    let out = ok(&socket, &["lines"]);
    fits(&out);
    if let Some(d) = &down {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&d.line_label) && l.contains("down")),
            "{out}"
        );
    }
    let footer = format!(
        "{} of 3 lines in trouble; 1 unknown (device unreachable or not seen)",
        usize::from(down.is_some())
    );
    assert!(out.ends_with(&format!("{footer}\n")), "{out}");

    // Its own threshold makes the line degraded at the next poll: an event, a problem.
    let out = ok(
        &socket,
        &["line", "thresholds", &line, "--optical-rx-min", "-5"],
    );
    assert!(
        out.contains("  optical rx min    -5.0 dBm (this line)\n"),
        "{out}"
    );
    std::thread::sleep(Duration::from_millis(1100));
    ok(&socket, &["poll", "olt-test"]);
    common::wait_for("the line degraded", Duration::from_secs(20), || {
        json(&socket, &["line", "show", &line])["line"]["state"] == "degraded"
    });
    let out = ok(&socket, &["events", "--line", &line, "--since", "1h"]);
    fits(&out);
    let change = out.lines().nth(1).unwrap_or_default();
    assert!(
        change.contains(&line) && change.contains("up → degraded") && change.contains("below -5.0"),
        "{out}"
    );
    assert!(
        out.lines()
            .last()
            .is_some_and(|l| l.starts_with(&format!("1 event about {line} since "))),
        "{out}"
    );
    let events = json(&socket, &["events", "--device", "olt-test", "--limit", "5"]);
    assert!(events.as_array().is_some(), "{events}");
    let out = ok(&socket, &["lines", "--problems"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with(&line) && l.contains("degraded") && l.contains("OLT rx -")),
        "{out}"
    );

    // line watch: fresh readings with the change since the previous one.
    let out = ok(
        &socket,
        &["line", "watch", &line, "--every", "1s", "--count", "2"],
    );
    fits(&out);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with(&format!("{line} on olt-test gpon_1/")),
        "{out}"
    );
    assert_eq!(
        lines[1], "TIME       STATE     OLT RX dBm       GET",
        "{out}"
    );
    assert!(
        lines[2].contains("degraded  -") && lines[2].ends_with(" ms"),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l.contains("(+0.00)")),
        "the same level twice: {out}"
    );
    assert!(out.contains("2 readings\n"), "{out}");
    let (code, out, err) = coopnoc(&socket, &["--json", "line", "watch", &line, "--count", "1"]);
    assert_eq!(code, 0, "{out}{err}");
    let readings: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    assert_eq!(readings.len(), 1, "{out}");
    assert_eq!(readings[0]["line"], line.as_str());
    assert!(readings[0]["levels"]["olt_rx_dbm"].is_number(), "{out}");

    // Nothing to watch: exit 1 with the daemon's words.
    let (code, _, err) = coopnoc(&socket, &["line", "watch", "L-GHOST", "--count", "1"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not seen on any polled device"), "{err}");
    let (code, _, err) = coopnoc(&socket, &["line", "watch", "L-99999"]);
    assert_eq!(code, 1, "{err}");

    // Back to the configured thresholds.
    let out = ok(&socket, &["line", "thresholds", &line, "--clear"]);
    assert!(
        out.starts_with(&format!("{line} follows the configured thresholds again")),
        "{out}"
    );

    // The OLT stops answering: each reading says so, and the watch goes on.
    rt.block_on(net.shutdown());
    let (code, out, err) = coopnoc(
        &socket,
        &["line", "watch", &line, "--every", "1s", "--count", "2"],
    );
    assert_eq!(code, 0, "{out}{err}");
    fits(&out);
    assert_eq!(out.matches("no reading: olt-test: ").count(), 2, "{out}");
    assert!(out.ends_with("0 readings, 2 without an answer\n"), "{out}");

    daemon.stop(Duration::from_secs(10));
}
