//! The model: devices, lines (matching, state, levels), usage and events, fed by the
//! collectors' observations and owning the current state. It hands the store typed
//! operations and never imports an output.
//!
//! What it publishes, for every output to read (see [`Published`]):
//! - a [`Snapshot`] of the current state through a `tokio::sync::watch` channel: devices,
//!   lines grouped by device, components; a new one after every batch taken in (and after
//!   the lines changed in the store), sharing the parts the batch did not touch;
//! - a stream of [`Event`]s through a `tokio::sync::broadcast` channel: line, device and link
//!   changes as they happen, after they are stored. A subscriber that falls behind by more
//!   than [`EVENTS_CAPACITY`] events is told so (`RecvError::Lagged`) and reads the snapshot
//!   again.

pub mod devices;
pub mod events;
pub mod inventory;
pub mod lines;
pub mod usage;
pub mod view;

#[cfg(test)]
mod tests;

pub use events::Event;
pub use view::Snapshot;

use std::sync::Arc;

use tokio::sync::{Mutex, broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::collect::observe::ObservationBatch;
use crate::config::Config;
use crate::store::{Store, StoreError, WriteOp};
use devices::DeviceStates;
use events::LinkEvents;
use lines::{Lines, WatchTarget};
use usage::UsageService;
use view::{ComponentView, LinesView};

/// Events kept for a subscriber that is slow to read them.
pub const EVENTS_CAPACITY: usize = 1024;

/// What outputs hold to read the model: cheap to clone, never blocks the model.
///
/// ```ignore
/// let published = model.published();
/// let now = published.snapshot();            // the current state, an Arc
/// let mut changes = published.watch();       // wakes at each new snapshot
/// let mut events = published.events();       // every change from now on
/// ```
#[derive(Clone)]
pub struct Published {
    snapshot: watch::Receiver<Arc<Snapshot>>,
    events: broadcast::Sender<Event>,
}

impl Published {
    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.borrow().clone()
    }

    /// A receiver that wakes at each new snapshot (`changed().await`).
    pub fn watch(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshot.clone()
    }

    /// The events from now on.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }
}

/// What the model changes, one batch at a time.
struct State {
    devices: DeviceStates,
    lines: Lines,
    links: LinkEvents,
    /// The lines as last published (its groups shared with the snapshots out there).
    lines_view: LinesView,
    version: u64,
}

pub struct Model {
    store: Store,
    config: watch::Receiver<Arc<Config>>,
    state: Mutex<State>,
    usage: Arc<UsageService>,
    snapshot: watch::Sender<Arc<Snapshot>>,
    events: broadcast::Sender<Event>,
}

impl Model {
    /// A model of the devices in the config; `config` follows its replacements (SIGHUP).
    pub fn new(store: Store, config: watch::Receiver<Arc<Config>>) -> Model {
        let current = config.borrow().clone();
        let devices = DeviceStates::new(&current.devices);
        let snapshot = Snapshot {
            devices: Arc::new(devices.all().clone()),
            components: components(&current),
            ..Snapshot::default()
        };
        Model {
            usage: Arc::new(UsageService::new(store.clone())),
            store,
            config,
            state: Mutex::new(State {
                devices,
                lines: Lines::new(),
                links: LinkEvents::default(),
                lines_view: LinesView::default(),
                version: 0,
            }),
            snapshot: watch::Sender::new(Arc::new(snapshot)),
            events: broadcast::Sender::new(EVENTS_CAPACITY),
        }
    }

    pub fn published(&self) -> Published {
        Published {
            snapshot: self.snapshot.subscribe(),
            events: self.events.clone(),
        }
    }

    /// Usage accounting (member erasure, roll-ups).
    pub fn usage(&self) -> &Arc<UsageService> {
        &self.usage
    }

    /// Takes observations off the channel until it closes (every collector stopped) or
    /// shutdown (then it takes in what is already queued). Follows config replacements.
    pub async fn run(
        self: Arc<Self>,
        mut rx: mpsc::Receiver<ObservationBatch>,
        shutdown: CancellationToken,
    ) {
        if let Err(e) = self.lines_changed().await {
            tracing::error!("lines: could not load the lines from the store: {e}");
        }
        let mut config = self.config.clone();
        loop {
            tokio::select! {
                biased;
                changed = config.changed() => {
                    if changed.is_ok() {
                        let current = config.borrow_and_update().clone();
                        self.follow_config(&current).await;
                    }
                }
                b = rx.recv() => match b {
                    Some(b) => self.take_in(&b).await,
                    None => return,
                },
                _ = shutdown.cancelled() => {
                    // Collectors stop on the same token: take in what they already sent.
                    rx.close();
                    while let Some(b) = rx.recv().await {
                        self.take_in(&b).await;
                    }
                    return;
                }
            }
        }
    }

    async fn follow_config(&self, config: &Config) {
        let mut state = self.state.lock().await;
        state.devices.sync(&config.devices);
        self.publish(&mut state, Some(components(config)));
    }

    /// Takes in one batch: lines (stored and counted), then the device's state and events;
    /// then publishes. A `coopnoc poll` answers once the snapshot has the poll, and by then
    /// the poll's lines and usage are stored.
    pub async fn take_in(&self, batch: &ObservationBatch) {
        let config = self.config.borrow().clone();
        let mut state = self.state.lock().await;
        if !state.devices.contains(&batch.device) {
            // A device the config gained since the model last looked.
            state.devices.sync(&config.devices);
        }
        if state.lines.needs_load()
            && let Err(e) = state.lines.load(&self.store).await
        {
            tracing::error!("lines: could not load the lines from the store: {e}");
        }
        let mut events = Vec::new();
        if state.lines.is_loaded() {
            let out = state.lines.take_in(&config, batch);
            self.record_lines(batch, out.write, &out.samples).await;
            events = out.events;
        }
        let mut device_events = state.links.events(batch);
        device_events.extend(state.devices.apply(batch));
        if !device_events.is_empty() {
            for e in &device_events {
                if let Event::Device(d) = e {
                    tracing::info!(
                        "device {} is now {}{}",
                        d.device,
                        if d.reachable {
                            "reachable"
                        } else {
                            "unreachable"
                        },
                        d.reason
                            .as_deref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    );
                }
            }
            let stored = device_events.iter().map(Event::stored).collect();
            if let Err(e) = self.store.write(WriteOp::RecordEvents(stored)).await {
                tracing::error!("could not record the events of {}: {e}", batch.device);
            }
        }
        events.extend(device_events);
        self.publish(&mut state, None);
        drop(state);
        for e in events {
            // No subscriber is not an error.
            let _ = self.events.send(e);
        }
    }

    /// Stores what a batch changed of lines and hands their counters to usage accounting.
    async fn record_lines(
        &self,
        batch: &ObservationBatch,
        write: crate::store::lines::LinesWrite,
        samples: &[usage::CounterSample],
    ) {
        if !write.is_empty() {
            for ev in &write.events {
                tracing::info!(
                    "line {} is now {}{}",
                    ev.subject,
                    ev.new_state,
                    ev.reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                );
            }
            if let Err(e) = self.store.write(WriteOp::Lines(write)).await {
                tracing::error!(
                    "lines: could not record the state of {}'s lines: {e}",
                    batch.device
                );
            }
        }
        if !samples.is_empty()
            && let Err(e) = self.usage.ingest(samples).await
        {
            tracing::error!(
                "usage: could not record {} counter samples of {}: {e}",
                samples.len(),
                batch.device
            );
        }
    }

    /// The lines changed in the store (added, imported, assigned, erased, thresholds): the
    /// model reloads them and publishes before this returns, so that what is read next has
    /// them.
    pub async fn lines_changed(&self) -> Result<(), StoreError> {
        let mut state = self.state.lock().await;
        state.lines.load(&self.store).await?;
        self.publish(&mut state, None);
        Ok(())
    }

    /// What `line watch` needs of a line: where it is, on which device, read how.
    pub async fn watch_target(&self, line_id: i64) -> Option<WatchTarget> {
        self.state.lock().await.lines.watch_target(line_id)
    }

    /// A new snapshot: the devices as they are now (shared), the lines' groups that changed.
    fn publish(&self, state: &mut State, components: Option<Arc<[ComponentView]>>) {
        let State {
            lines, lines_view, ..
        } = state;
        lines.update_view(lines_view);
        state.version += 1;
        let previous = self.snapshot.borrow().clone();
        let snapshot = Snapshot {
            version: state.version,
            at: crate::store::now(),
            devices: Arc::new(state.devices.all().clone()),
            lines: Arc::new(state.lines_view.clone()),
            components: components.unwrap_or_else(|| previous.components.clone()),
        };
        self.snapshot.send_replace(Arc::new(snapshot));
    }
}

fn components(config: &Config) -> Arc<[ComponentView]> {
    config
        .components
        .iter()
        .map(|c| ComponentView {
            id: c.id.clone(),
            name: c.name.clone(),
            group: c.group.clone(),
        })
        .collect()
}
