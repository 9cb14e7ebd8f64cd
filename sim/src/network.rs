//! A set of simulated devices, each an SNMP agent on its own UDP socket on 127.0.0.1.

use std::convert::Infallible;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_snmp::agent::Agent;
use async_snmp::{AuthProtocol, AuthoritativeEngine, Oid, PrivProtocol};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::device::{Behaviour, Clock, SimHandler};
use crate::synth::SyntheticOlt;
use crate::table::{Cell, Entry, MibTable, MibView};

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

/// What a device serves.
#[derive(Debug, Clone)]
pub enum Source {
    /// A bundled recording, by name (see [`crate::recordings::names`]).
    Recording(&'static str),
    /// A generated OLT.
    SyntheticOlt(SyntheticOlt),
    /// A table built by the caller (e.g. from [`crate::snmprec::parse`] of another file).
    Table {
        description: String,
        table: Arc<MibTable>,
    },
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

/// Everything needed to start one device.
#[derive(Debug, Clone)]
pub struct DeviceSpec {
    pub name: String,
    pub kind: SimKind,
    pub site: String,
    /// v1/v2c community.
    pub community: String,
    pub source: Source,
    pub behaviour: Behaviour,
    /// Also accept SNMPv3 with this user (SHA-256/AES-128 authPriv).
    pub v3: Option<V3User>,
    /// Serve `sysName.0` as `name` instead of the recorded value.
    pub rename: bool,
}

impl DeviceSpec {
    /// A device replaying a bundled recording as recorded (community `public`).
    pub fn recording(name: impl Into<String>, kind: SimKind, recording: &'static str) -> Self {
        DeviceSpec {
            name: name.into(),
            kind,
            site: String::new(),
            community: "public".to_owned(),
            source: Source::Recording(recording),
            behaviour: Behaviour::default(),
            v3: None,
            rename: false,
        }
    }

    /// A synthetic OLT (community `public`; sysName is the OLT's `sys_name`).
    pub fn synthetic_olt(name: impl Into<String>, olt: SyntheticOlt) -> Self {
        DeviceSpec {
            name: name.into(),
            kind: SimKind::Olt,
            site: String::new(),
            community: "public".to_owned(),
            source: Source::SyntheticOlt(olt),
            behaviour: Behaviour::default(),
            v3: None,
            rename: false,
        }
    }

    fn lines(&self) -> usize {
        match &self.source {
            Source::SyntheticOlt(olt) => olt.onus as usize,
            Source::Recording(name) => recording_lines(name),
            Source::Table { .. } => 0,
        }
    }

    fn describe_source(&self) -> String {
        match &self.source {
            Source::Recording(name) => (*name).to_owned(),
            Source::SyntheticOlt(olt) => olt.describe(),
            Source::Table { description, .. } => description.clone(),
        }
    }
}

/// Subscriber lines (stations, ONUs) a bundled recording carries, per `snmprec/INDEX.md`.
fn recording_lines(name: &str) -> usize {
    match name {
        "epmp_epmp-ap-connected-sta" => 6,
        "routeros" => 11,
        "airos-af-ltu" | "airos-af60_airos-af60" => 1,
        "vsolution_v1600d" => 16,
        "zxa10_c320" => 125,
        _ => 0,
    }
}

/// Why a network could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("device {device}: no bundled recording named {recording:?}")]
    UnknownRecording { device: String, recording: String },
    #[error("device {device}: cannot start its SNMP agent on {addr}: {source}")]
    Agent {
        device: String,
        addr: SocketAddr,
        source: Box<async_snmp::Error>,
    },
    #[error("device {device}: invalid SNMPv3 user: {source}")]
    V3 {
        device: String,
        source: async_snmp::CryptoError,
    },
    #[error("device {device}: cannot open its loss front socket on {addr}: {source}")]
    Io {
        device: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("base port {base} + {count} devices does not fit in 65535")]
    PortRange { base: u16, count: usize },
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
    handler: Arc<SimHandler>,
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
}

/// A running simulated network. Dropping it stops the agents; [`SimNetwork::shutdown`]
/// also waits for their tasks to end.
pub struct SimNetwork {
    devices: Vec<RunningDevice>,
    agents: Vec<Agent>,
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl SimNetwork {
    /// Start every device on `127.0.0.1` with a port chosen by the system.
    pub async fn start(specs: Vec<DeviceSpec>) -> Result<SimNetwork, SimError> {
        Self::start_inner(specs, None).await
    }

    /// Start every device on `127.0.0.1`, device `i` on port `base_port + i`.
    pub async fn start_at(specs: Vec<DeviceSpec>, base_port: u16) -> Result<SimNetwork, SimError> {
        if usize::from(base_port) + specs.len() > 65_536 {
            return Err(SimError::PortRange {
                base: base_port,
                count: specs.len(),
            });
        }
        Self::start_inner(specs, Some(base_port)).await
    }

    async fn start_inner(
        specs: Vec<DeviceSpec>,
        base_port: Option<u16>,
    ) -> Result<SimNetwork, SimError> {
        let epoch = Instant::now();
        let (stop, _) = watch::channel(false);
        let mut network = SimNetwork {
            devices: Vec::with_capacity(specs.len()),
            agents: Vec::with_capacity(specs.len()),
            tasks: Vec::new(),
            stop,
        };
        for (i, spec) in specs.into_iter().enumerate() {
            let port = base_port.map_or(0, |p| p + i as u16);
            let public = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            network.start_device(spec, public, epoch).await?;
        }
        Ok(network)
    }

    async fn start_device(
        &mut self,
        spec: DeviceSpec,
        public: SocketAddr,
        epoch: Instant,
    ) -> Result<(), SimError> {
        let base: Arc<dyn MibView> = match &spec.source {
            Source::Recording(name) => {
                crate::recordings::table(name).ok_or_else(|| SimError::UnknownRecording {
                    device: spec.name.clone(),
                    recording: (*name).to_owned(),
                })?
            }
            Source::SyntheticOlt(olt) => Arc::new(olt.build()),
            Source::Table { table, .. } => Arc::clone(table) as _,
        };
        let mut layers: Vec<Arc<dyn MibView>> = Vec::with_capacity(2);
        if spec.rename {
            layers.push(Arc::new(MibTable::from_rows(vec![Entry {
                oid: Oid::from([1, 3, 6, 1, 2, 1, 1, 5, 0]),
                cell: Cell::Fixed(async_snmp::Value::from(spec.name.as_str())),
            }])));
        }
        layers.push(base);
        let handler = Arc::new(SimHandler {
            layers,
            clock: Arc::new(Clock::new(epoch, &spec.behaviour)),
            behaviour: spec.behaviour.clone(),
        });

        // With loss, a small UDP front owns the public port and drops requests before they
        // reach the agent, which has no way to stay silent on its own.
        let lossy = spec.behaviour.loss > 0.0;
        let agent_addr = if lossy {
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
        } else {
            public
        };
        let mut builder = Agent::builder()
            .bind(agent_addr.to_string())
            .community(spec.community.as_bytes().to_vec())
            .handler(Oid::from([1, 3]), Arc::clone(&handler) as _)
            .without_builtin_handlers()
            .allow_all_access();
        if let Some(v3) = &spec.v3 {
            let engine_id = format!("coopnoc-sim:{}", spec.name).into_bytes();
            let engine = AuthoritativeEngine::install(engine_id, |_| Ok::<(), Infallible>(()))
                .map_err(|source| SimError::Agent {
                    device: spec.name.clone(),
                    addr: public,
                    source,
                })?;
            builder = builder
                .authoritative_engine(engine)
                .usm_user(v3.user.clone(), |u| {
                    u.auth_priv(
                        AuthProtocol::Sha256,
                        v3.auth_password.as_bytes(),
                        PrivProtocol::Aes128,
                        v3.priv_password.as_bytes(),
                    )
                })
                .map_err(|source| SimError::V3 {
                    device: spec.name.clone(),
                    source,
                })?;
        }
        let agent = builder.build().await.map_err(|source| SimError::Agent {
            device: spec.name.clone(),
            addr: agent_addr,
            source,
        })?;
        let addr = if lossy {
            let (addr, task) = crate::front::spawn_loss_front(
                public,
                agent.local_addr(),
                spec.behaviour.loss,
                spec.behaviour.seed,
                self.stop.subscribe(),
            )
            .await
            .map_err(|source| SimError::Io {
                device: spec.name.clone(),
                addr: public,
                source,
            })?;
            self.tasks.push(task);
            addr
        } else {
            agent.local_addr()
        };
        let runner = agent.clone();
        let name = spec.name.clone();
        self.tasks.push(tokio::spawn(async move {
            if let Err(error) = runner.run().await {
                tracing::warn!(device = %name, %error, "simulated agent stopped");
            }
        }));
        self.agents.push(agent);
        let line_labels = match &spec.source {
            Source::SyntheticOlt(olt) => (1..=olt.onus).map(|n| olt.line_label(n)).collect(),
            _ => Vec::new(),
        };
        self.devices.push(RunningDevice {
            line_labels,
            lines: spec.lines(),
            recording: spec.describe_source(),
            name: spec.name,
            kind: spec.kind,
            site: spec.site,
            addr,
            community: spec.community,
            v3: spec.v3,
            handler,
        });
        Ok(())
    }

    /// The started devices, in the order of the specs.
    pub fn devices(&self) -> &[RunningDevice] {
        &self.devices
    }

    /// A device by name.
    pub fn device(&self, name: &str) -> Option<&RunningDevice> {
        self.devices.iter().find(|d| d.name == name)
    }

    /// Total subscriber lines of the network.
    pub fn lines(&self) -> usize {
        self.devices.iter().map(|d| d.lines).sum()
    }

    /// Stop every agent and wait for their tasks to end.
    pub async fn shutdown(mut self) {
        self.signal_stop();
        for task in self.tasks.drain(..) {
            if let Err(error) = task.await {
                tracing::warn!(%error, "simulated device task ended badly");
            }
        }
    }

    fn signal_stop(&self) {
        let _ = self.stop.send(true);
        for agent in &self.agents {
            agent.cancel();
        }
    }
}

impl Drop for SimNetwork {
    fn drop(&mut self) {
        // Tasks end on their own once cancelled; nothing to wait for in a destructor.
        self.signal_stop();
    }
}

/// Default latency of the bench preset.
pub const BENCH_LATENCY: Duration = Duration::from_millis(2);
