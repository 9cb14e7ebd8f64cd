//! After a device's poll, each of its lines is judged once (`state::evaluate`), with
//! hysteresis (`state::Tracker`): what changed becomes a state change to store and an event.

use std::sync::Arc;

use super::book::{Entry, LinesOnDevice};
use super::state::{Evaluation, LineReading, LineState, evaluate};
use crate::config::LineThresholds;
use crate::model::events::{Event, LineEvent};
use crate::store::lines::StateChange;

/// What judging a device's lines leaves to store and publish.
#[derive(Default)]
pub(super) struct Judged {
    pub states: Vec<StateChange>,
    pub events: Vec<Event>,
}

/// Judges the lines matched on device `name` and those it watches (configured there, or
/// lost from there). `stale_after`: levels older than this (seconds) are not trusted.
pub(super) fn judge_lines(
    name: &Arc<str>,
    dev: &LinesOnDevice,
    entries: &mut [Entry],
    thresholds: &LineThresholds,
    at: i64,
    stale_after: i64,
) -> Judged {
    let mut out = Judged::default();
    let mut slots: Vec<usize> = dev.matched.iter().chain(&dev.watched).copied().collect();
    slots.sort_unstable();
    slots.dedup();
    let flap_window = thresholds.flap_window.as_secs() as i64;
    for slot in slots {
        let e = &mut entries[slot];
        let here = e.found.as_ref().is_some_and(|(d, _)| d == name);
        if here {
            e.seen_at = Some(at);
        } else if e.found.is_some() {
            continue; // found on another device: judged with that device's polls
        }
        let evaluation = if dev.reachable == Some(false) {
            Evaluation {
                state: LineState::Unknown,
                reason: Some(format!("device {name} unreachable")),
            }
        } else if !here {
            Evaluation {
                state: LineState::Unknown,
                reason: Some(format!("not seen on {name}")),
            }
        } else {
            evaluate(&reading(e, at, stale_after), thresholds, &e.row.thresholds)
        };
        // A line's first judgement (never judged before) is stored, not an event: a new line
        // or a fresh install would otherwise log thousands of "up".
        let first = e.tracker.since().is_none();
        let Some(t) = e
            .tracker
            .observe(&evaluation, at, thresholds.hysteresis, flap_window)
        else {
            continue;
        };
        out.states.push(StateChange {
            line_id: e.row.id,
            state: t.to,
            since: t.at,
            reason: t.reason.clone(),
        });
        if first {
            continue;
        }
        let found = e.found.as_ref().map(|(_, f)| f);
        out.events.push(Event::Line(LineEvent {
            at,
            line: e.reference.clone(),
            device: name.clone(),
            from: t.from,
            to: t.to,
            reason: t.reason,
            port: found.and_then(|f| f.port.clone()),
            onu: found.and_then(|f| f.onu),
            rx_dbm: e.levels.rx_dbm,
            tx_dbm: e.levels.tx_dbm,
            olt_rx_dbm: e.levels.olt_rx_dbm,
            signal_dbm: e.levels.signal_dbm,
            snr_db: e.levels.snr_db,
            flaps: e.tracker.flaps(at, flap_window),
        }));
    }
    out
}

/// What was seen of a line found on its device: the device's word (its own, else its port's)
/// and its levels while fresh.
fn reading(e: &Entry, at: i64, stale_after: i64) -> LineReading {
    let (says, why) = match &e.says_up {
        Some((up, why)) => (Some(*up), why.clone()),
        None => (
            e.if_oper,
            e.if_oper
                .is_some_and(|u| !u)
                .then(|| "interface down".to_string()),
        ),
    };
    let fresh = e.levels.at.is_some_and(|t| at - t <= stale_after);
    let level = |v: Option<f64>| v.filter(|_| fresh);
    LineReading {
        device_reachable: true,
        device_says_up: says,
        down_reason: why,
        rx_dbm: level(e.levels.rx_dbm),
        tx_dbm: level(e.levels.tx_dbm),
        olt_rx_dbm: level(e.levels.olt_rx_dbm),
        signal_dbm: level(e.levels.signal_dbm),
        snr_db: level(e.levels.snr_db),
    }
}
