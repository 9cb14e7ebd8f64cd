//! `coopnoc line show` as text: at most 80 columns.

use std::fmt::Write as _;

use coopnoc_proto::{LineDetail, LineLive, LineLocation};

use super::{METRICS, level_of};
use crate::output::{self, Style, WIDTH};

/// Where on its device a line hangs: "gpon_1/1/3 ONU 12", "station 00:11:..", "interface X".
pub(super) fn place(loc: &LineLocation) -> String {
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

pub(super) const INDENT: &str = "            ";

fn field(out: &mut String, label: &str, text: &str) {
    let _ = writeln!(out, "  {label:<10}{text}");
}

/// `coopnoc line show` as text: at most 80 columns.
pub fn show(d: &LineDetail, now: jiff::Timestamp, st: Style) -> String {
    let mut out = String::new();
    heading(&mut out, d, now, st);
    location(&mut out, d, now);
    if let Some(v) = &d.live {
        levels(&mut out, d, v, now, st);
        activity(&mut out, v, now, st);
    }
    events(&mut out, d, now, st);
    output::clip(&out, WIDTH, st)
}

/// The line, its kind and state and since when; why; its member.
fn heading(out: &mut String, d: &LineDetail, now: jiff::Timestamp, st: Style) {
    let l = &d.line;
    let live = d.live.as_ref();
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
        field(out, "reason", reason);
    }
    match (&l.member, &d.member_name) {
        (Some(m), Some(name)) => field(out, "member", &format!("{m}  {name}")),
        (Some(m), None) => field(out, "member", m),
        _ => field(out, "member", "- (unassigned)"),
    }
}

/// Where it hangs (site / device / place), how it is found, its note.
fn location(out: &mut String, d: &LineDetail, now: jiff::Timestamp) {
    let l = &d.line;
    let live = d.live.as_ref();
    match live.and_then(|v| v.location.as_ref()) {
        Some(loc) => seen_at(out, d, loc, now),
        None => {
            let text = match (&l.device, &d.site, live.is_some()) {
                (Some(dev), Some(site), true) => format!("{site} / {dev}: not seen there now"),
                (Some(dev), None, true) => format!("{dev}: not seen there now"),
                (None, _, true) => "not seen on any device now".to_string(),
                (Some(dev), Some(site), false) => format!("{site} / {dev}"),
                (Some(dev), None, false) => dev.clone(),
                (None, _, false) => "-".to_string(),
            };
            field(out, "where", &text);
        }
    }
    let on = l
        .device
        .as_deref()
        .map(|d| format!(" on {d}"))
        .unwrap_or_default();
    field(
        out,
        "found by",
        &format!("{} {}{on}", l.match_kind.as_str(), l.match_key),
    );
    if let Some(desc) = &l.description {
        field(out, "note", desc);
    }
}

/// "site / device / place" on one line when it fits, else the place below; then what
/// identifies it there and when it was seen.
fn seen_at(out: &mut String, d: &LineDetail, loc: &LineLocation, now: jiff::Timestamp) {
    let site = loc.site.as_deref().or(d.site.as_deref());
    let path: Vec<String> = site
        .map(str::to_string)
        .into_iter()
        .chain([loc.device.clone()])
        .collect();
    let path = path.join(" / ");
    let place = place(loc);
    if 12 + path.chars().count() + 3 + place.chars().count() <= WIDTH {
        field(out, "where", &format!("{path} / {place}"));
    } else {
        field(out, "where", &path);
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

/// Levels now and over the last 24 hours, one row per level the line has.
fn levels(out: &mut String, d: &LineDetail, v: &LineLive, now: jiff::Timestamp, st: Style) {
    let rows: Vec<String> = METRICS.iter().filter_map(|m| level_row(m, v, st)).collect();
    if rows.is_empty() {
        if d.line.kind != coopnoc_proto::LineKind::Port {
            field(out, "levels", "none read");
        }
        return;
    }
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

/// One level's row: now, 24 h min and max, a sparkline; `None` when the line has none.
fn level_row(m: &super::Metric, v: &LineLive, st: Style) -> Option<String> {
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
}

/// Traffic now, how its usage is measured, its flaps.
fn activity(out: &mut String, v: &LineLive, now: jiff::Timestamp, st: Style) {
    if let Some(t) = &v.traffic {
        let r = |b: Option<f64>| b.map(output::rate).unwrap_or_else(|| "-".into());
        field(
            out,
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
        field(out, "usage", u);
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
    field(out, "flaps", &flaps);
}

/// What happened to it: its last events, newest first.
fn events(out: &mut String, d: &LineDetail, now: jiff::Timestamp, st: Style) {
    if d.events.is_empty() {
        field(out, "events", "none recorded");
        return;
    }
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
