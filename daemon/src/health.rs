//! The daemon's health, as systemd's watchdog sees it.
//!
//! Each critical task (the store writer, every collector) owns a `Heartbeat` and beats it when
//! it has done a round of work. The watchdog task pings systemd (`WATCHDOG=1`) only while every
//! heartbeat is fresh: a stuck store writer or a stuck collector stops the pings, and systemd
//! restarts the daemon after `WatchdogSec=`. A bare timer would keep pinging a daemon that no
//! longer does its job.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::systemd;

struct Beat {
    name: String,
    stale_after: Duration,
    last: Mutex<Instant>,
}

/// A task's pulse. Cheap to clone; every clone beats the same heart.
#[derive(Clone)]
pub struct Heartbeat(Arc<Beat>);

impl Heartbeat {
    /// "I have just done a round of work."
    pub fn beat(&self) {
        match self.0.last.lock() {
            Ok(mut l) => *l = Instant::now(),
            Err(poisoned) => *poisoned.into_inner() = Instant::now(),
        }
    }

    fn age(&self) -> Duration {
        match self.0.last.lock() {
            Ok(l) => l.elapsed(),
            Err(poisoned) => poisoned.into_inner().elapsed(),
        }
    }
}

/// A task that has not beaten in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub name: String,
    pub silent_for: Duration,
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} silent for {:.1}s",
            self.name,
            self.silent_for.as_secs_f64()
        )
    }
}

/// Every heartbeat of the daemon.
#[derive(Default)]
pub struct Health {
    beats: Mutex<Vec<Heartbeat>>,
}

impl Health {
    pub fn new() -> Health {
        Health::default()
    }

    /// A new heartbeat named `name` (as logs and STATUS= show it), fresh now, called stale
    /// when it has not beaten for `stale_after`.
    pub fn register(&self, name: impl Into<String>, stale_after: Duration) -> Heartbeat {
        let beat = Heartbeat(Arc::new(Beat {
            name: name.into(),
            stale_after,
            last: Mutex::new(Instant::now()),
        }));
        match self.beats.lock() {
            Ok(mut b) => b.push(beat.clone()),
            Err(poisoned) => poisoned.into_inner().push(beat.clone()),
        }
        beat
    }

    /// Ok when every heartbeat is fresh; otherwise the stale ones.
    pub fn check(&self) -> Result<(), Vec<Stale>> {
        let beats = match self.beats.lock() {
            Ok(b) => b.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let stale: Vec<Stale> = beats
            .iter()
            .filter_map(|b| {
                let age = b.age();
                (age > b.0.stale_after).then(|| Stale {
                    name: b.0.name.clone(),
                    silent_for: age,
                })
            })
            .collect();
        if stale.is_empty() { Ok(()) } else { Err(stale) }
    }
}

/// Proves a task alive by asking it something every `period` (the store writer: an empty
/// write through its queue and its transaction); the heartbeat beats when the answer comes
/// back. Stops on `shutdown`.
pub async fn probe<F, Fut, E>(
    heartbeat: Heartbeat,
    period: Duration,
    shutdown: CancellationToken,
    mut ask: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        // No timeout of our own: a task that does not answer simply leaves the heart silent.
        tokio::select! {
            _ = shutdown.cancelled() => return,
            answer = ask() => match answer {
                Ok(()) => heartbeat.beat(),
                Err(e) => tracing::warn!("health: a probe was refused: {e}"),
            },
        }
    }
}

/// Pings systemd's watchdog every `interval / 2` while `health` is good, and says in STATUS=
/// why it stopped when it is not (then systemd restarts us after `WatchdogSec=`).
/// `status` gives the STATUS= line to restore once health is back.
pub async fn watchdog(
    health: Arc<Health>,
    interval: Duration,
    status: impl Fn() -> String,
    shutdown: CancellationToken,
) {
    let mut ticker = tokio::time::interval(interval / 2);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut was_healthy = true;
    tracing::info!(
        "watchdog: pinging systemd every {:?} while the store and collectors are alive",
        interval / 2
    );
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        match health.check() {
            Ok(()) => {
                if was_healthy {
                    systemd::notify("WATCHDOG=1");
                } else {
                    tracing::info!("watchdog: every task is alive again; pinging systemd again");
                    systemd::notify(&format!("WATCHDOG=1\nSTATUS={}", status()));
                }
                was_healthy = true;
            }
            Err(stale) => {
                let list = stale
                    .iter()
                    .map(Stale::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                if was_healthy {
                    tracing::error!(
                        "watchdog: not pinging systemd, a critical task is stuck: {list}"
                    );
                }
                systemd::notify(&format!("STATUS=stuck: {list}; watchdog pings withheld"));
                was_healthy = false;
            }
        }
    }
}

/// How often the store probe runs for a watchdog `interval`, and when it is stale.
pub fn store_probe_timing(interval: Duration) -> (Duration, Duration) {
    let period = (interval / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
    // Stale after a whole watchdog interval without an answer: a long import may hold the
    // writer for a few seconds and must not cost a restart.
    (period, interval.max(period * 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_heartbeat_is_reported_by_name() {
        let health = Health::new();
        let alive = health.register("store writer", Duration::from_secs(60));
        let stuck = health.register("netlink collector gw", Duration::from_millis(20));
        alive.beat();
        stuck.beat();
        assert_eq!(health.check(), Ok(()));
        std::thread::sleep(Duration::from_millis(40));
        let stale = health.check().expect_err("the collector is silent");
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].name, "netlink collector gw");
        stuck.beat();
        assert_eq!(health.check(), Ok(()));
    }
}
