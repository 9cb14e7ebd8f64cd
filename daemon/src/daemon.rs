//! `run(config, shutdown)`: the daemon as a library function. `main` only wires arguments,
//! logging, the runtime and exit codes; tests call this directly.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::collect::local;
use crate::collect::poller;
use crate::collect::snmp::{Engine, SnmpError};
use crate::config::{Config, DeviceKind};
use crate::health::{self, Health};
use crate::serve::Shared;
use crate::serve::ctl;
use crate::store::{Store, StoreError, WriteOp};
use crate::systemd;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("state directory {path}: {source}")]
    StateDirectory {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ctl(#[from] ctl::CtlError),
    #[error("SNMP engine: {0}")]
    Snmp(#[from] SnmpError),
}

/// Runs the daemon until `shutdown` is cancelled, then stops cleanly within the configured
/// deadline: stop taking work, let queued writes commit, close the store.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), RunError> {
    let config = Arc::new(config);
    let state_dir = &config.daemon.state_directory;
    std::fs::create_dir_all(state_dir).map_err(|source| RunError::StateDirectory {
        path: state_dir.display().to_string(),
        source,
    })?;

    systemd::notify("STATUS=opening the store");
    let (store, writer) = Store::open(&config.database_path()).await?;
    store
        .write(WriteOp::SyncInventory {
            sites: config.sites.clone(),
            devices: config.devices.clone(),
        })
        .await?;

    let listener = ctl::bind(&config.ctl.socket, config.ctl.mode).await?;
    let (poller_handles, poller) = tokio::sync::watch::channel(None);
    let shared = Arc::new(Shared::new(store.clone(), config.clone(), poller));

    // Tasks stop on `tasks`, a child of `shutdown`, so that the daemon can also stop them itself.
    let tasks = shutdown.child_token();
    let mut set = tokio::task::JoinSet::new();
    set.spawn(ctl::serve(listener, shared.clone(), tasks.clone()));
    set.spawn(reload_on_sighup(shared.clone(), tasks.clone()));
    set.spawn(crate::model::usage::service::run(
        shared.model.usage().clone(),
        shared.watch_config(),
        tasks.clone(),
    ));

    // Collectors (SNMP poller, netlink) -> observations -> the model (state, events, published
    // view). The model's task ends once every collector has dropped its sender, taking in
    // what they sent. The watchdog pings only while the collectors and the store writer are
    // alive.
    let health = Arc::new(Health::new());
    let (observations, observed) = tokio::sync::mpsc::channel(poller::CHANNEL_CAPACITY);
    spawn_local_collectors(&mut set, &config, &observations, &health, &tasks);
    let engine = Arc::new(Engine::bind(Some(state_dir)).await?);
    set.spawn(poller::supervise(
        shared.watch_config(),
        engine,
        observations,
        poller_handles,
        tasks.clone(),
    ));
    set.spawn(shared.model.clone().run(observed, tasks.clone()));

    let counts = store.counts().await?;
    tracing::info!(
        "coopnocd {} ready: {} devices, {} lines, {} members; control socket {}",
        env!("CARGO_PKG_VERSION"),
        counts.devices,
        counts.lines,
        counts.members,
        config.ctl.socket.display()
    );
    let status = format!(
        "watching {} devices and {} lines",
        counts.devices, counts.lines
    );
    systemd::notify(&format!("READY=1\nSTATUS={status}"));
    if let Some(interval) = systemd::watchdog_interval() {
        spawn_watchdog(&mut set, &store, &health, interval, status, &tasks);
    }

    shutdown.cancelled().await;
    systemd::notify("STOPPING=1\nSTATUS=shutting down");
    tracing::info!("shutting down");
    let deadline = shared.config().daemon.shutdown_timeout;
    let clean = tokio::time::timeout(deadline, async {
        while let Some(r) = set.join_next().await {
            if let Err(e) = r {
                tracing::error!("a task ended badly during shutdown: {e}");
            }
        }
        drop(shared);
        store.close().await;
        writer.finish().await;
    })
    .await;
    if clean.is_err() {
        tracing::error!(
            "shutdown took longer than {deadline:?}: stopping anyway; committed data is safe"
        );
    }
    ctl::remove_socket(&config.ctl.socket);
    tracing::info!("stopped");
    Ok(())
}

/// One netlink collector per enabled `local` device, each with its heartbeat.
fn spawn_local_collectors(
    set: &mut tokio::task::JoinSet<()>,
    config: &Config,
    observations: &tokio::sync::mpsc::Sender<crate::collect::observe::ObservationBatch>,
    health: &Health,
    shutdown: &CancellationToken,
) {
    for device in config
        .devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Local && d.enabled)
    {
        let beat = health.register(
            format!("netlink collector {}", device.name),
            local::stale_after(device),
        );
        set.spawn(local::run_local_device(
            device.clone(),
            observations.clone(),
            beat,
            shutdown.clone(),
        ));
    }
}

/// systemd's watchdog: a probe through the store writer, and the pings themselves.
fn spawn_watchdog(
    set: &mut tokio::task::JoinSet<()>,
    store: &Store,
    health: &Arc<Health>,
    interval: std::time::Duration,
    status: String,
    shutdown: &CancellationToken,
) {
    let (period, stale_after) = health::store_probe_timing(interval);
    let beat = health.register("store writer", stale_after);
    let store = store.clone();
    set.spawn(health::probe(beat, period, shutdown.clone(), move || {
        let store = store.clone();
        async move { store.write(WriteOp::Nothing).await.map(|_| ()) }
    }));
    set.spawn(health::watchdog(
        health.clone(),
        interval,
        move || status.clone(),
        shutdown.clone(),
    ));
}

/// SIGHUP re-reads the config file. A bad file is refused and the daemon keeps the one it has.
async fn reload_on_sighup(shared: Arc<Shared>, shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP: config reload is unavailable");
        return;
    };
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            got = hup.recv() => if got.is_none() { return },
        }
        let current = shared.config();
        let Some(path) = current.source.clone() else {
            tracing::warn!("SIGHUP: the config was not read from a file; nothing to reload");
            continue;
        };
        systemd::notify_reloading();
        let mut status = "configuration reloaded".to_string();
        match crate::check::load(&path) {
            Err(e) => {
                tracing::error!(
                    "SIGHUP: keeping the running configuration, the new one is refused:\n{e}"
                );
                status = "new configuration refused, running on the previous one (see the log)"
                    .to_string();
            }
            Ok(new) => {
                let locals = |c: &Config| {
                    c.devices
                        .iter()
                        .filter(|d| d.kind == DeviceKind::Local)
                        .cloned()
                        .collect::<Vec<_>>()
                };
                let restart_needed = new.daemon.state_directory != current.daemon.state_directory
                    || new.ctl.socket != current.ctl.socket
                    || new.ctl.max_connections != current.ctl.max_connections
                    || locals(&new) != locals(&current);
                if let Err(e) = shared
                    .store
                    .write(WriteOp::SyncInventory {
                        sites: new.sites.clone(),
                        devices: new.devices.clone(),
                    })
                    .await
                {
                    tracing::error!(
                        "SIGHUP: could not store the new inventory, keeping the old config: {e}"
                    );
                    status = "reload failed, running on the previous configuration (see the log)"
                        .to_string();
                } else {
                    shared.replace_config(Arc::new(new));
                    tracing::info!("configuration reloaded from {}", path.display());
                    if restart_needed {
                        tracing::warn!(
                            "state-directory, ctl.socket, ctl.max-connections and local device changes take effect at the next restart"
                        );
                    }
                }
            }
        }
        // STATUS= stays on what the daemon does, with the outcome of the reload.
        let watching = match shared.store.counts().await {
            Ok(c) => format!("watching {} devices and {} lines; ", c.devices, c.lines),
            Err(_) => String::new(),
        };
        systemd::notify(&format!("READY=1\nSTATUS={watching}{status}"));
    }
}
