//! `coopnoc device ...` and `coopnoc poll`: what the SNMP poller sees of each device.

use clap::Subcommand;
use coopnoc_proto::{DeviceDetail, DeviceSummary, Request, Response};

use crate::Session;
use crate::output::{self, ago, cut};

#[derive(Subcommand, Debug)]
pub enum DeviceCommand {
    /// Every device: reachability, last poll, poll duration, errors.
    List,
    /// One device: description, uptime, interfaces, last errors.
    Show {
        /// The device's name, as in the configuration.
        device: String,
    },
}

pub async fn run(session: &mut Session, cmd: DeviceCommand) -> anyhow::Result<u8> {
    match cmd {
        DeviceCommand::List => {
            let Response::Devices { devices } = session.call(Request::DeviceList).await? else {
                anyhow::bail!("unexpected answer to device list");
            };
            if !session.print_json(&devices)? {
                print!("{}", list(&devices, jiff::Timestamp::now()));
            }
            Ok(0)
        }
        DeviceCommand::Show { device } => {
            let Response::Device(d) = session.call(Request::DeviceShow { device }).await? else {
                anyhow::bail!("unexpected answer to device show");
            };
            if !session.print_json(&d)? {
                print!("{}", show(&d, jiff::Timestamp::now()));
            }
            Ok(0)
        }
    }
}

/// Polls now and shows the device; exit code 1 when the device did not answer.
pub async fn poll(session: &mut Session, device: &str) -> anyhow::Result<u8> {
    let Response::Device(d) = session
        .call(Request::Poll {
            device: device.to_string(),
        })
        .await?
    else {
        anyhow::bail!("unexpected answer to poll");
    };
    let failed = d.summary.consecutive_failures > 0;
    if !session.print_json(&d)? {
        if failed {
            let why = d
                .last_errors
                .first()
                .map(|e| e.message.as_str())
                .unwrap_or("no answer");
            println!("poll of {device} failed: {why}\n");
        }
        print!("{}", show(&d, jiff::Timestamp::now()));
    }
    Ok(if failed { 1 } else { 0 })
}

fn millis(ms: Option<u64>) -> String {
    match ms {
        None => "-".to_string(),
        Some(ms) if ms < 10_000 => format!("{ms} ms"),
        Some(ms) => format!("{:.1} s", ms as f64 / 1000.0),
    }
}

fn speed(bps: Option<u64>) -> String {
    match bps {
        None | Some(0) => "-".to_string(),
        Some(b) if b >= 1_000_000_000 && b % 1_000_000_000 == 0 => {
            format!("{}G", b / 1_000_000_000)
        }
        Some(b) if b >= 1_000_000 => format!("{}M", b / 1_000_000),
        Some(b) => format!("{}k", b / 1000),
    }
}

fn list(devices: &[DeviceSummary], now: jiff::Timestamp) -> String {
    let rows: Vec<Vec<String>> = devices
        .iter()
        .map(|d| {
            vec![
                cut(&d.name, 24),
                d.kind.clone(),
                output::state(&d.state),
                ago(d.last_poll.as_deref(), now),
                millis(d.last_poll_ms),
                if d.consecutive_failures > 0 {
                    format!("{} ({} failing)", d.errors, d.consecutive_failures)
                } else {
                    d.errors.to_string()
                },
            ]
        })
        .collect();
    let mut out = output::table(
        &["DEVICE", "KIND", "STATE", "LAST POLL", "TOOK", "ERRORS"],
        &rows,
    );
    let unreachable = devices.iter().filter(|d| d.state == "unreachable").count();
    out.push_str(&format!(
        "{} devices, {unreachable} unreachable\n",
        devices.len()
    ));
    out
}

/// "zte-c3xx (matched)", "generic IF-MIB: no specific profile matched", or why there is none.
fn profile(d: &DeviceDetail) -> String {
    if let Some(e) = &d.profile_error {
        return format!("error: {e}");
    }
    let id = d.profile.as_deref().unwrap_or("-");
    match d.profile_by.as_deref() {
        Some("fallback") => "generic IF-MIB: no specific profile matched".to_string(),
        Some("forced") => format!("{id} (set in the config)"),
        Some(by) => format!("{id} ({by})"),
        None => format!("{id} (not detected yet)"),
    }
}

fn show(d: &DeviceDetail, now: jiff::Timestamp) -> String {
    let s = &d.summary;
    let mut out = String::new();
    let since = d
        .state_since
        .as_deref()
        .map(|t| format!(" since {t}"))
        .unwrap_or_default();
    out.push_str(&format!(
        "{}  {}  {}{since}\n",
        s.name,
        s.kind,
        output::state(&s.state)
    ));
    if let Some(a) = &s.address {
        out.push_str(&format!(
            "  address     {a} (SNMP v{})\n",
            d.snmp_version.as_deref().unwrap_or("?")
        ));
        out.push_str(&format!("  profile     {}\n", cut(&profile(d), 66)));
        out.push_str(&format!("  ONUs/stations seen: {}\n", d.lines_seen));
    }
    if let Some(site) = &s.site {
        out.push_str(&format!("  site        {site}\n"));
    }
    if let Some(descr) = &d.sys_descr {
        // Some devices put several lines in sysDescr: the first says enough here (a line
        // break shown escaped reads `\r\n`).
        let first = descr.lines().next().unwrap_or("");
        let first = first.split("\\n").next().unwrap_or("");
        let first = first.strip_suffix("\\r").unwrap_or(first);
        out.push_str(&format!("  system      {}\n", cut(first, 66)));
    }
    if let Some(n) = &d.sys_name {
        out.push_str(&format!("  sys name    {}\n", cut(n, 66)));
    }
    if let Some(u) = d.uptime_seconds {
        out.push_str(&format!("  uptime      {}\n", output::duration(u)));
    }
    out.push_str(&format!(
        "  last poll   {}, took {}; {} polls, {} failed\n",
        ago(s.last_poll.as_deref(), now),
        millis(s.last_poll_ms),
        s.polls,
        s.failed_polls
    ));
    let h = &d.health;
    out.push_str(&format!(
        "  requests    {} ({} timeouts, {} retries, {} malformed, {} anomalies)\n",
        h.requests, h.timeouts, h.retries, h.malformed, h.anomalies
    ));
    out.push_str(&format!(
        "  pacing      max-repetitions {}, {} too big, {} overruns\n",
        h.max_repetitions, h.too_big, h.overruns
    ));
    if !d.interfaces.is_empty() {
        out.push_str(&format!("\ninterfaces ({})\n", d.interfaces.len()));
        let rows: Vec<Vec<String>> = d
            .interfaces
            .iter()
            .map(|i| {
                let bits = i
                    .counter_bits
                    .map(|b| if b == 32 { "*" } else { "" })
                    .unwrap_or("");
                vec![
                    i.index.to_string(),
                    cut(i.name.as_deref().or(i.descr.as_deref()).unwrap_or("-"), 20),
                    output::state(i.oper.as_deref().unwrap_or("-")),
                    speed(i.speed_bps),
                    i.in_octets
                        .map(|v| format!("{}{bits}", output::bytes(v)))
                        .unwrap_or_else(|| "-".into()),
                    i.out_octets
                        .map(|v| format!("{}{bits}", output::bytes(v)))
                        .unwrap_or_else(|| "-".into()),
                    cut(i.alias.as_deref().unwrap_or(""), 14),
                ]
            })
            .collect();
        out.push_str(&output::table(
            &["INDEX", "NAME", "OPER", "SPEED", "IN", "OUT", "ALIAS"],
            &rows,
        ));
        if d.interfaces.iter().any(|i| i.counter_bits == Some(32)) {
            out.push_str("* 32-bit counters (the device has no 64-bit ones): they wrap often\n");
        }
    }
    if !d.last_errors.is_empty() {
        out.push_str("\nlast errors\n");
        for e in &d.last_errors {
            out.push_str(&format!("  {}  {}\n", e.at, cut(&e.message, 54)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use coopnoc_proto::CollectorHealth;
    use coopnoc_proto::InterfaceInfo;

    fn summary() -> DeviceSummary {
        DeviceSummary {
            name: "olt-joigny-nord".into(),
            kind: "olt".into(),
            site: Some("joigny-nord".into()),
            address: Some("192.0.2.10:161".into()),
            state: "reachable".into(),
            last_poll: Some("2026-01-01T12:00:00Z".into()),
            last_poll_ms: Some(85),
            polls: 10,
            failed_polls: 1,
            consecutive_failures: 0,
            errors: 2,
        }
    }

    #[test]
    fn the_list_fits_in_80_columns() {
        let now: jiff::Timestamp = "2026-01-01T12:00:12Z".parse().expect("time");
        let text = list(&[summary()], now);
        assert!(text.contains("12s ago") && text.contains("85 ms"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    }

    #[test]
    fn show_has_interfaces_and_marks_32_bit_counters() {
        let now: jiff::Timestamp = "2026-01-01T12:00:12Z".parse().expect("time");
        let d = DeviceDetail {
            summary: summary(),
            profile: Some("zte-c3xx".into()),
            profile_by: Some("matched".into()),
            profile_name: Some("ZTE ZXA10 C300/C320".into()),
            profile_error: None,
            lines_seen: 458,
            discovered: 478,
            snmp_version: Some("2c".into()),
            sys_descr: Some("BDCOM(tm) GP3600-16B Software, Version 10.3.0D\nCopyright".into()),
            sys_object_id: None,
            sys_name: Some("olt".into()),
            uptime_seconds: Some(93784),
            state_since: None,
            health: CollectorHealth::default(),
            interfaces: vec![InterfaceInfo {
                index: 1,
                name: Some("gpon0/1".into()),
                descr: None,
                alias: Some("church tower".into()),
                if_type: Some(6),
                oper: Some("up".into()),
                in_octets: Some(1536),
                out_octets: Some(10),
                counter_bits: Some(32),
                speed_bps: Some(1_000_000_000),
            }],
            last_errors: vec![],
        };
        let text = show(&d, now);
        assert!(
            text.contains("gpon0/1") && text.contains("1G") && text.contains("1.5 KiB*"),
            "{text}"
        );
        assert!(text.contains("1d 2h"), "{text}");
        assert!(text.contains("profile     zte-c3xx (matched)\n"), "{text}");
        assert!(text.contains("ONUs/stations seen: 458\n"), "{text}");
        let fallback = DeviceDetail {
            profile: Some("generic-if-mib".into()),
            profile_by: Some("fallback".into()),
            ..d.clone()
        };
        assert!(show(&fallback, now).contains("generic IF-MIB: no specific profile matched"));
        let broken = DeviceDetail {
            profile_error: Some("profile: no profile has the id \"zte-c999\"".into()),
            ..d.clone()
        };
        assert!(show(&broken, now).contains("error: profile: no profile has the id \"zte-c999\""));
        assert!(!text.contains("Copyright"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    }
}
