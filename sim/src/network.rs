//! A set of simulated devices, each an SNMP agent on its own UDP socket on 127.0.0.1.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use std::path::{Path, PathBuf};

use async_snmp::agent::Agent;
use async_snmp::{AuthProtocol, AuthoritativeEngine, Oid, PrivProtocol};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::device::{Behaviour, Clock, SimHandler};
use crate::running::{AgentControl, RunningDevice, SimKind, V3User};
use crate::scenario::engine::Engine;
use crate::scenario::{ScenarioError, ScenarioRef, ScenarioStatus};
use crate::synth::SyntheticOlt;
use crate::table::{Cell, Entry, MibTable, MibView};

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
    #[error("scenario control socket {path}: {source}")]
    Control {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A running simulated network. Dropping it stops the agents; [`SimNetwork::shutdown`]
/// also waits for their tasks to end.
pub struct SimNetwork {
    devices: Arc<[RunningDevice]>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
    stop: watch::Sender<bool>,
    engine: Arc<Engine>,
    /// Control sockets to remove at shutdown.
    sockets: std::sync::Mutex<Vec<PathBuf>>,
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
        let mut devices = Vec::with_capacity(specs.len());
        let mut tasks = Vec::new();
        for (i, spec) in specs.into_iter().enumerate() {
            let port = base_port.map_or(0, |p| p + i as u16);
            let public = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            match start_device(spec, public, epoch, &stop, &mut tasks).await {
                Ok(device) => devices.push(device),
                Err(error) => {
                    for d in &devices {
                        d.control.cancel();
                    }
                    let _ = stop.send(true);
                    return Err(error);
                }
            }
        }
        let devices: Arc<[RunningDevice]> = devices.into();
        let engine = Arc::new(Engine::new(Arc::clone(&devices)));
        tasks.push(tokio::spawn(Arc::clone(&engine).run(stop.subscribe())));
        Ok(SimNetwork {
            devices,
            tasks: std::sync::Mutex::new(tasks),
            stop,
            engine,
            sockets: std::sync::Mutex::new(Vec::new()),
        })
    }
}

async fn start_device(
    spec: DeviceSpec,
    public: SocketAddr,
    epoch: Instant,
    stop: &watch::Sender<bool>,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<RunningDevice, SimError> {
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
    let handler = Arc::new(SimHandler::new(
        layers,
        Arc::new(Clock::new(epoch, &spec.behaviour)),
        spec.behaviour.clone(),
    ));

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
            stop.subscribe(),
        )
        .await
        .map_err(|source| SimError::Io {
            device: spec.name.clone(),
            addr: public,
            source,
        })?;
        tasks.push(task);
        addr
    } else {
        agent.local_addr()
    };
    let control = Arc::new(AgentControl::start(spec.name.clone(), agent));
    let (line_labels, olt) = match &spec.source {
        Source::SyntheticOlt(olt) => (
            (1..=olt.onus).map(|n| olt.line_label(n)).collect(),
            Some(Arc::new(olt.clone())),
        ),
        _ => (Vec::new(), None),
    };
    Ok(RunningDevice {
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
        control,
        olt,
    })
}

impl SimNetwork {
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

    /// Start a failure scenario (a built-in by name, or a parsed [`crate::Scenario`]) on the
    /// running network; one of the same name already running starts over. Its first
    /// changes are served when this returns; later ones follow its timeline.
    pub async fn start_scenario(
        &self,
        scenario: impl Into<ScenarioRef>,
    ) -> Result<ScenarioStatus, ScenarioError> {
        self.engine.start(scenario.into()).await
    }

    /// Stop a running scenario: its devices are served as before it started (a device it
    /// was rebooting comes back rebooted). `false` if none of that name runs.
    pub async fn stop_scenario(&self, name: &str) -> bool {
        self.engine.stop(Some(name)).await > 0
    }

    /// Stop every running scenario; returns how many were running.
    pub async fn stop_scenarios(&self) -> usize {
        self.engine.stop(None).await
    }

    /// The scenarios running, and those that ended by themselves.
    pub async fn scenarios(&self) -> Vec<ScenarioStatus> {
        self.engine.statuses().await
    }

    /// Listen on a Unix socket for scenario commands (`start NAME [SPEED]`, `stop [NAME]`,
    /// `list`; see [`crate::control`]), scenarios being the built-in ones and, if given, the
    /// `*.toml` files of `scenario_dir` (read again at each command). The socket is removed
    /// at shutdown; a stale one left by a crash is replaced.
    pub async fn serve_control(
        &self,
        socket: &Path,
        scenario_dir: Option<PathBuf>,
    ) -> Result<(), SimError> {
        let task = crate::control::serve(
            socket,
            scenario_dir,
            Arc::clone(&self.engine),
            self.stop.subscribe(),
        )
        .await
        .map_err(|source| SimError::Control {
            path: socket.to_owned(),
            source,
        })?;
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(task);
        self.sockets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(socket.to_owned());
        Ok(())
    }

    /// Stop every agent and wait for their tasks to end.
    pub async fn shutdown(self) {
        self.signal_stop();
        for device in self.devices.iter() {
            device.control.shutdown().await;
        }
        let tasks = std::mem::take(
            &mut *self
                .tasks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for task in tasks {
            if let Err(error) = task.await {
                tracing::warn!(%error, "simulated device task ended badly");
            }
        }
    }

    fn signal_stop(&self) {
        let _ = self.stop.send(true);
        for device in self.devices.iter() {
            device.control.cancel();
        }
        let sockets = std::mem::take(
            &mut *self
                .sockets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for path in sockets {
            crate::control::remove_socket(&path);
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
