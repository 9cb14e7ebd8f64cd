//! A small consumer of observations: every `LinkChange` (a link that went up or down, seen
//! live) becomes an event in the store, subject "DEVICE/IFNAME". Other consumers (line state,
//! usage, metrics) take the rest of the batches.

use std::collections::HashMap;

use tokio::sync::mpsc;

use crate::observe::{Observation, ObservationBatch, Subject};
use crate::store::{NewEvent, Store, WriteOp};

/// Records link changes until every sender is gone (the collectors stop on shutdown), so the
/// last changes seen before a stop are still stored.
pub async fn record_link_changes(mut rx: mpsc::Receiver<ObservationBatch>, store: Store) {
    // The last state recorded per subject, to fill in old_state.
    let mut last: HashMap<String, bool> = HashMap::new();
    while let Some(batch) = rx.recv().await {
        let events: Vec<NewEvent> = batch
            .items
            .iter()
            .filter_map(|item| match item {
                Observation::LinkChange { subject: Subject::Interface { name, .. }, up } => {
                    let subject = format!("{}/{name}", batch.device);
                    let old = last.insert(subject.clone(), *up);
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
            .collect();
        if events.is_empty() {
            continue;
        }
        if let Err(e) = store.write(WriteOp::RecordEvents(events)).await {
            tracing::error!("could not record link changes of {}: {e}", batch.device);
        }
    }
}

fn state(up: bool) -> &'static str {
    if up { "up" } else { "down" }
}
