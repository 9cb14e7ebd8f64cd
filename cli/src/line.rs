//! `coopnoc line show`, `line watch` and `line thresholds`: one line, as a technician needs it
//! over SSH.

use std::fmt::Write as _;
use std::time::Duration;

use coopnocd::ipc::{ErrorKind, Levels, LineDetail, LineLocation, Request, Response, WatchReading};
use coopnocd::linestate::ThresholdOverrides;

use crate::Session;
use crate::args::ThresholdArgs;
use crate::output::{self, Style, WIDTH};

/// A level a line can have, in the order shown.
struct Metric {
    /// As the daemon names it in `LevelDay::metric`.
    name: &'static str,
    label: &'static str,
    unit: &'static str,
    decimals: usize,
    /// Higher is better (a receiver's level, a signal, an SNR); not so for a laser's output.
    higher_is_better: bool,
}

const METRICS: [Metric; 5] = [
    Metric {
        name: "rx",
        label: "rx",
        unit: "dBm",
        decimals: 2,
        higher_is_better: true,
    },
    Metric {
        name: "tx",
        label: "tx",
        unit: "dBm",
        decimals: 2,
        higher_is_better: false,
    },
    Metric {
        name: "olt-rx",
        label: "OLT rx",
        unit: "dBm",
        decimals: 2,
        higher_is_better: true,
    },
    Metric {
        name: "signal",
        label: "signal",
        unit: "dBm",
        decimals: 1,
        higher_is_better: true,
    },
    Metric {
        name: "snr",
        label: "SNR",
        unit: "dB",
        decimals: 1,
        higher_is_better: true,
    },
];

fn level_of(levels: &Levels, metric: &str) -> Option<f64> {
    match metric {
        "rx" => levels.rx_dbm,
        "tx" => levels.tx_dbm,
        "olt-rx" => levels.olt_rx_dbm,
        "signal" => levels.signal_dbm,
        "snr" => levels.snr_db,
        _ => None,
    }
    .filter(|v| v.is_finite())
}

/// Where on its device a line hangs: "gpon_1/1/3 ONU 12", "station 00:11:..", "interface X".
fn place(loc: &LineLocation) -> String {
    match (&loc.port, loc.onu, &loc.mac) {
        (Some(p), Some(o), _) => format!("{p} ONU {o}"),
        (None, Some(o), _) => format!("ONU {o}"),
        (Some(p), None, Some(mac)) => format!("{p} station {mac}"),
        (None, None, Some(mac)) => format!("station {mac}"),
        (Some(p), None, None) => format!("interface {p}"),
        (None, None, None) => loc
            .if_index
            .map(|i| format!("ifIndex {i}"))
            .unwrap_or_else(|| "-".to_string()),
    }
}

const INDENT: &str = "            ";

fn field(out: &mut String, label: &str, text: &str) {
    let _ = writeln!(out, "  {label:<10}{text}");
}

/// `coopnoc line show` as text: at most 80 columns.
pub fn show(d: &LineDetail, now: jiff::Timestamp, st: Style) -> String {
    let l = &d.line;
    let live = d.live.as_ref();
    let mut out = String::new();

    let mut state = st.state(&l.state);
    if live.is_some_and(|v| v.flapping) {
        let _ = write!(state, ", {}", st.state("flapping"));
    }
    let mut head = format!("{}  {}  {state}", l.reference, l.kind.as_str());
    if let Some(since) = &l.state_since {
        match output::seconds_since(since, now) {
            Some(secs) => {
                let _ = write!(
                    head,
                    " for {}, since {}",
                    output::duration(secs),
                    output::short_time(since, now)
                );
            }
            None => {
                let _ = write!(head, " since {since}");
            }
        }
    }
    let _ = writeln!(out, "{head}");
    if let Some(reason) = live.and_then(|v| v.reason.as_deref()) {
        field(&mut out, "reason", reason);
    }
    match (&l.member, &d.member_name) {
        (Some(m), Some(name)) => field(&mut out, "member", &format!("{m}  {name}")),
        (Some(m), None) => field(&mut out, "member", m),
        _ => field(&mut out, "member", "- (unassigned)"),
    }

    // Where it hangs.
    match live.and_then(|v| v.location.as_ref()) {
        Some(loc) => {
            let site = loc.site.as_deref().or(d.site.as_deref());
            let path: Vec<String> = site
                .map(str::to_string)
                .into_iter()
                .chain([loc.device.clone()])
                .collect();
            let path = path.join(" / ");
            let place = place(loc);
            // "site / device / place" on one line when it fits, else the place below.
            if 12 + path.chars().count() + 3 + place.chars().count() <= WIDTH {
                field(&mut out, "where", &format!("{path} / {place}"));
            } else {
                field(&mut out, "where", &path);
                let _ = writeln!(out, "{INDENT}{place}");
            }
            let mut more = Vec::new();
            if let Some(s) = &loc.serial {
                more.push(format!("serial {s}"));
            }
            if let (Some(m), Some(_)) = (&loc.mac, &loc.onu) {
                more.push(format!("MAC {m}"));
            }
            if let Some(i) = loc.if_index {
                more.push(format!("ifIndex {i}"));
            }
            if let Some(p) = &loc.profile {
                more.push(format!("profile {p}"));
            }
            more.push(format!("seen {}", output::ago(Some(&loc.seen_at), now)));
            let _ = writeln!(out, "{INDENT}{}", more.join(", "));
        }
        None => {
            let text = match (&l.device, &d.site, live.is_some()) {
                (Some(dev), Some(site), true) => format!("{site} / {dev}: not seen there now"),
                (Some(dev), None, true) => format!("{dev}: not seen there now"),
                (None, _, true) => "not seen on any device now".to_string(),
                (Some(dev), Some(site), false) => format!("{site} / {dev}"),
                (Some(dev), None, false) => dev.clone(),
                (None, _, false) => "-".to_string(),
            };
            field(&mut out, "where", &text);
        }
    }
    let on = l
        .device
        .as_deref()
        .map(|d| format!(" on {d}"))
        .unwrap_or_default();
    field(
        &mut out,
        "found by",
        &format!("{} {}{on}", l.match_kind.as_str(), l.match_key),
    );
    if let Some(desc) = &l.description {
        field(&mut out, "note", desc);
    }

    if let Some(v) = live {
        // Levels now, their last 24 hours.
        let rows: Vec<String> = METRICS
            .iter()
            .filter_map(|m| {
                let now_value = level_of(&v.levels, m.name);
                let day = v.day.iter().find(|d| d.metric == m.name && d.min.is_some());
                if now_value.is_none() && day.is_none() {
                    return None;
                }
                let dec = m.decimals;
                let now_text = now_value
                    .map(|x| format!("{x:.dec$} {}", m.unit))
                    .unwrap_or_else(|| "-".into());
                let (min, max, spark) = match day {
                    Some(day) => {
                        let (lo, hi) = (day.min.unwrap_or(0.0), day.max.or(day.min).unwrap_or(0.0));
                        (
                            format!("{lo:.dec$}"),
                            format!("{hi:.dec$}"),
                            output::sparkline(&day.hourly_min, lo, hi, 1.0, st),
                        )
                    }
                    None => ("-".into(), "-".into(), String::new()),
                };
                Some(
                    format!("    {:<8}{now_text:<12}{min:>8}{max:>8}  {spark}", m.label)
                        .trim_end()
                        .to_string(),
                )
            })
            .collect();
        if rows.is_empty() {
            if l.kind != coopnocd::ipc::LineKind::Port {
                field(&mut out, "levels", "none read");
            }
        } else {
            let _ = writeln!(
                out,
                "  {:<10}{:<12}{:>8}{:>8}  last 24 h, worst of each hour",
                "levels", "now", "24 h min", "max"
            );
            for r in rows {
                let _ = writeln!(out, "{r}");
            }
            match &v.levels.at {
                Some(at) => {
                    let _ = writeln!(out, "{INDENT}read {}", output::ago(Some(at), now));
                }
                None => {
                    let _ = writeln!(out, "{INDENT}no reading since coopnocd started");
                }
            }
        }
        if let Some(t) = &v.traffic {
            let r = |b: Option<f64>| b.map(output::rate).unwrap_or_else(|| "-".into());
            field(
                &mut out,
                "traffic",
                &format!(
                    "download {}, upload {} (over {}, {})",
                    r(t.download_bps),
                    r(t.upload_bps),
                    output::duration(t.over_seconds.round().max(0.0) as u64),
                    output::ago(Some(&t.at), now)
                ),
            );
        }
        if let Some(u) = v.usage.as_deref().filter(|u| *u != "per-line") {
            field(&mut out, "usage", u);
        }
        let flaps = if v.flapping {
            let changes = if v.flaps == 1 {
                "state change"
            } else {
                "state changes"
            };
            format!(
                "{} {changes} in the flap window: {}",
                v.flaps,
                st.state("flapping")
            )
        } else {
            format!("{} in the flap window", v.flaps)
        };
        field(&mut out, "flaps", &flaps);
    }

    // What happened to it.
    if d.events.is_empty() {
        field(&mut out, "events", "none recorded");
    } else {
        let changes: Vec<String> = d
            .events
            .iter()
            .map(|e| st.change(e.old_state.as_deref(), &e.new_state))
            .collect();
        let width = changes
            .iter()
            .map(|c| output::visible_len(c))
            .max()
            .unwrap_or(0);
        for (i, (e, change)) in d.events.iter().zip(&changes).enumerate() {
            let lead = if i == 0 { "  events    " } else { INDENT };
            let why = crate::events::why(e);
            let text = format!(
                "{lead}{}  {}  {why}",
                output::short_time(&e.at, now),
                output::pad(change, width)
            );
            let _ = writeln!(out, "{}", text.trim_end());
        }
    }
    output::clip(&out, WIDTH, st)
}

pub async fn show_command(s: &mut Session, line: String) -> anyhow::Result<u8> {
    let Response::Line(d) = s.call(Request::LineShow { line }).await? else {
        anyhow::bail!("unexpected answer to line show")
    };
    if !s.print_json(&d)? {
        print!("{}", show(&d, jiff::Timestamp::now(), Style::detect()));
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// line watch

/// The shortest interval between two reads: an OLT's SNMP agent is slow and shared.
pub const MIN_WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// The levels watched, chosen once from what the line has.
struct Watch {
    metrics: Vec<&'static Metric>,
    /// Previous reading's levels, per metric.
    prev: Vec<Option<f64>>,
    first: Vec<Option<f64>>,
    lowest: Vec<Option<f64>>,
    highest: Vec<Option<f64>>,
    prev_reason: Option<String>,
}

impl Watch {
    fn new(metrics: Vec<&'static Metric>) -> Watch {
        let n = metrics.len();
        Watch {
            metrics,
            prev: vec![None; n],
            first: vec![None; n],
            lowest: vec![None; n],
            highest: vec![None; n],
            prev_reason: None,
        }
    }

    fn header(&self) -> String {
        let mut h = format!("{:<11}{:<10}", "TIME", "STATE");
        for m in &self.metrics {
            let _ = write!(
                h,
                "{:<17}",
                format!("{} {}", m.label.to_uppercase(), m.unit)
            );
        }
        h.push_str("GET");
        h
    }

    /// One reading as a row (and its reason on a line of its own when it changed).
    fn row(&mut self, r: &WatchReading, time: &str, st: Style) -> String {
        let mut line = format!("{time:<11}{}", output::pad(&st.state(&r.state), 10));
        for (i, m) in self.metrics.iter().enumerate() {
            let value = level_of(&r.levels, m.name);
            let dec = m.decimals;
            let cell = match (value, self.prev[i]) {
                (Some(v), Some(p)) => {
                    let delta = if (v - p).abs() < 0.005 { 0.0 } else { v - p };
                    let better = (delta.abs() >= 0.05 && m.name != "tx")
                        .then_some((delta > 0.0) == m.higher_is_better);
                    format!(
                        "{v:.dec$} {}",
                        st.better_worse(&format!("({delta:+.2})"), better)
                    )
                }
                (Some(v), None) => format!("{v:.dec$}"),
                (None, _) => "-".to_string(),
            };
            line.push_str(&output::pad(&cell, 17));
            if let Some(v) = value {
                self.first[i].get_or_insert(v);
                self.lowest[i] = Some(self.lowest[i].map_or(v, |x| x.min(v)));
                self.highest[i] = Some(self.highest[i].map_or(v, |x| x.max(v)));
            }
            self.prev[i] = value;
        }
        let _ = write!(line, "{} ms", r.took_ms);
        if r.reason != self.prev_reason
            && let Some(why) = &r.reason
        {
            let _ = write!(line, "\n{:<11}{why}", "");
        }
        self.prev_reason = r.reason.clone();
        output::clip(&line, WIDTH, st)
    }

    /// First and last level, lowest and highest, for the end of a watch.
    fn summary(&self) -> Vec<String> {
        self.metrics
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let (first, last, lo, hi) = (self.first[i]?, self.prev[i]?, self.lowest[i]?, self.highest[i]?);
                let dec = m.decimals;
                Some(format!(
                    "{}: first {first:.dec$}, last {last:.dec$} ({:+.2}); lowest {lo:.dec$}, highest {hi:.dec$} {}",
                    m.label,
                    last - first,
                    m.unit
                ))
            })
            .collect()
    }
}

/// Which levels to watch: those the line has (now or in its last day), else those the
/// first reading gives.
fn watched_metrics(d: &LineDetail, first: &WatchReading) -> Vec<&'static Metric> {
    METRICS
        .iter()
        .filter(|m| {
            let known = d.live.as_ref().is_some_and(|v| {
                level_of(&v.levels, m.name).is_some()
                    || v.day.iter().any(|x| x.metric == m.name && x.min.is_some())
            });
            known || level_of(&first.levels, m.name).is_some()
        })
        .collect()
}

fn clock() -> String {
    jiff::Timestamp::now().strftime("%H:%M:%SZ").to_string()
}

/// Reads the line again and again; see `coopnoc line watch --help`.
pub async fn watch(
    s: &mut Session,
    line: String,
    every: Duration,
    count: Option<u64>,
) -> anyhow::Result<u8> {
    let st = Style::detect();
    let Response::Line(d) = s.call(Request::LineShow { line: line.clone() }).await? else {
        anyhow::bail!("unexpected answer to line show")
    };
    let reference = d.line.reference.clone();
    let device = d
        .live
        .as_ref()
        .and_then(|v| v.location.as_ref())
        .map(|l| l.device.clone());
    if !s.json {
        let at = d
            .live
            .as_ref()
            .and_then(|v| v.location.as_ref())
            .map(|l| format!(" on {} {}", l.device, place(l)))
            .unwrap_or_default();
        let every_text = if every.subsec_millis() == 0 {
            output::duration(every.as_secs())
        } else {
            format!("{} ms", every.as_millis())
        };
        let text = format!("{reference}{at}: read every {every_text}, Ctrl-C to stop\n");
        print!("{}", output::clip(&text, WIDTH, st));
    }
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut table: Option<Watch> = None;
    let (mut readings, mut failed) = (0u64, 0u64);
    let request = Request::LineWatch {
        line: reference.clone(),
    };
    loop {
        if count.is_some_and(|c| readings + failed >= c) {
            break;
        }
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = ticker.tick() => {}
        }
        let answer = tokio::select! {
            _ = &mut ctrl_c => break,
            a = s.client.call(&request) => a?,
        };
        let answer = if s.json {
            answer
        } else {
            crate::escape::escaped(answer)?
        };
        match answer {
            Response::Watch(r) => {
                readings += 1;
                if s.json {
                    println!("{}", crate::escape::json_safe(serde_json::to_string(&r)?));
                    continue;
                }
                let t = table.get_or_insert_with(|| {
                    let w = Watch::new(watched_metrics(&d, &r));
                    println!("{}", w.header());
                    w
                });
                println!("{}", t.row(&r, &clock(), st));
            }
            Response::Error(e) => {
                failed += 1;
                // A line not seen on any device has nothing to re-read; so has a line whose
                // device's profile reads nothing per row, or a daemon without a poller. A
                // device that did not answer this time is worth trying again.
                let device_error = device
                    .as_deref()
                    .is_some_and(|dev| e.message.starts_with(&format!("{dev}:")));
                let fatal = readings == 0
                    && (e.kind == ErrorKind::NotFound
                        || (e.kind == ErrorKind::Unsupported && !device_error));
                if s.json {
                    println!("{}", crate::escape::json_safe(serde_json::to_string(&e)?));
                } else if !fatal {
                    println!(
                        "{}",
                        output::clip(
                            &format!("{:<11}no reading: {}", clock(), e.message),
                            WIDTH,
                            st
                        )
                    );
                }
                if fatal {
                    eprintln!("coopnoc: {}", e.message);
                    return Ok(1);
                }
            }
            _ => anyhow::bail!("unexpected answer to line watch"),
        }
    }
    if !s.json {
        let mut end = format!("{readings} reading{}", if readings == 1 { "" } else { "s" });
        if failed > 0 {
            let _ = write!(end, ", {failed} without an answer");
        }
        println!("{end}");
        for l in table.as_ref().map(Watch::summary).unwrap_or_default() {
            println!("{}", output::clip(&format!("  {l}"), WIDTH, st));
        }
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// line thresholds

/// Plausible values only: a sign forgotten (`--optical-rx-min 28`) would turn every reading
/// into "degraded".
fn check_thresholds(o: &ThresholdOverrides) -> Result<(), String> {
    let checks = [
        ("--optical-rx-min", o.optical_rx_min_dbm, -60.0, 10.0, "dBm"),
        ("--optical-rx-max", o.optical_rx_max_dbm, -60.0, 10.0, "dBm"),
        (
            "--radio-signal-min",
            o.radio_signal_min_dbm,
            -120.0,
            0.0,
            "dBm",
        ),
        ("--radio-snr-min", o.radio_snr_min_db, 0.0, 90.0, "dB"),
    ];
    for (flag, v, lo, hi, unit) in checks {
        if let Some(v) = v
            && !(v.is_finite() && (lo..=hi).contains(&v))
        {
            return Err(format!(
                "{flag} {v}: expected a level between {lo} and {hi} {unit}"
            ));
        }
    }
    if let (Some(lo), Some(hi)) = (o.optical_rx_min_dbm, o.optical_rx_max_dbm)
        && lo >= hi
    {
        return Err(format!(
            "--optical-rx-min {lo} must be below --optical-rx-max {hi}"
        ));
    }
    Ok(())
}

/// What a line's thresholds are after `line thresholds`.
pub fn thresholds_text(d: &LineDetail, o: &ThresholdOverrides, st: Style) -> String {
    let mut out = String::new();
    let reference = &d.line.reference;
    if o.is_empty() {
        let _ = writeln!(
            out,
            "{reference} follows the configured thresholds again ([lines] in coopnoc.toml)"
        );
    } else {
        let _ = writeln!(
            out,
            "{reference} has its own thresholds now; the others are the configured ones"
        );
        let rows = [
            ("optical rx min", o.optical_rx_min_dbm, "dBm"),
            ("optical rx max", o.optical_rx_max_dbm, "dBm"),
            ("radio signal min", o.radio_signal_min_dbm, "dBm"),
            ("radio SNR min", o.radio_snr_min_db, "dB"),
        ];
        for (label, v, unit) in rows {
            let text = match v {
                Some(v) => format!("{v:.1} {unit} (this line)"),
                None => "as configured".to_string(),
            };
            let _ = writeln!(out, "  {label:<18}{text}");
        }
    }
    let _ = writeln!(
        out,
        "  {:<18}{}; the next polls judge it with these",
        "state now",
        st.state(&d.line.state)
    );
    output::clip(&out, WIDTH, st)
}

pub async fn thresholds(s: &mut Session, a: ThresholdArgs) -> anyhow::Result<u8> {
    let o = if a.clear {
        ThresholdOverrides::default()
    } else {
        // Flags given replace the line's own values; the others it already has stay.
        let Response::Line(current) = s
            .call(Request::LineShow {
                line: a.line.clone(),
            })
            .await?
        else {
            anyhow::bail!("unexpected answer to line show")
        };
        let had = &current.thresholds;
        ThresholdOverrides {
            optical_rx_min_dbm: a.optical_rx_min.or(had.optical_rx_min_dbm),
            optical_rx_max_dbm: a.optical_rx_max.or(had.optical_rx_max_dbm),
            radio_signal_min_dbm: a.radio_signal_min.or(had.radio_signal_min_dbm),
            radio_snr_min_db: a.radio_snr_min.or(had.radio_snr_min_db),
        }
    };
    check_thresholds(&o).map_err(anyhow::Error::msg)?;
    let Response::Line(d) = s
        .call(Request::LineThresholds {
            line: a.line,
            thresholds: o.clone(),
        })
        .await?
    else {
        anyhow::bail!("unexpected answer to line thresholds")
    };
    if s.json {
        s.print_json(&serde_json::json!({ "line": d.line.reference, "thresholds": o }))?;
    } else {
        print!("{}", thresholds_text(&d, &o, Style::detect()));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use coopnocd::ipc::{Event, LevelDay, Line, LineKind, LineLive, MatchKind, Traffic};

    fn now() -> jiff::Timestamp {
        "2026-11-29T01:26:00Z".parse().expect("time")
    }

    fn detail() -> LineDetail {
        let mut hourly: Vec<Option<f64>> = (0..24)
            .map(|h| Some(-22.0 - f64::from(h % 6) * 0.5))
            .collect();
        hourly[5] = None;
        hourly[6] = None;
        LineDetail {
            line: Line {
                reference: "L-00042".into(),
                kind: LineKind::Fibre,
                device: Some("olt-bordes".into()),
                match_kind: MatchKind::Ifalias,
                match_key: "L-00042".into(),
                member: Some("M-0042".into()),
                description: Some("boîte aux lettres côté jardin".into()),
                state: "degraded".into(),
                state_since: Some("2026-11-28T22:14:05Z".into()),
            },
            member_name: Some("Foyer Dupont".into()),
            site: Some("armoire-bordes".into()),
            events: vec![
                Event {
                    at: "2026-11-28T22:14:05Z".into(),
                    subject_kind: "line".into(),
                    subject: "L-00042".into(),
                    old_state: Some("up".into()),
                    new_state: "degraded".into(),
                    reason: Some("OLT rx -28.40 dBm below -27.0".into()),
                    detail: None,
                },
                Event {
                    at: "2026-11-27T03:02:00Z".into(),
                    subject_kind: "line".into(),
                    subject: "L-00042".into(),
                    old_state: Some("down".into()),
                    new_state: "up".into(),
                    reason: None,
                    detail: Some(serde_json::json!({"olt_rx_dbm": -22.5, "rx_dbm": null})),
                },
            ],
            thresholds: ThresholdOverrides::default(),
            live: Some(LineLive {
                reason: Some("OLT rx -28.40 dBm below -27.0".into()),
                flaps: 1,
                flapping: false,
                location: Some(LineLocation {
                    device: "olt-bordes".into(),
                    site: Some("armoire-bordes".into()),
                    profile: Some("zte-c3xx".into()),
                    port: Some("gpon_1/1/3".into()),
                    onu: Some(12),
                    if_index: Some(140),
                    serial: None,
                    mac: None,
                    seen_at: "2026-11-29T01:25:48Z".into(),
                }),
                levels: Levels {
                    at: Some("2026-11-29T01:25:48Z".into()),
                    rx_dbm: None,
                    tx_dbm: None,
                    olt_rx_dbm: Some(-28.4),
                    signal_dbm: None,
                    snr_db: None,
                },
                day: vec![LevelDay {
                    metric: "olt-rx".into(),
                    unit: "dBm".into(),
                    min: Some(-28.4),
                    max: Some(-21.9),
                    hourly_min: hourly,
                }],
                traffic: Some(Traffic {
                    download_bps: Some(12_300_000.0),
                    upload_bps: Some(850_000.0),
                    over_seconds: 15.0,
                    at: "2026-11-29T01:25:48Z".into(),
                }),
                usage: Some("not measured per line on this device".into()),
            }),
        }
    }

    #[test]
    fn line_show_answers_the_technicians_questions() {
        let text = show(&detail(), now(), Style::PLAIN);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0], "L-00042  fibre  degraded for 3h 11m, since 11-28 22:14Z",
            "{text}"
        );
        assert!(
            text.contains("  reason    OLT rx -28.40 dBm below -27.0\n"),
            "{text}"
        );
        assert!(
            text.contains("  member    M-0042  Foyer Dupont\n"),
            "{text}"
        );
        assert!(
            text.contains("  where     armoire-bordes / olt-bordes / gpon_1/1/3 ONU 12\n"),
            "{text}"
        );
        assert!(
            text.contains("            ifIndex 140, profile zte-c3xx, seen 12s ago\n"),
            "{text}"
        );
        assert!(
            text.contains("  found by  ifalias L-00042 on olt-bordes\n"),
            "{text}"
        );
        assert!(
            text.contains("    OLT rx  -28.40 dBm    -28.40  -21.90  "),
            "{text}"
        );
        assert!(text.contains("            read 12s ago\n"), "{text}");
        assert!(
            text.contains("  traffic   download 12.3 Mb/s, upload 850 kb/s (over 15s, 12s ago)\n"),
            "{text}"
        );
        assert!(
            text.contains("  usage     not measured per line on this device\n"),
            "{text}"
        );
        assert!(
            text.contains("  flaps     1 in the flap window\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  events    11-28 22:14Z  up → degraded  OLT rx -28.40 dBm below -27.0\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("            11-27 03:02Z  down → up      OLT rx -22.50\n"),
            "{text}"
        );
        // The sparkline: 24 hours, the gap drawn as dots.
        let spark_line = lines
            .iter()
            .find(|l| l.starts_with("    OLT rx"))
            .expect("levels row");
        let spark: String = spark_line.chars().skip(42).collect();
        assert_eq!(spark.chars().count(), 24, "{spark_line}");
        assert_eq!(spark.chars().nth(5), Some('·'), "{spark_line}");
        assert!(
            spark.chars().all(|c| "▁▂▃▄▅▆▇█·".contains(c)),
            "{spark_line}"
        );
        assert!(!text.contains('\x1b'), "no colour codes: {text}");
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    }

    #[test]
    fn line_show_stays_within_80_columns_whatever_the_data() {
        let mut d = detail();
        d.line.description = Some("x".repeat(300));
        d.member_name = Some("Famille ".repeat(20));
        if let Some(live) = d.live.as_mut() {
            live.reason = Some("reason ".repeat(30));
            live.flapping = true;
            if let Some(loc) = live.location.as_mut() {
                loc.port = Some("p".repeat(100));
                loc.site =
                    Some("Château d'eau de Villiers-le-Haut, accès par la route de Sens".into());
            }
        }
        d.events[0].reason = Some("r".repeat(200));
        let text = show(&d, now(), Style::PLAIN);
        // A long place goes on a line of its own.
        assert!(
            text.contains(
                "  where     Château d'eau de Villiers-le-Haut, accès par la route de Sens / olt…\n"
            ),
            "{text}"
        );
        assert!(text.contains(&format!("\n{INDENT}pppppppp")), "{text}");
        for st in [
            Style::PLAIN,
            Style {
                colour: true,
                unicode: true,
            },
            Style {
                colour: false,
                unicode: false,
            },
        ] {
            let text = show(&d, now(), st);
            assert!(text.lines().all(|l| output::visible_len(l) <= 80), "{text}");
            assert!(text.contains("flapping"), "{text}");
        }
        let ascii = show(
            &d,
            now(),
            Style {
                colour: false,
                unicode: false,
            },
        );
        assert!(
            !ascii.contains('→') && !ascii.contains('▁') && !ascii.contains('·'),
            "{ascii}"
        );
        assert!(ascii.contains("up -> degraded"), "{ascii}");
    }

    #[test]
    fn a_line_not_seen_says_so() {
        let mut d = detail();
        d.line.state = "unknown".into();
        d.events.clear();
        if let Some(live) = d.live.as_mut() {
            live.location = None;
            live.reason = Some("not seen on olt-bordes".into());
            live.levels = Levels::default();
            live.day.clear();
            live.traffic = None;
            live.usage = None;
        }
        let text = show(&d, now(), Style::PLAIN);
        assert!(
            text.contains("  where     armoire-bordes / olt-bordes: not seen there now\n"),
            "{text}"
        );
        assert!(text.contains("  levels    none read\n"), "{text}");
        assert!(text.contains("  events    none recorded\n"), "{text}");
        assert!(!text.contains("traffic"), "{text}");
        // A store-only answer (no live part) still shows the line.
        d.live = None;
        let text = show(&d, now(), Style::PLAIN);
        assert!(
            text.contains("  where     armoire-bordes / olt-bordes\n"),
            "{text}"
        );
    }

    fn reading(olt_rx: f64, state: &str, reason: Option<&str>) -> WatchReading {
        WatchReading {
            line: "L-00042".into(),
            device: "olt-bordes".into(),
            location: Some("gpon_1/1/3:12".into()),
            state: state.into(),
            reason: reason.map(str::to_string),
            levels: Levels {
                olt_rx_dbm: Some(olt_rx),
                ..Levels::default()
            },
            oper: Some("up".into()),
            values: 3,
            took_ms: 45,
        }
    }

    #[test]
    fn watch_rows_show_the_change_since_the_previous_reading() {
        let d = detail();
        let first = reading(-22.45, "up", None);
        let mut w = Watch::new(watched_metrics(&d, &first));
        assert_eq!(w.header(), "TIME       STATE     OLT RX dBm       GET");
        assert_eq!(
            w.row(&first, "22:14:05Z", Style::PLAIN),
            "22:14:05Z  up        -22.45           45 ms"
        );
        assert_eq!(
            w.row(&reading(-22.14, "up", None), "22:14:07Z", Style::PLAIN),
            "22:14:07Z  up        -22.14 (+0.31)   45 ms"
        );
        assert_eq!(
            w.row(&reading(-22.14, "up", None), "22:14:09Z", Style::PLAIN),
            "22:14:09Z  up        -22.14 (+0.00)   45 ms"
        );
        let bad = w.row(
            &reading(-28.5, "degraded", Some("OLT rx -28.50 dBm below -27.0")),
            "22:14:11Z",
            Style::PLAIN,
        );
        assert_eq!(
            bad,
            "22:14:11Z  degraded  -28.50 (-6.36)   45 ms\n           OLT rx -28.50 dBm below -27.0"
        );
        let coloured = w.row(
            &reading(-22.0, "up", None),
            "22:14:13Z",
            Style {
                colour: true,
                unicode: true,
            },
        );
        assert!(
            coloured.contains("\x1b[32m(+6.50)"),
            "a better level in green: {coloured:?}"
        );
        assert_eq!(
            w.summary(),
            vec!["OLT rx: first -22.45, last -22.00 (+0.45); lowest -28.50, highest -22.00 dBm"]
        );
    }

    #[test]
    fn thresholds_are_checked_and_shown() {
        let ok = ThresholdOverrides {
            optical_rx_min_dbm: Some(-28.0),
            ..Default::default()
        };
        assert_eq!(check_thresholds(&ok), Ok(()));
        let sign = ThresholdOverrides {
            optical_rx_min_dbm: Some(28.0),
            ..Default::default()
        };
        assert!(
            check_thresholds(&sign)
                .expect_err("a forgotten sign")
                .contains("--optical-rx-min 28")
        );
        let upside_down = ThresholdOverrides {
            optical_rx_min_dbm: Some(-8.0),
            optical_rx_max_dbm: Some(-10.0),
            ..Default::default()
        };
        assert!(check_thresholds(&upside_down).is_err());
        let nan = ThresholdOverrides {
            radio_snr_min_db: Some(f64::NAN),
            ..Default::default()
        };
        assert!(check_thresholds(&nan).is_err());
        let text = thresholds_text(&detail(), &ok, Style::PLAIN);
        assert!(
            text.contains("  optical rx min    -28.0 dBm (this line)\n"),
            "{text}"
        );
        assert!(
            text.contains("  optical rx max    as configured\n"),
            "{text}"
        );
        assert!(
            text.contains("  state now         degraded; the next polls judge it with these\n"),
            "{text}"
        );
        let cleared = thresholds_text(&detail(), &ThresholdOverrides::default(), Style::PLAIN);
        assert!(
            cleared.starts_with("L-00042 follows the configured thresholds again"),
            "{cleared}"
        );
    }
}
