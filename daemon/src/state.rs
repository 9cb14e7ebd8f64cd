//! What the daemon's tasks share: the store, the current config, and when it started.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use crate::config::Config;
use crate::ipc::{PROTOCOL_VERSION, StatusInfo};
use crate::poller::{DeviceStates, PollerHandle};
use crate::store::{Store, StoreError, format_time};

pub struct Shared {
    pub store: Store,
    /// What the collectors saw of each device, now.
    pub devices: Arc<DeviceStates>,
    poller: RwLock<Option<PollerHandle>>,
    /// Tells collectors that the config was replaced (SIGHUP).
    config_changes: tokio::sync::watch::Sender<Arc<Config>>,
    /// Usage accounting: where the line matcher's counter samples go.
    pub usage: Arc<crate::usage::UsageService>,
    /// Subscriber lines: matching, state, levels.
    pub lines: crate::lines::LineService,
    config: RwLock<Arc<Config>>,
    started: Instant,
    started_at: i64,
}

impl Shared {
    pub fn new(store: Store, config: Arc<Config>) -> Shared {
        Shared {
            usage: Arc::new(crate::usage::UsageService::new(store.clone())),
            lines: crate::lines::LineService::new(),
            store,
            devices: Arc::new(DeviceStates::new(&config.devices)),
            poller: RwLock::new(None),
            config_changes: tokio::sync::watch::Sender::new(config.clone()),
            config: RwLock::new(config),
            started: Instant::now(),
            started_at: crate::store::now(),
        }
    }

    /// Set when the poller has started, and again when it restarts on a new config.
    pub fn set_poller(&self, handle: PollerHandle) {
        match self.poller.write() {
            Ok(mut p) => *p = Some(handle),
            Err(poisoned) => *poisoned.into_inner() = Some(handle),
        }
    }

    /// The poller, for polls on demand (`None` until it has started).
    pub fn poller(&self) -> Option<PollerHandle> {
        match self.poller.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Follows config replacements (the current one first).
    pub fn watch_config(&self) -> tokio::sync::watch::Receiver<Arc<Config>> {
        self.config_changes.subscribe()
    }

    /// The config in force now (a reload swaps it).
    pub fn config(&self) -> Arc<Config> {
        match self.config.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn replace_config(&self, config: Arc<Config>) {
        match self.config.write() {
            Ok(mut c) => *c = config.clone(),
            Err(poisoned) => *poisoned.into_inner() = config.clone(),
        }
        self.config_changes.send_replace(config);
    }

    pub async fn status(&self) -> Result<StatusInfo, StoreError> {
        let config = self.config();
        let counts = self.store.counts().await?;
        Ok(StatusInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            protocol: PROTOCOL_VERSION,
            pid: std::process::id(),
            started_at: format_time(self.started_at),
            uptime_seconds: self.started.elapsed().as_secs(),
            cooperative: config.daemon.cooperative_name.clone(),
            config_file: config.source.as_ref().map(|p| p.display().to_string()),
            state_directory: config.daemon.state_directory.display().to_string(),
            sites: counts.sites,
            devices: counts.devices,
            members: counts.members,
            lines: counts.lines,
            lines_unassigned: counts.lines_unassigned,
            store: self.store.info().await?,
        })
    }
}
