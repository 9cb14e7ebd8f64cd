//! The SNMP poller: one task per device, each on its own schedule (status and counters, labels,
//! slow metrics), all sharing one SNMP engine and socket. Emits observation batches on a
//! channel; never knows who reads them.
//!
//! Each device (`device.rs`) is read for its system group and the generic IF-MIB profile's
//! interfaces (`ifmib.rs`), and with its own profile (`crate::collect::profile`, see
//! `vendor.rs`): detected at the first poll, after a reboot and with every labels poll; its
//! labels tables walked with the labels and cached, its status tables every poll, its slow
//! ones (per-ONU optics) on the slow interval when `optics` is on; decoded together into the
//! same batch.
//!
//! A device's polls never overlap: its task runs one poll at a time, and a poll asked for on
//! demand (`coopnoc poll`) waits for the one in progress. A scheduled poll that could not start
//! on time because the previous one ran long is an overrun, counted.

mod device;
pub mod ifmib;
mod vendor;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::collect::observe::ObservationBatch;
use crate::collect::profile::ProfileSet;
use crate::collect::snmp::{Engine, Oid, SnmpError, Value};
use crate::config::{Config, Device};
use device::DeviceTask;
use ifmib::IfMib;

/// Observation batches waiting for the consumer; a full channel slows the pollers down.
pub const CHANNEL_CAPACITY: usize = 256;

/// The first polls are spread over at most this long (then every status-interval), so that a
/// restart does not hit every device in the same second yet shows data soon.
const FIRST_POLL_SPREAD: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("no device named \"{0}\" is polled over SNMP (see `coopnoc device list`)")]
    UnknownDevice(String),
    #[error("the poller is shutting down")]
    Stopped,
    #[error("the poll of {0} did not finish within {1:?}")]
    TooSlow(String, Duration),
}

/// What the rest of the daemon asks of a device task.
enum Command {
    /// Poll now; answered with the device's poll count once the poll's batch is sent.
    PollNow(oneshot::Sender<u64>),
    /// GET these objects on the device's session, outside any poll (`line watch`).
    Get(
        Vec<Oid>,
        oneshot::Sender<Result<Vec<(Oid, Value)>, SnmpError>>,
    ),
}

/// How the rest of the daemon reaches the poller: ask for a poll now, or a single GET.
#[derive(Clone, Default)]
pub struct PollerHandle {
    devices: Arc<HashMap<String, mpsc::Sender<Command>>>,
}

impl PollerHandle {
    /// Polls `device` now and waits until the poll has been sent on; returns the device's
    /// poll count, for the caller to wait until the state has taken it in.
    pub async fn poll_now(&self, device: &str, within: Duration) -> Result<u64, PollError> {
        let tx = self
            .devices
            .get(device)
            .ok_or_else(|| PollError::UnknownDevice(device.to_string()))?;
        let (done, rx) = oneshot::channel();
        let wait = async {
            tx.send(Command::PollNow(done))
                .await
                .map_err(|_| PollError::Stopped)?;
            rx.await.map_err(|_| PollError::Stopped)
        };
        tokio::time::timeout(within, wait)
            .await
            .map_err(|_| PollError::TooSlow(device.to_string(), within))?
    }

    /// GETs `oids` from `device` on its own session (its credentials, timeouts and retries),
    /// between its polls.
    pub async fn get(
        &self,
        device: &str,
        oids: Vec<Oid>,
        within: Duration,
    ) -> Result<Result<Vec<(Oid, Value)>, SnmpError>, PollError> {
        let tx = self
            .devices
            .get(device)
            .ok_or_else(|| PollError::UnknownDevice(device.to_string()))?;
        let (done, rx) = oneshot::channel();
        let wait = async {
            tx.send(Command::Get(oids, done))
                .await
                .map_err(|_| PollError::Stopped)?;
            rx.await.map_err(|_| PollError::Stopped)
        };
        tokio::time::timeout(within, wait)
            .await
            .map_err(|_| PollError::TooSlow(device.to_string(), within))?
    }
}

/// Runs the poller until `shutdown`: one task per SNMP device, all restarted when a new
/// config (SIGHUP, through `changes`) changes the polled devices or how they are polled. A
/// restart starts every device afresh (sessions, learned max-repetitions). The handle of the
/// running poller is published on `handles`.
pub async fn supervise(
    mut changes: watch::Receiver<Arc<Config>>,
    engine: Arc<Engine>,
    tx: mpsc::Sender<ObservationBatch>,
    handles: watch::Sender<Option<PollerHandle>>,
    shutdown: CancellationToken,
) {
    let mut current = changes.borrow_and_update().clone();
    loop {
        let generation = shutdown.child_token();
        let mut set = tokio::task::JoinSet::new();
        handles.send_replace(Some(start(
            &current,
            engine.clone(),
            tx.clone(),
            &mut set,
            generation.clone(),
        )));
        let restart = loop {
            tokio::select! {
                _ = shutdown.cancelled() => break false,
                changed = changes.changed() => {
                    if changed.is_err() {
                        // No more config changes can come: poll on until shutdown.
                        shutdown.cancelled().await;
                        break false;
                    }
                    let new = changes.borrow_and_update().clone();
                    let differs = polled(&new) != polled(&current);
                    current = new;
                    if differs {
                        break true;
                    }
                }
                Some(ended) = set.join_next(), if !set.is_empty() => {
                    if let Err(e) = ended {
                        tracing::error!("a device poller task ended badly: {e}");
                    }
                }
            }
        };
        generation.cancel();
        while set.join_next().await.is_some() {}
        if !restart {
            return;
        }
        tracing::info!("devices changed in the new configuration: SNMP poller restarted");
    }
}

fn polled(config: &Config) -> Vec<&Device> {
    config
        .devices
        .iter()
        .filter(|d| d.polled_by_snmp())
        .collect()
}

/// Starts one task per SNMP device on `set`. The tasks stop on `shutdown`; the channel closes
/// when the last of them ends.
pub fn start(
    config: &Config,
    engine: Arc<Engine>,
    tx: mpsc::Sender<ObservationBatch>,
    set: &mut tokio::task::JoinSet<()>,
    shutdown: CancellationToken,
) -> PollerHandle {
    let profiles = match ProfileSet::load(config.daemon.profile_directory.as_deref()) {
        Ok(set) => Arc::new(set),
        // The config check loads the same directory: this is a directory changed since.
        Err(e) => {
            tracing::error!("{e}\nusing the built-in device profiles only");
            Arc::new(ProfileSet::builtin())
        }
    };
    let ifmib = Arc::new(IfMib::from_profile(&profiles.generic()));
    let mut devices = HashMap::new();
    for device in config.devices.iter().filter(|d| d.polled_by_snmp()) {
        let (req_tx, req_rx) = mpsc::channel(4);
        devices.insert(device.name.clone(), req_tx);
        let task = DeviceTask::new(
            device.clone(),
            engine.clone(),
            ifmib.clone(),
            profiles.clone(),
            tx.clone(),
        );
        set.spawn(task.run(req_rx, shutdown.clone()));
    }
    tracing::info!("SNMP poller: {} devices", devices.len());
    PollerHandle {
        devices: Arc::new(devices),
    }
}
