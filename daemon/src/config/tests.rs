//! The checks of the configuration, problem by problem.

use super::*;
use validate::outputs::parse_time_range;

fn parse_ok(text: &str) -> Config {
    match parse(text, Path::new(".")) {
        Ok(c) => c,
        Err(p) => panic!("unexpected problems: {p:#?}"),
    }
}

fn problems(text: &str) -> Vec<String> {
    match parse(text, Path::new(".")) {
        Ok(_) => panic!("config was accepted"),
        Err(p) => p.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn empty_config_gets_defaults() {
    let c = parse_ok("[reports]\nenabled = false\n");
    assert_eq!(c.http.listen.to_string(), defaults::HTTP_LISTEN);
    // Anyone may connect: the daemon decides from the peer's groups (issue 10).
    assert_eq!(c.ctl.mode, 0o666);
    assert_eq!(c.ctl.technicians, vec!["coopnoc-tech".to_string()]);
    assert_eq!(c.ctl.administrators, vec!["coopnoc-admin".to_string()]);
    assert_eq!(c.ctl.max_connections, 32);
    assert_eq!(c.ctl.request_timeout, Duration::from_secs(10));
    assert!(c.devices.is_empty());
}

#[test]
fn every_interval_has_a_minimum_reported_with_its_place() {
    let p = problems(
        r#"
[daemon]
shutdown-timeout = "0s"
[ctl]
technicians = ["coopnoc tech", ""]
max-connections = 0
request-timeout = "0s"
idle-timeout = "500ms"
[poll]
status-interval = "1s"
labels-interval = "0s"
slow-interval = "500ms"
timeout = "0s"
unreachable-interval = "0s"
[lines]
flap-window = "0s"
[retention]
events = "0s"
levels = "1d"
monthly-after-membership = "0s"
[[device]]
name = "olt-1"
kind = "olt"
address = "192.0.2.1"
snmp = { version = "2c", community = "public" }
poll = { unreachable-interval = "1s" }
[[component]]
id = "mail"
name = "Mail"
probes = [{ tcp = "192.0.2.40:25", interval = "0s", timeout = "0s" }]
[smtp]
host = "smtp.example.coop"
from = "noc@example.coop"
timeout = "0s"
[mqtt]
host = "127.0.0.1"
keep-alive = "1y"
"#,
    );
    let all = p.join("\n");
    for place in [
        "daemon.shutdown-timeout",
        "ctl.technicians[0]",
        "ctl.technicians[1]",
        "ctl.max-connections",
        "ctl.request-timeout",
        "ctl.idle-timeout",
        "poll.status-interval",
        "poll.labels-interval",
        "poll.slow-interval",
        "poll.timeout",
        "poll.unreachable-interval: must be at least 5s",
        "device[0] (line 21) \"olt-1\".poll.unreachable-interval: must be at least 5s",
        "lines.flap-window",
        "retention.events",
        "retention.levels",
        "retention.monthly-after-membership",
        ".probes[0].interval",
        ".probes[0].timeout",
        "smtp.timeout",
        "mqtt.keep-alive",
    ] {
        assert!(all.contains(place), "{place} not in:\n{all}");
    }
    // The defaults and the example's values are all within bounds.
    parse_ok("[reports]\nenabled = false\n");
    parse_ok("[reports]\nenabled = false\n[poll]\nunreachable-interval = \"5s\"\n");
}

#[test]
fn device_poll_overrides_global_which_overrides_defaults() {
    let c = parse_ok(
        r#"
[reports]
enabled = false
[poll]
timeout = "3s"
retries = 4
[[device]]
name = "olt-1"
kind = "olt"
address = "192.0.2.1"
snmp = { version = "2c", community = "public" }
poll = { retries = 1, optics = true }
"#,
    );
    let d = &c.devices[0];
    assert_eq!(d.poll.timeout, Duration::from_secs(3));
    assert_eq!(d.poll.retries, 1);
    assert!(d.poll.optics);
    assert_eq!(
        d.target,
        Some(Target {
            host: "192.0.2.1".into(),
            port: 161
        })
    );
}

#[test]
fn every_problem_is_reported_at_once_with_its_place() {
    let p = problems(
        r#"
[daemon]
time-zone = "Mars/Olympus"
[[device]]
name = "Bad Name"
kind = "olt"
address = "192.0.2.1:99999"
snmp = { version = "3", user = "u", auth-protocol = "sha256", auth-password = "short", priv-protocol = "rot13", priv-password = "longenough" }
[[device]]
name = "r1"
kind = "toaster"
"#,
    );
    let all = p.join("\n");
    assert!(all.contains("daemon.time-zone"), "{all}");
    assert!(all.contains("device[0] (line 4)"), "{all}");
    assert!(all.contains(".address"), "{all}");
    assert!(all.contains("auth-password"), "{all}");
    assert!(all.contains("priv-protocol"), "{all}");
    assert!(all.contains("device[1] (line 9)"), "{all}");
    assert!(all.contains("toaster"), "{all}");
    assert!(p.len() >= 5, "{all}");
}

#[test]
fn unknown_key_is_an_error_with_its_line() {
    let p = problems("[daemon]\nstate-directory = \"/tmp\"\nlog-levle = \"info\"\n");
    assert!(p[0].starts_with("line 3"), "{p:?}");
    assert!(p[0].contains("log-levle"), "{p:?}");
}

#[test]
fn secrets_come_from_files_and_never_show_in_debug() {
    let dir = tempfile::tempdir().expect("test setup");
    std::fs::write(dir.path().join("community"), "s3cret-comm\n").expect("test setup");
    let text = r#"
[reports]
enabled = false
[[device]]
name = "sw"
kind = "switch"
address = "[2001:db8::1]:1161"
snmp = { community-file = "community" }
"#;
    let c = parse(text, dir.path()).expect("test setup");
    let d = &c.devices[0];
    assert_eq!(d.target.as_ref().expect("test setup").port, 1161);
    match &d.snmp {
        Some(SnmpCredentials::V2c { community }) => {
            assert_eq!(community.expose(), "s3cret-comm")
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{c:?}").contains("s3cret"));
}

#[test]
fn time_range() {
    assert_eq!(parse_time_range("19:00-23:00"), Some((1140, 1380)));
    assert_eq!(parse_time_range("23:00-19:00"), None);
    assert_eq!(parse_time_range("7pm"), None);
}
