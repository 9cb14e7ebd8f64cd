//! Events: every change of state the model sees (a line's, a device's reachability, a link
//! going up or down), as outputs receive them on the model's event stream and as the store
//! records them (`NewEvent`, one conversion here).

use std::collections::HashMap;
use std::sync::Arc;

use crate::collect::observe::{Observation, ObservationBatch, Subject};
use crate::store::NewEvent;
use coopnoc_proto::LineState;

/// One change, as it happened. New kinds (components, problems, incidents) come as new
/// variants: a subscriber ignores the ones it does not know.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    Line(LineEvent),
    Device(DeviceEvent),
    Link(LinkEvent),
}

/// A line changed state (after hysteresis), with the values behind the change.
#[derive(Debug, Clone, PartialEq)]
pub struct LineEvent {
    /// Unix seconds.
    pub at: i64,
    /// The line's reference ("L-0042").
    pub line: Arc<str>,
    /// The device whose poll judged it.
    pub device: Arc<str>,
    pub from: LineState,
    pub to: LineState,
    pub reason: Option<String>,
    /// Where the line hangs on the device, when it is seen there.
    pub port: Option<String>,
    pub onu: Option<u32>,
    /// The levels at the change (`None`: no reading).
    pub rx_dbm: Option<f64>,
    pub tx_dbm: Option<f64>,
    pub olt_rx_dbm: Option<f64>,
    pub signal_dbm: Option<f64>,
    pub snr_db: Option<f64>,
    /// State changes within the flap window, this one included.
    pub flaps: usize,
}

/// A device became reachable or unreachable ("unknown → reachable" at start is not one).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceEvent {
    pub at: i64,
    pub device: Arc<str>,
    /// `None`: not judged before.
    pub was_reachable: Option<bool>,
    pub reachable: bool,
    /// Why it is unreachable (the last poll's error).
    pub reason: Option<String>,
}

/// A link of a device went up or down, seen live (netlink).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkEvent {
    pub at: i64,
    pub device: Arc<str>,
    pub interface: Arc<str>,
    /// `None`: the first change seen of this link since the daemon started.
    pub was_up: Option<bool>,
    pub up: bool,
}

fn reachability(reachable: bool) -> &'static str {
    if reachable {
        "reachable"
    } else {
        "unreachable"
    }
}

fn updown(up: bool) -> &'static str {
    if up { "up" } else { "down" }
}

impl Event {
    /// When it happened, Unix seconds.
    pub fn at(&self) -> i64 {
        match self {
            Event::Line(e) => e.at,
            Event::Device(e) => e.at,
            Event::Link(e) => e.at,
        }
    }

    /// The row the store keeps of it (what `coopnoc events` shows).
    pub fn stored(&self) -> NewEvent {
        match self {
            Event::Line(e) => NewEvent {
                at: e.at,
                subject_kind: "line",
                subject: e.line.to_string(),
                old_state: Some(e.from.as_str().to_string()),
                new_state: e.to.as_str().to_string(),
                reason: e.reason.clone(),
                detail: Some(
                    serde_json::json!({
                        "device": &*e.device,
                        "port": e.port,
                        "onu": e.onu,
                        "rx_dbm": e.rx_dbm,
                        "tx_dbm": e.tx_dbm,
                        "olt_rx_dbm": e.olt_rx_dbm,
                        "signal_dbm": e.signal_dbm,
                        "snr_db": e.snr_db,
                        "flaps": e.flaps,
                    })
                    .to_string(),
                ),
            },
            Event::Device(e) => NewEvent {
                at: e.at,
                subject_kind: "device",
                subject: e.device.to_string(),
                old_state: e.was_reachable.map(|r| reachability(r).to_string()),
                new_state: reachability(e.reachable).to_string(),
                reason: e.reason.clone(),
                detail: None,
            },
            Event::Link(e) => NewEvent {
                at: e.at,
                subject_kind: "device",
                subject: format!("{}/{}", e.device, e.interface),
                old_state: e.was_up.map(|u| updown(u).to_string()),
                new_state: updown(e.up).to_string(),
                reason: Some("link".to_string()),
                detail: None,
            },
        }
    }
}

/// Link changes as events: every `LinkChange` (a link that went up or down, seen live)
/// becomes an event, subject "DEVICE/IFNAME" in the store.
#[derive(Debug, Default)]
pub struct LinkEvents {
    /// The last state seen per link, to fill in each event's old state.
    last: HashMap<String, bool>,
}

impl LinkEvents {
    /// The events of the link changes in `batch`.
    pub fn events(&mut self, batch: &ObservationBatch) -> Vec<Event> {
        batch
            .items
            .iter()
            .filter_map(|item| match item {
                Observation::LinkChange {
                    subject: Subject::Interface { name, .. },
                    up,
                } => {
                    let was_up = self.last.insert(format!("{}/{name}", batch.device), *up);
                    Some(Event::Link(LinkEvent {
                        at: batch.at.as_second(),
                        device: batch.device.clone(),
                        interface: name.clone(),
                        was_up,
                        up: *up,
                    }))
                }
                _ => None,
            })
            .collect()
    }
}
