//! A started device: its agent, the handle tests and scenarios act on, and what it is.
//! Below both the network that starts devices and the scenarios that act on them.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_snmp::Oid;
use async_snmp::agent::Agent;
use tokio::sync::Mutex as AsyncMutex;
use tokio::task::JoinHandle;

use crate::device::SimHandler;
use crate::synth::{Onu, SyntheticOlt};
use crate::table::Cell;

/// What a device is, as the daemon's configuration names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimKind {
    Olt,
    Radio,
    Switch,
    Ups,
    Router,
}

impl SimKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SimKind::Olt => "olt",
            SimKind::Radio => "radio",
            SimKind::Switch => "switch",
            SimKind::Ups => "ups",
            SimKind::Router => "router",
        }
    }
}

impl fmt::Display for SimKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SNMPv3 USM credentials (authPriv, SHA-256 + AES-128).
#[derive(Clone, PartialEq, Eq)]
pub struct V3User {
    pub user: String,
    pub auth_password: String,
    pub priv_password: String,
}

impl fmt::Debug for V3User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("V3User")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// A device's SNMP agent and the task that runs it. Stopping the task (not the agent) makes
/// the device stop answering while its socket stays bound, as a hung or unpowered device
/// whose address still routes: requests get no answer, not an ICMP error.
pub(crate) struct AgentControl {
    name: String,
    agent: Agent,
    runner: AsyncMutex<Option<JoinHandle<()>>>,
    silent: AtomicBool,
}

impl AgentControl {
    pub(crate) fn start(name: String, agent: Agent) -> AgentControl {
        let runner = spawn_agent(&name, &agent);
        AgentControl {
            name,
            agent,
            runner: AsyncMutex::new(Some(runner)),
            silent: AtomicBool::new(false),
        }
    }

    pub(crate) fn is_silent(&self) -> bool {
        self.silent.load(Ordering::SeqCst)
    }

    /// Stop (or resume) answering. Requests that arrive while silent wait in the socket's
    /// receive buffer and are answered, late, when the device resumes.
    pub(crate) async fn set_silent(&self, silent: bool) {
        let mut runner = self.runner.lock().await;
        if silent {
            if let Some(task) = runner.take() {
                task.abort();
                let _ = task.await;
            }
        } else if runner.is_none() && !self.agent.cancellation_token().is_cancelled() {
            *runner = Some(spawn_agent(&self.name, &self.agent));
        }
        self.silent.store(silent, Ordering::SeqCst);
    }

    pub(crate) fn cancel(&self) {
        self.agent.cancel();
    }

    pub(crate) async fn shutdown(&self) {
        self.agent.cancel();
        if let Some(task) = self.runner.lock().await.take()
            && let Err(error) = task.await
        {
            tracing::warn!(device = %self.name, %error, "simulated agent task ended badly");
        }
    }
}

fn spawn_agent(name: &str, agent: &Agent) -> JoinHandle<()> {
    let (runner, name) = (agent.clone(), name.to_owned());
    tokio::spawn(async move {
        // After a silence, requests the stopped run still held may take a moment to wind
        // down; until they have, the agent refuses a second run.
        for _ in 0..250 {
            match runner.run().await {
                Err(error) if error.kind() == async_snmp::ErrorKind::AgentAlreadyRunning => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(error) => {
                    tracing::warn!(device = %name, %error, "simulated agent stopped");
                    return;
                }
                Ok(()) => return,
            }
        }
        tracing::warn!(device = %name, "simulated agent could not resume");
    })
}

/// A started device, as the daemon's configuration or a test needs it.
#[derive(Clone)]
pub struct RunningDevice {
    pub name: String,
    pub kind: SimKind,
    pub site: String,
    /// Where to send requests (`127.0.0.1:PORT`).
    pub addr: SocketAddr,
    pub community: String,
    pub v3: Option<V3User>,
    /// Subscriber lines (ONUs, stations) it carries.
    pub lines: usize,
    /// The recording it replays, or a description of the synthetic table.
    pub recording: String,
    /// The ifAlias labels of a synthetic OLT's ONUs (`L-00001`...), in ONU order.
    pub line_labels: Vec<String>,
    pub(crate) handler: Arc<SimHandler>,
    pub(crate) control: Arc<AgentControl>,
    pub(crate) olt: Option<Arc<SyntheticOlt>>,
}

impl fmt::Debug for RunningDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningDevice")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("site", &self.site)
            .field("addr", &self.addr)
            .field("lines", &self.lines)
            .field("recording", &self.recording)
            .finish_non_exhaustive()
    }
}

impl RunningDevice {
    /// Reboot now: sysUpTime and every counter restart from 0.
    pub fn reboot_now(&self) {
        self.handler.clock.reboot_now();
    }

    /// Freeze (or unfreeze) every counter of the device; sysUpTime keeps moving.
    pub fn set_stalled(&self, stalled: bool) {
        self.handler.clock.set_stalled(stalled);
    }

    /// The growth rate of the counter at `oid` in units per second, or `None` if that OID
    /// is not a counter of this device.
    pub fn counter_rate(&self, oid: &Oid) -> Option<f64> {
        match self.handler.lookup(oid)? {
            Cell::Counter32 { key, scale, .. } | Cell::Counter64 { key, scale, .. } => {
                Some(self.handler.rate(key) * f64::from(scale))
            }
            _ => None,
        }
    }

    /// Number of OIDs the device serves.
    pub fn oid_count(&self) -> usize {
        // Layers above the base only override OIDs the base has (sysName).
        self.handler.layers.last().map_or(0, |t| t.oid_count())
    }

    /// Stop (or resume) answering requests. The socket stays bound, so a request gets no
    /// answer at all (not an error), as from a device that hangs or lost its power.
    pub async fn set_silent(&self, silent: bool) {
        self.control.set_silent(silent).await;
    }

    /// Whether the device stopped answering ([`Self::set_silent`], or a scenario).
    pub fn is_silent(&self) -> bool {
        self.control.is_silent()
    }

    /// The synthetic OLT this device serves, if it is one.
    pub fn synthetic_olt(&self) -> Option<&SyntheticOlt> {
        self.olt.as_deref()
    }

    /// ONU `n` (1-based position, = its ifIndex) of a synthetic OLT as the network started:
    /// its PON port, splitter, line label, status and down cause.
    pub fn onu(&self, n: u32) -> Option<Onu> {
        let olt = self.olt.as_deref()?;
        (1..=olt.onus).contains(&n).then(|| olt.onu(n))
    }

    /// Every ONU of a synthetic OLT, in position order (nothing for other devices).
    pub fn onus(&self) -> impl Iterator<Item = Onu> + '_ {
        let olt = self.olt.as_deref();
        (1..=olt.map_or(0, |o| o.onus)).filter_map(move |n| olt.map(|o| o.onu(n)))
    }

    /// The splitter ONU `n` hangs from (`SPL-1/1/3-2`: the 2nd splitter of PON 1/1/3,
    /// unique on this OLT, not across OLTs).
    pub fn splitter(&self, n: u32) -> Option<String> {
        let olt = self.olt.as_deref()?;
        (1..=olt.onus).contains(&n).then(|| olt.splitter_name(n))
    }
}
