//! `run(config, shutdown)`: the daemon as a library function. `main` only wires arguments,
//! logging, the runtime and exit codes; tests call this directly.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::{self, Config};
use crate::ctl;
use crate::state::Shared;
use crate::store::{Store, StoreError, WriteOp};
use crate::systemd;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("state directory {path}: {source}")]
    StateDirectory { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ctl(#[from] ctl::CtlError),
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
        .write(WriteOp::SyncInventory { sites: config.sites.clone(), devices: config.devices.clone() })
        .await?;

    let listener = ctl::bind(&config.ctl.socket, config.ctl.mode).await?;
    let shared = Arc::new(Shared::new(store.clone(), config.clone()));

    // Tasks stop on `tasks`, a child of `shutdown`, so that the daemon can also stop them itself.
    let tasks = shutdown.child_token();
    let mut set = tokio::task::JoinSet::new();
    set.spawn(ctl::serve(listener, shared.clone(), tasks.clone()));
    set.spawn(reload_on_sighup(shared.clone(), tasks.clone()));
    set.spawn(crate::usage::service::run(shared.clone(), tasks.clone()));

    let counts = store.counts().await?;
    tracing::info!(
        "coopnocd {} ready: {} devices, {} lines, {} members; control socket {}",
        env!("CARGO_PKG_VERSION"),
        counts.devices,
        counts.lines,
        counts.members,
        config.ctl.socket.display()
    );
    systemd::notify(&format!(
        "READY=1\nSTATUS=watching {} devices and {} lines",
        counts.devices, counts.lines
    ));

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
        tracing::error!("shutdown took longer than {deadline:?}: stopping anyway; committed data is safe");
    }
    let _ = std::fs::remove_file(&config.ctl.socket);
    tracing::info!("stopped");
    Ok(())
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
        systemd::notify("RELOADING=1");
        match config::load(&path) {
            Err(e) => {
                tracing::error!("SIGHUP: keeping the running configuration, the new one is refused:\n{e}");
            }
            Ok(new) => {
                let restart_needed = new.daemon.state_directory != current.daemon.state_directory
                    || new.ctl.socket != current.ctl.socket;
                if let Err(e) = shared
                    .store
                    .write(WriteOp::SyncInventory { sites: new.sites.clone(), devices: new.devices.clone() })
                    .await
                {
                    tracing::error!("SIGHUP: could not store the new inventory, keeping the old config: {e}");
                } else {
                    shared.replace_config(Arc::new(new));
                    tracing::info!("configuration reloaded from {}", path.display());
                    if restart_needed {
                        tracing::warn!("state-directory and ctl.socket changes take effect at the next restart");
                    }
                }
            }
        }
        systemd::notify("READY=1");
    }
}
