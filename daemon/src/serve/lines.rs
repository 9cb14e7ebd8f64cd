//! Lines as the control protocol shows them, from the published snapshot.

use crate::collect::profile::Labels;
use crate::config::LineThresholds;
use crate::model::Snapshot;
use crate::model::lines::{WatchTarget, WatchedReading};
use crate::model::view::{LevelsNow, LineView, Unassigned};
use crate::store::format_time;
use coopnoc_proto::{
    LineLive, LineLocation, LineProblem, LineState, ProblemList, Traffic, UnassignedItem,
    WatchReading,
};

fn flapping(l: &LineView, t: &LineThresholds, now: i64) -> (u32, bool) {
    let flaps = l.flaps(now, t.flap_window.as_secs() as i64);
    (flaps, flaps >= t.flap_count)
}

pub fn levels(l: &LevelsNow) -> coopnoc_proto::Levels {
    coopnoc_proto::Levels {
        at: l.at.map(format_time),
        rx_dbm: l.rx_dbm,
        tx_dbm: l.tx_dbm,
        olt_rx_dbm: l.olt_rx_dbm,
        signal_dbm: l.signal_dbm,
        snr_db: l.snr_db,
    }
}

/// What the daemon sees of a line now (its levels of the last day are read by the caller).
pub fn live(s: &Snapshot, l: &LineView, t: &LineThresholds, now: i64) -> LineLive {
    let (flaps, flapping) = flapping(l, t, now);
    let location = l.location.as_ref().map(|loc| {
        let f = &loc.found;
        LineLocation {
            device: loc.device.to_string(),
            site: s.device(&loc.device).and_then(|d| d.site.clone()),
            profile: loc.profile.as_ref().map(|p| p.id.clone()),
            port: f.port.clone(),
            onu: f.onu,
            if_index: f.if_index,
            serial: f.serial.clone(),
            mac: f.mac.clone(),
            seen_at: format_time(loc.seen_at.unwrap_or(now)),
        }
    });
    LineLive {
        reason: l.reason.clone(),
        flaps,
        flapping,
        location,
        levels: levels(&l.levels),
        day: Vec::new(),
        traffic: l.traffic.map(|t| Traffic {
            download_bps: t.download_bps,
            upload_bps: t.upload_bps,
            over_seconds: t.over_seconds,
            at: format_time(t.at),
        }),
        usage: l.measured_per_line.map(|per_line| {
            if per_line {
                "per-line".to_string()
            } else {
                "not measured per line on this device".to_string()
            }
        }),
    }
}

/// Down, degraded and flapping lines, worst first.
pub fn problems(s: &Snapshot, t: &LineThresholds, now: i64) -> ProblemList {
    let mut list: Vec<(u8, u32, i64, LineProblem)> = Vec::new();
    let mut unknown = 0;
    for l in s.all_lines() {
        if l.state == LineState::Unknown {
            unknown += 1;
        }
        let (flaps, flapping) = flapping(l, t, now);
        if !matches!(l.state, LineState::Down | LineState::Degraded) && !flapping {
            continue;
        }
        let (location, site) = match &l.location {
            Some(loc) => {
                let (device, f) = (&loc.device, &loc.found);
                let place = match (&f.port, f.onu) {
                    (Some(p), Some(o)) => format!("{device} {p}:{o}"),
                    (Some(p), None) => format!("{device} {p}"),
                    _ => f
                        .mac
                        .as_ref()
                        .map(|m| format!("{device} {m}"))
                        .unwrap_or_else(|| device.to_string()),
                };
                (Some(place), s.device(device).and_then(|d| d.site.clone()))
            }
            None => (l.configured_device.as_deref().map(str::to_string), None),
        };
        list.push((
            l.state.severity(),
            flaps,
            l.since.unwrap_or(0),
            LineProblem {
                reference: l.reference.to_string(),
                member: l.member.as_deref().map(str::to_string),
                state: l.state.as_str().to_string(),
                since: l.since.map(format_time),
                reason: l.reason.clone(),
                flaps,
                flapping,
                location,
                site,
            },
        ));
    }
    // Worst state first; then the most unstable; then the most recent.
    list.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then(b.2.cmp(&a.2))
            .then(a.3.reference.cmp(&b.3.reference))
    });
    ProblemList {
        total: s.lines.total,
        unknown,
        lines: list.into_iter().map(|x| x.3).collect(),
    }
}

fn labels(l: &Labels) -> std::collections::BTreeMap<String, String> {
    l.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// ONUs and stations devices show that no line matches, by device.
pub fn unassigned(s: &Snapshot) -> Vec<UnassignedItem> {
    s.lines
        .unassigned()
        .map(|u: &Unassigned| UnassignedItem {
            device: u.device.to_string(),
            site: u.site.clone(),
            kind: u.kind.to_string(),
            port: u.port.clone(),
            onu: u.onu,
            match_kind: u.match_kind,
            key: u.key.clone(),
            labels: labels(&u.labels),
        })
        .collect()
}

/// One fresh read of a line, as `line watch` shows it.
pub fn watch_reading(
    line: &str,
    target: &WatchTarget,
    r: WatchedReading,
    took_ms: u64,
) -> WatchReading {
    WatchReading {
        line: line.to_string(),
        device: target.device.clone(),
        location: target.location.clone(),
        state: r.state.as_str().to_string(),
        reason: r.reason,
        levels: levels(&r.levels),
        oper: r
            .device_says_up
            .map(|u| if u { "up" } else { "down" }.to_string()),
        values: r.values,
        took_ms,
    }
}
