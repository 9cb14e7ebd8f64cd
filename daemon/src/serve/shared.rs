//! What the daemon's outputs share: the store, the model and its published view, the
//! poller's handle, the current config, and when it started.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use crate::collect::poller::PollerHandle;
use crate::config::Config;
use crate::model::{Model, Published};
use crate::store::{Store, StoreError, format_time};
use coopnoc_proto::{PROTOCOL_VERSION, StatusInfo};

pub struct Shared {
    pub store: Store,
    /// The model, for what changes it (lines changed in the store, erasure) and `line watch`.
    pub model: Arc<Model>,
    /// What the model publishes: the snapshot and the event stream.
    pub published: Published,
    /// The poller, once started (and again after a restart on a new config).
    poller: watch::Receiver<Option<PollerHandle>>,
    /// The config in force; tells the model and collectors that it was replaced (SIGHUP).
    config: watch::Sender<Arc<Config>>,
    started: Instant,
    started_at: i64,
}

impl Shared {
    pub fn new(
        store: Store,
        config: Arc<Config>,
        poller: watch::Receiver<Option<PollerHandle>>,
    ) -> Shared {
        let config = watch::Sender::new(config);
        let model = Arc::new(Model::new(store.clone(), config.subscribe()));
        Shared {
            published: model.published(),
            model,
            store,
            poller,
            config,
            started: Instant::now(),
            started_at: crate::store::now(),
        }
    }

    /// The poller, for polls on demand (`None` until it has started).
    pub fn poller(&self) -> Option<PollerHandle> {
        self.poller.borrow().clone()
    }

    /// Follows config replacements (the current one first).
    pub fn watch_config(&self) -> watch::Receiver<Arc<Config>> {
        self.config.subscribe()
    }

    /// The config in force now (a reload swaps it).
    pub fn config(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }

    pub fn replace_config(&self, config: Arc<Config>) {
        self.config.send_replace(config);
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
