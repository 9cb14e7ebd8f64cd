//! Link changes as events: every `LinkChange` (a link that went up or down, seen live)
//! becomes an event in the store, subject "DEVICE/IFNAME".

use std::collections::HashMap;

use crate::observe::{Observation, ObservationBatch, Subject};
use crate::store::NewEvent;

/// The last state recorded per link, to fill in each event's old state.
#[derive(Debug, Default)]
pub struct LinkEvents {
    last: HashMap<String, bool>,
}

impl LinkEvents {
    /// The events of the link changes in `batch`.
    pub fn events(&mut self, batch: &ObservationBatch) -> Vec<NewEvent> {
        batch
            .items
            .iter()
            .filter_map(|item| match item {
                Observation::LinkChange {
                    subject: Subject::Interface { name, .. },
                    up,
                } => {
                    let subject = format!("{}/{name}", batch.device);
                    let old = self.last.insert(subject.clone(), *up);
                    Some(NewEvent {
                        at: batch.at.as_second(),
                        subject_kind: "device",
                        subject,
                        old_state: old.map(|u| state(u).to_string()),
                        new_state: state(*up).to_string(),
                        reason: Some("link".to_string()),
                        detail: None,
                    })
                }
                _ => None,
            })
            .collect()
    }
}

fn state(up: bool) -> &'static str {
    if up { "up" } else { "down" }
}
