//! The scenarios running on a network: started, stopped, and applied to the devices as
//! their timelines go (a task wakes every quarter second while one runs, and sleeps
//! otherwise).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Notify, watch};
use tokio::time::Instant;

use crate::running::RunningDevice;

use super::effects::{DeviceState, ResolvedEvent, resolve};
use super::{Scenario, ScenarioError, ScenarioLibrary, ScenarioRef, ScenarioStatus};

/// How often running scenarios are applied (levels move, ONUs fail one by one).
const TICK: Duration = Duration::from_millis(250);
/// Scenarios that ended by themselves kept for listing.
const FINISHED_KEPT: usize = 20;

pub(crate) struct Engine {
    devices: Arc<[RunningDevice]>,
    state: Mutex<EngineState>,
    wake: Notify,
}

#[derive(Default)]
struct EngineState {
    active: Vec<Active>,
    finished: Vec<ScenarioStatus>,
    /// Per device: silenced by a scenario, overlay set by a scenario.
    silenced: Vec<bool>,
    overlaid: Vec<bool>,
}

struct Active {
    scenario: Scenario,
    started: Instant,
    events: Vec<ResolvedEvent>,
    /// Per event: a reboot whose boot was applied.
    booted: Vec<bool>,
    ends_after: Option<Duration>,
}

impl Active {
    fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
            .mul_f64(self.scenario.speed)
    }

    fn status(&self, now: Instant, finished: bool) -> ScenarioStatus {
        ScenarioStatus {
            name: self.scenario.name.clone(),
            description: self.scenario.description.clone(),
            speed: self.scenario.speed,
            elapsed: self.elapsed(now),
            ends_after: self.ends_after,
            finished,
        }
    }

    /// Reboot events due by `elapsed` (or all started ones when `ending`) that have not
    /// booted their device yet: mark them and return their devices.
    fn boots(&mut self, elapsed: Duration, ending: bool) -> Vec<usize> {
        let mut devices = Vec::new();
        for (event, booted) in self.events.iter().zip(self.booted.iter_mut()) {
            let started = elapsed >= event.at;
            let due = event.boots_by(elapsed) || (ending && started);
            if !*booted && due && event.is_reboot() {
                *booted = true;
                devices.push(event.device);
            }
        }
        devices
    }
}

impl Engine {
    pub(crate) fn new(devices: Arc<[RunningDevice]>) -> Engine {
        let n = devices.len();
        Engine {
            devices,
            state: Mutex::new(EngineState {
                silenced: vec![false; n],
                overlaid: vec![false; n],
                ..EngineState::default()
            }),
            wake: Notify::new(),
        }
    }

    /// Apply running scenarios as time goes, until `stop`.
    pub(crate) async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let busy = {
                let mut state = self.state.lock().await;
                self.apply(&mut state, Instant::now()).await;
                !state.active.is_empty()
            };
            tokio::select! {
                _ = stop.changed() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(TICK), if busy => {}
            }
        }
    }

    pub(crate) async fn start(
        &self,
        scenario: ScenarioRef,
    ) -> Result<ScenarioStatus, ScenarioError> {
        let scenario = match scenario {
            ScenarioRef::Parsed(s) => s,
            ScenarioRef::Named(name) => {
                let library = ScenarioLibrary::builtin();
                library
                    .get(&name)
                    .cloned()
                    .ok_or_else(|| ScenarioError::Unknown {
                        name,
                        available: library.names(),
                    })?
            }
        };
        let events = resolve(&scenario, &self.devices).map_err(|u| ScenarioError::Network {
            scenario: scenario.name.clone(),
            origin: scenario.origin.clone(),
            line: u.line,
            event: u.event,
            message: u.message,
        })?;
        let ends_after = events
            .iter()
            .map(ResolvedEvent::ends_after)
            .try_fold(Duration::ZERO, |end, e| e.map(|e| end.max(e)));
        let mut state = self.state.lock().await;
        let now = Instant::now();
        self.remove(&mut state, now, Some(&scenario.name));
        let active = Active {
            booted: vec![false; events.len()],
            scenario,
            started: now,
            events,
            ends_after,
        };
        let status = active.status(now, false);
        tracing::info!(scenario = %status.name, "scenario started");
        state.active.push(active);
        self.apply(&mut state, now).await;
        drop(state);
        self.wake.notify_one();
        Ok(status)
    }

    /// Stop the scenario named `name` (every one if `None`); returns how many stopped.
    pub(crate) async fn stop(&self, name: Option<&str>) -> usize {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let stopped = self.remove(&mut state, now, name);
        self.apply(&mut state, now).await;
        stopped
    }

    pub(crate) async fn statuses(&self) -> Vec<ScenarioStatus> {
        let state = self.state.lock().await;
        let now = Instant::now();
        let mut out: Vec<ScenarioStatus> = state.finished.clone();
        out.extend(state.active.iter().map(|a| a.status(now, false)));
        out
    }

    /// Take scenarios off the network; a device one was rebooting comes back rebooted.
    fn remove(&self, state: &mut EngineState, now: Instant, name: Option<&str>) -> usize {
        let (gone, kept): (Vec<Active>, Vec<Active>) = std::mem::take(&mut state.active)
            .into_iter()
            .partition(|a| name.is_none_or(|n| a.scenario.name == n));
        state.active = kept;
        let count = gone.len();
        for mut active in gone {
            let elapsed = active.elapsed(now);
            self.boot(active.boots(elapsed, true));
            tracing::info!(scenario = %active.scenario.name, "scenario stopped");
        }
        count
    }

    fn boot(&self, devices: Vec<usize>) {
        for index in devices {
            self.devices[index].handler.clock.reboot_now();
        }
    }

    /// Serve what the running scenarios do at `now`.
    async fn apply(&self, state: &mut EngineState, now: Instant) {
        // Scenarios that ran their course end, as if stopped.
        let mut index = 0;
        while index < state.active.len() {
            let elapsed = state.active[index].elapsed(now);
            if state.active[index]
                .ends_after
                .is_some_and(|end| elapsed >= end)
            {
                let mut done = state.active.remove(index);
                self.boot(done.boots(elapsed, true));
                tracing::info!(scenario = %done.scenario.name, "scenario ended");
                state.finished.push(done.status(now, true));
                if state.finished.len() > FINISHED_KEPT {
                    state.finished.remove(0);
                }
            } else {
                index += 1;
            }
        }
        let mut devices: Vec<DeviceState> = (0..self.devices.len())
            .map(|_| DeviceState::default())
            .collect();
        for active in &mut state.active {
            let elapsed = active.elapsed(now);
            let boots = active.boots(elapsed, false);
            self.boot(boots);
            for event in &active.events {
                event.contribute(elapsed, &mut devices[event.device]);
            }
        }
        for (i, (device, wanted)) in self.devices.iter().zip(&devices).enumerate() {
            if state.silenced[i] != wanted.silent {
                device.control.set_silent(wanted.silent).await;
                state.silenced[i] = wanted.silent;
            }
            match wanted.overlay(device) {
                Some(overlay) => {
                    device.handler.set_overlay(Some(Arc::new(overlay)));
                    state.overlaid[i] = true;
                }
                None if state.overlaid[i] => {
                    device.handler.set_overlay(None);
                    state.overlaid[i] = false;
                }
                None => {}
            }
        }
    }
}
