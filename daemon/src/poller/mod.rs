//! The SNMP poller: one task per device, each on its own schedule (status and counters, labels,
//! slow metrics), all sharing one SNMP engine and socket. Emits observation batches on a
//! channel; never knows who reads them.
//!
//! Each device is read with its own generic IF-MIB profile (`profile.rs`: system group,
//! interfaces) and with its vendor profile (`crate::profile`, see `vendor.rs`): detected at the
//! first poll, after a reboot and with every labels poll; its labels tables walked with the
//! labels and cached, its status tables every poll, its slow ones (per-ONU optics) on the slow
//! interval when `optics` is on; decoded together into the same batch.
//!
//! A device's polls never overlap: its task runs one poll at a time, and a poll asked for on
//! demand (`coopnoc poll`) waits for the one in progress. A scheduled poll that could not start
//! on time because the previous one ran long is an overrun, counted.

pub mod profile;
pub mod state;
mod vendor;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Device, PollConfig};
use crate::observe::{CollectorHealth, Counter, Observation, ObservationBatch, Subject};
use crate::profile::{Detection, ProfileSet};
use crate::snmp::{Engine, Oid, Session, SessionOptions, SnmpError, Table, Value, jitter_fraction};
use profile::{Object, Profile, Role, Schedule};
use vendor::Vendor;

pub use state::{DeviceStates, consume, polled_by_snmp};

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
/// config (SIGHUP) changes the polled devices or how they are polled. A restart starts every
/// device afresh (sessions, learned max-repetitions); the state keeps what it knew of the
/// devices that stay.
pub async fn supervise(
    shared: Arc<crate::state::Shared>,
    engine: Arc<Engine>,
    tx: mpsc::Sender<ObservationBatch>,
    shutdown: CancellationToken,
) {
    let mut changes = shared.watch_config();
    let mut current = changes.borrow_and_update().clone();
    loop {
        let generation = shutdown.child_token();
        let mut set = tokio::task::JoinSet::new();
        shared.set_poller(start(
            &current,
            engine.clone(),
            tx.clone(),
            &mut set,
            generation.clone(),
        ));
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
        shared.devices.sync(&current.devices);
        tracing::info!("devices changed in the new configuration: SNMP poller restarted");
    }
}

fn polled(config: &Config) -> Vec<&Device> {
    config
        .devices
        .iter()
        .filter(|d| polled_by_snmp(d))
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
    let profile = Arc::new(Profile::generic());
    let profiles = match ProfileSet::load(config.daemon.profile_directory.as_deref()) {
        Ok(set) => Arc::new(set),
        // The config check loads the same directory: this is a directory changed since.
        Err(e) => {
            tracing::error!("{e}\nusing the built-in device profiles only");
            Arc::new(ProfileSet::builtin())
        }
    };
    let mut devices = HashMap::new();
    for device in config.devices.iter().filter(|d| polled_by_snmp(d)) {
        let (req_tx, req_rx) = mpsc::channel(4);
        devices.insert(device.name.clone(), req_tx);
        let task = DeviceTask::new(
            device.clone(),
            engine.clone(),
            profile.clone(),
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

/// What a device task remembers between polls.
struct DeviceTask {
    device: Device,
    name: Arc<str>,
    poll: PollConfig,
    engine: Arc<Engine>,
    profile: Arc<Profile>,
    tx: mpsc::Sender<ObservationBatch>,
    session: Option<Arc<Session>>,
    /// Reachability as judged: `None` until the first success or `unreachable-after` failures.
    reachable: Option<bool>,
    failures: u32,
    polls: u64,
    overruns: u64,
    last_uptime: Option<u32>,
    last_labels: Option<Instant>,
    last_slow: Option<Instant>,
    /// Roles the device turned out not to have (their fallbacks are read instead).
    absent: HashSet<Role>,
    /// Roles some interfaces have and others lack (a 10 Mb/s port without 64-bit counters
    /// on a switch whose other ports have them): both they and their fallbacks are read.
    partial: HashSet<Role>,
    /// ifIndex → name, for the subjects of interface observations.
    names: BTreeMap<u32, Arc<str>>,
    /// Every device profile known, to detect this device's.
    profiles: Arc<ProfileSet>,
    /// The last detection (or why there is none); `None` before the first.
    detection: Option<Result<Detection, String>>,
    /// The device's vendor profile at work: set by the first detection.
    vendor: Option<Vendor>,
}

impl DeviceTask {
    fn new(
        device: Device,
        engine: Arc<Engine>,
        profile: Arc<Profile>,
        profiles: Arc<ProfileSet>,
        tx: mpsc::Sender<ObservationBatch>,
    ) -> DeviceTask {
        DeviceTask {
            name: Arc::from(device.name.as_str()),
            poll: device.poll.clone(),
            device,
            engine,
            profile,
            tx,
            session: None,
            reachable: None,
            failures: 0,
            polls: 0,
            overruns: 0,
            last_uptime: None,
            last_labels: None,
            last_slow: None,
            absent: HashSet::new(),
            partial: HashSet::new(),
            names: BTreeMap::new(),
            profiles,
            detection: None,
            vendor: None,
        }
    }

    async fn run(mut self, mut requests: mpsc::Receiver<Command>, shutdown: CancellationToken) {
        let spread = self.poll.status_interval.min(FIRST_POLL_SPREAD);
        let mut next = Instant::now() + spread.mul_f64(jitter_fraction());
        loop {
            let on_demand = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(next) => None,
                r = requests.recv() => match r {
                    Some(Command::PollNow(done)) => Some(done),
                    Some(Command::Get(oids, done)) => {
                        let got = match self.session().await {
                            Ok(s) => s.get(&oids).await,
                            Err(e) => Err(e),
                        };
                        let _ = done.send(got);
                        continue;
                    }
                    None => return,
                },
            };
            // Boxed: a poll's state (~12 KB) is held only while it runs, not by every idle task.
            let batch = tokio::select! {
                _ = shutdown.cancelled() => return,
                b = Box::pin(self.poll_once()) => b,
            };
            if self.tx.send(batch).await.is_err() {
                return;
            }
            match on_demand {
                Some(done) => {
                    let _ = done.send(self.polls);
                }
                None => {
                    let interval = if self.reachable == Some(false) {
                        self.poll.unreachable_interval
                    } else {
                        self.poll.status_interval
                    };
                    let missed;
                    (next, missed) = next_start(next, interval, Instant::now());
                    if missed > 0 {
                        // The poll ran past one or more of its own starts.
                        self.overruns += missed;
                        tracing::warn!(
                            "device {}: poll took longer than its interval ({missed} start(s) missed)",
                            self.name
                        );
                    }
                }
            }
        }
    }
}

/// The next start after `previous`, one `interval` on, skipping the starts already past
/// `now`; and how many were skipped. Integer arithmetic: no overflow, whatever the interval
/// (a zero interval, refused by the config, starts now).
fn next_start(previous: Instant, interval: Duration, now: Instant) -> (Instant, u64) {
    let next = previous + interval;
    if next > now {
        return (next, 0);
    }
    if interval.is_zero() {
        return (now, 1);
    }
    let behind = (now - next).as_nanos() / interval.as_nanos() + 1;
    match u32::try_from(behind)
        .ok()
        .and_then(|m| Some((next + interval.checked_mul(m)?, u64::from(m))))
    {
        Some(skipped) => skipped,
        None => (now + interval, u64::try_from(behind).unwrap_or(u64::MAX)),
    }
}

impl DeviceTask {
    async fn session(&mut self) -> Result<Arc<Session>, SnmpError> {
        if let Some(s) = &self.session {
            return Ok(s.clone());
        }
        let (Some(target), Some(creds)) = (&self.device.target, &self.device.snmp) else {
            return Err(SnmpError::Config("no address or SNMP credentials".into()));
        };
        let s = Arc::new(
            self.engine
                .session(target, creds, SessionOptions::from_poll(&self.poll))
                .await?,
        );
        self.session = Some(s.clone());
        Ok(s)
    }

    /// One poll: status always, labels and slow metrics when due. Never fails: a failure is
    /// an observation like any other.
    async fn poll_once(&mut self) -> ObservationBatch {
        let started = Instant::now();
        let at = jiff::Timestamp::now();
        let mut items = Vec::new();
        let result = self.read(&mut items).await;
        let duration = started.elapsed();
        self.polls += 1;
        let error = match &result {
            Ok(()) => {
                self.failures = 0;
                self.reachable = Some(true);
                None
            }
            Err(e) => {
                self.failures += 1;
                if self.failures >= self.poll.unreachable_after.max(1) {
                    self.reachable = Some(false);
                }
                // Say it once when a device starts failing; the state and `device show`
                // keep the rest.
                if self.failures == 1 {
                    tracing::warn!("device {}: poll failed: {e}", self.name);
                } else {
                    tracing::debug!(
                        "device {}: poll failed again ({} in a row): {e}",
                        self.name,
                        self.failures
                    );
                }
                Some(e.to_string())
            }
        };
        items.push(Observation::Poll {
            duration,
            error: error.clone(),
            consecutive_failures: self.failures,
        });
        if let Some(reachable) = self.reachable {
            items.push(Observation::Reachability {
                reachable,
                error,
                duration,
            });
        }
        let mut health = CollectorHealth {
            overruns: self.overruns,
            ..CollectorHealth::default()
        };
        if let Some(s) = &self.session {
            let c = s.counters();
            health.requests = c.requests;
            health.timeouts = c.timeouts;
            health.retries = c.retries;
            health.malformed = c.malformed;
            health.anomalies = c.anomalies;
            health.too_big = c.too_big;
            health.max_repetitions = c.max_repetitions;
        }
        items.push(Observation::CollectorHealth(health));
        ObservationBatch {
            device: self.name.clone(),
            at,
            items,
        }
    }

    async fn read(&mut self, items: &mut Vec<Observation>) -> Result<(), SnmpError> {
        let session = self.session().await?;
        let profile = self.profile.clone();
        let now = Instant::now();
        let mut labels_due = self
            .last_labels
            .is_none_or(|t| now.duration_since(t) >= self.poll.labels_interval);

        // Scalars first: sysUpTime tells whether the device rebooted, which makes labels due
        // (interface indexes may have moved). Label scalars ride along in the same GET.
        let mut scalars: Vec<&Object> = profile.scalars(Schedule::Status).collect();
        if labels_due {
            scalars.extend(profile.scalars(Schedule::Labels));
        }
        let mut values = get_objects(&session, &scalars).await?;
        if let Some(Value::TimeTicks(ticks)) = values.get(&Role::SysUpTime).cloned() {
            let ticks = &ticks;
            if self.last_uptime.is_some_and(|old| *ticks < old) {
                tracing::info!(
                    "device {} rebooted (sysUpTime went back): reading its labels again",
                    self.name
                );
                if !labels_due {
                    labels_due = true;
                    let more: Vec<&Object> = profile.scalars(Schedule::Labels).collect();
                    let extra = get_objects(&session, &more).await?;
                    items.push(system_observation(&extra));
                    values.extend(extra);
                }
                self.absent.clear();
                self.partial.clear();
                // ONU tables may have been renumbered: what was found is re-read now.
                self.last_slow = None;
            }
            self.last_uptime = Some(*ticks);
            items.push(Observation::Uptime { ticks: *ticks });
        }
        if labels_due {
            items.push(system_observation(&values));
            // Recheck on every labels poll whether the device gained what it lacked.
            self.absent.clear();
            self.partial.clear();
        }
        // The device's profile: at the first poll, after a reboot (labels are due then) and
        // with every labels poll (new firmware, or a model swapped at the same address).
        if labels_due || self.vendor.is_none() {
            let text = |r| values.get(&r).and_then(Value::as_text);
            let found = vendor::detect(
                &self.profiles,
                &session,
                self.device.profile.as_deref(),
                text(Role::SysObjectId),
                text(Role::SysDescr),
            )
            .await?;
            self.take_detection(found, items);
        }

        // Columns: labels and status walked concurrently, within the device's window.
        let label_columns: Vec<&Object> = if labels_due {
            profile.columns(Schedule::Labels).collect()
        } else {
            Vec::new()
        };
        let status_columns: Vec<&Object> = profile
            .columns(Schedule::Status)
            .filter(|o| match o.fallback_for {
                Some(primary) => self.absent.contains(&primary) || self.partial.contains(&primary),
                None => !self.absent.contains(&o.role),
            })
            .collect();
        let (labels, status) = tokio::join!(
            walk_objects(&session, &label_columns),
            walk_objects(&session, &status_columns)
        );
        let mut labels = labels?;
        let mut status = status?;

        // Primaries the device lacks, for every interface or for some: read their fallbacks
        // now, and from now on (each interface then takes the primary where it has it).
        let interfaces = status.rows(Role::IfOperStatus).len();
        let rows_of = |role: &Role| status.rows(*role).len();
        let with_fallback: Vec<Role> = status_columns
            .iter()
            .filter(|o| {
                o.fallback_for.is_none()
                    && profile
                        .objects
                        .iter()
                        .any(|f| f.fallback_for == Some(o.role))
            })
            .map(|o| o.role)
            .collect();
        let absent: Vec<Role> = with_fallback
            .iter()
            .filter(|r| rows_of(r) == 0)
            .copied()
            .collect();
        let partial: Vec<Role> = with_fallback
            .iter()
            .filter(|r| (1..interfaces).contains(&rows_of(r)) && !self.partial.contains(*r))
            .copied()
            .collect();
        let missing: Vec<Role> = absent.iter().chain(&partial).copied().collect();
        if !missing.is_empty() {
            self.absent.extend(absent.iter().copied());
            self.partial.extend(partial.iter().copied());
            let fallbacks: Vec<&Object> = profile
                .columns(Schedule::Status)
                .filter(|o| o.fallback_for.is_some_and(|p| missing.contains(&p)))
                .collect();
            let more = walk_objects(&session, &fallbacks).await?;
            status.add(more);
        }

        if labels_due {
            // A name that did not change keeps its Arc (the state shares it): no churn of
            // thousands of small allocations at every labels poll.
            let old = std::mem::take(&mut self.names);
            for index in labels.indexes() {
                let text = |role| labels.value(role, index).and_then(Value::as_text);
                let shared = |text: String| match old.get(&index) {
                    Some(n) if **n == *text => n.clone(),
                    _ => Arc::<str>::from(text),
                };
                let name = text(Role::IfName).filter(|n| !n.is_empty()).map(shared);
                if let Some(n) = name.clone().or_else(|| text(Role::IfDescr).map(shared)) {
                    self.names.insert(index, n);
                }
                items.push(Observation::InterfaceLabels {
                    index,
                    name,
                    descr: text(Role::IfDescr),
                    alias: text(Role::IfAlias),
                    if_type: labels.value(Role::IfType, index).and_then(|v| match v {
                        Value::Integer(i) => Some(*i),
                        _ => None,
                    }),
                });
            }
            self.last_labels = Some(now);
        }
        self.interface_observations(&status, items);
        for a in labels.anomalies.iter().chain(&status.anomalies) {
            items.push(Observation::Anomaly { message: a.clone() });
        }

        // The vendor profile's tables: labels cached until the next labels poll, status every
        // poll, slow ones (per-ONU optics) on their own interval and only with `optics = true`.
        let Some(vendor) = self.vendor.as_mut() else {
            return Ok(());
        };
        if labels_due {
            let mut cache = std::mem::take(&mut labels.tables);
            for columns in vendor.walks(crate::profile::Schedule::Labels) {
                cache.push(session.walk(columns).await?);
            }
            vendor.labels_cache = cache;
        }
        // The interfaces the poller observed itself (before its walks go to the decode).
        let own_indexes: HashSet<u32> = status.indexes().into_iter().collect();
        let mut fresh = std::mem::take(&mut status.tables);
        for columns in vendor.walks(crate::profile::Schedule::Status) {
            fresh.push(session.walk(columns).await?);
        }
        let slow = vendor.walks(crate::profile::Schedule::Slow);
        if self.poll.optics
            && !slow.is_empty()
            && self
                .last_slow
                .is_none_or(|t| now.duration_since(t) >= self.poll.slow_interval)
        {
            for columns in slow {
                fresh.push(session.walk(columns).await?);
            }
            self.last_slow = Some(now);
        }
        for t in &fresh[status.own_tables..] {
            items.extend(t.anomalies.iter().map(|a| Observation::Anomaly {
                message: a.to_string(),
            }));
        }
        let discovered = vendor.decode(&fresh, &own_indexes, &self.name, items);
        items.push(Observation::Discovered { items: discovered });
        Ok(())
    }

    /// Keeps a detection, says when it changed, and starts afresh with a new profile.
    fn take_detection(&mut self, found: Result<Detection, String>, items: &mut Vec<Observation>) {
        if self.detection.as_ref() != Some(&found) {
            match &found {
                Ok(d) => tracing::info!("device {}: {d}", self.name),
                Err(e) => tracing::warn!(
                    "device {}: {e}; reading it with the generic IF-MIB profile",
                    self.name
                ),
            }
        }
        let profile = match &found {
            Ok(d) => d.profile.clone(),
            Err(_) => self.profiles.generic(),
        };
        if self
            .vendor
            .as_ref()
            .is_none_or(|v| v.profile.id != profile.id)
        {
            self.vendor = Some(Vendor::new(
                profile,
                &self.profiles.generic(),
                &self.profile,
            ));
            self.last_slow = None;
        }
        items.push(Observation::Profile {
            detection: found.clone(),
        });
        self.detection = Some(found);
    }

    fn interface_observations(&self, status: &Walked, items: &mut Vec<Observation>) {
        let value = |role: Role, index: u32| status.value(role, index);
        for index in status.indexes() {
            let counter = |hc: Role, c32: Role| match (value(hc, index), value(c32, index)) {
                (Some(Value::Counter64(v)), _) => Some(Counter::C64(*v)),
                (_, Some(Value::Counter32(v))) => Some(Counter::C32(*v)),
                _ => None,
            };
            let speed_bps = match (
                value(Role::IfSpeedMbps, index),
                value(Role::IfSpeedBps, index),
            ) {
                (Some(v), _) if v.as_u64().is_some_and(|m| m > 0) => {
                    v.as_u64().map(|m| m * 1_000_000)
                }
                (_, Some(v)) => v.as_u64(),
                (Some(v), None) => v.as_u64().map(|m| m * 1_000_000),
                _ => None,
            };
            let name = self
                .names
                .get(&index)
                .cloned()
                .unwrap_or_else(|| Arc::from(""));
            items.push(Observation::Interface {
                subject: Subject::Interface { index, name },
                oper_up: value(Role::IfOperStatus, index)
                    .and_then(|v| v.as_i64())
                    .map(|s| s == 1),
                in_octets: counter(Role::IfInOctets, Role::IfInOctets32),
                out_octets: counter(Role::IfOutOctets, Role::IfOutOctets32),
                speed_bps,
                discontinuity: match value(Role::IfCounterDiscontinuity, index) {
                    Some(Value::TimeTicks(t)) => Some(*t),
                    _ => None,
                },
            });
        }
    }
}

fn system_observation(values: &HashMap<Role, Value>) -> Observation {
    let text = |r| values.get(&r).and_then(Value::as_text);
    Observation::System {
        descr: text(Role::SysDescr),
        object_id: text(Role::SysObjectId),
        name: text(Role::SysName),
    }
}

/// GETs scalar objects; missing ones are left out.
async fn get_objects(
    session: &Session,
    objects: &[&Object],
) -> Result<HashMap<Role, Value>, SnmpError> {
    if objects.is_empty() {
        return Ok(HashMap::new());
    }
    let oids: Vec<Oid> = objects.iter().map(|o| o.oid.clone()).collect();
    let got = session.get(&oids).await?;
    Ok(objects
        .iter()
        .zip(got)
        .filter(|(_, (_, v))| !v.is_exception())
        .map(|(o, (_, v))| (o.role, v))
        .collect())
}

/// Columns read in walks, by role: the walks as they came (which the vendor profile's decode
/// reads too), looked up in place rather than copied.
#[derive(Default)]
struct Walked {
    /// Role → (walk, column) in `tables`.
    roles: HashMap<Role, (usize, usize)>,
    anomalies: Vec<String>,
    tables: Vec<Table>,
    /// How many of `tables` are the poller's own (before the vendor profile adds its own).
    own_tables: usize,
}

impl Walked {
    fn rows(&self, role: Role) -> &[(Vec<u32>, Value)] {
        let column = self
            .roles
            .get(&role)
            .and_then(|&(t, c)| self.tables.get(t)?.columns.get(c));
        column.map_or(&[], |c| &c.rows)
    }

    /// The value of `role` at ifIndex `index`. A walk's rows are in increasing index order.
    fn value(&self, role: Role, index: u32) -> Option<&Value> {
        let rows = self.rows(role);
        rows.binary_search_by(|(i, _)| i.as_slice().cmp(&[index]))
            .ok()
            .map(|at| &rows[at].1)
    }

    /// Every ifIndex of the walked columns, in order. IF-MIB tables have one-arc indexes;
    /// rows with more are not this profile's table.
    fn indexes(&self) -> Vec<u32> {
        let mut all: Vec<u32> = self
            .roles
            .keys()
            .flat_map(|r| self.rows(*r))
            .filter_map(|(i, _)| match i.as_slice() {
                [i] => Some(*i),
                _ => None,
            })
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Takes in another walk (fallback columns): its roles come in addition.
    fn add(&mut self, more: Walked) {
        let offset = self.tables.len();
        self.roles.extend(
            more.roles
                .into_iter()
                .map(|(role, (t, c))| (role, (t + offset, c))),
        );
        self.anomalies.extend(more.anomalies);
        self.tables.extend(more.tables);
        self.own_tables = self.tables.len();
    }
}

/// Walks the columns of `objects` together, per index space.
async fn walk_objects(session: &Session, objects: &[&Object]) -> Result<Walked, SnmpError> {
    let mut out = Walked::default();
    if objects.is_empty() {
        return Ok(out);
    }
    let oids: Vec<Oid> = objects.iter().map(|o| o.oid.clone()).collect();
    let table: Table = session.walk(&oids).await?;
    out.anomalies = table.anomalies.iter().map(|a| a.to_string()).collect();
    for (c, (o, column)) in objects.iter().zip(&table.columns).enumerate() {
        for (index, value) in &column.rows {
            if let ([i], Value::Counter64(v)) = (index.as_slice(), value)
                && *v >= 1 << 63
            {
                out.anomalies
                    .push(format!("implausible Counter64 {v} at {}.{i}", o.oid));
            }
        }
        out.roles.insert(o.role, (0, c));
    }
    out.tables.push(table);
    out.own_tables = out.tables.len();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DeviceKind, Secret, SnmpCredentials, Target};

    #[test]
    fn the_next_start_skips_missed_starts_without_overflow() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        assert_eq!(next_start(t0, 60 * s, t0 + s), (t0 + 60 * s, 0));
        // A poll of 130 s with a 60 s interval missed two starts.
        assert_eq!(next_start(t0, 60 * s, t0 + 130 * s), (t0 + 180 * s, 2));
        // A zero interval (refused by the config) neither overflows nor loops back to back.
        assert_eq!(next_start(t0, Duration::ZERO, t0 + s), (t0 + s, 1));
        let (next, missed) = next_start(t0, Duration::from_nanos(1), t0 + 10 * s);
        assert!(next > t0 + 10 * s);
        assert_eq!(missed, 10_000_000_000);
    }

    fn silent_device(port: u16) -> Device {
        Device {
            name: "olt-silent".into(),
            site: None,
            kind: DeviceKind::Olt,
            enabled: true,
            target: Some(Target {
                host: "127.0.0.1".into(),
                port,
            }),
            profile: None,
            snmp: Some(SnmpCredentials::V2c {
                community: Secret::new("public"),
            }),
            poll: PollConfig {
                status_interval: Duration::from_secs(5),
                labels_interval: Duration::from_secs(6 * 3600),
                slow_interval: Duration::from_secs(1800),
                optics: false,
                // Three attempts of 2 s: a poll of a silent device outlasts its 5 s interval.
                timeout: Duration::from_secs(2),
                retries: 2,
                max_repetitions: 10,
                window: 1,
                unreachable_after: 2,
                unreachable_interval: Duration::from_secs(60),
            },
            interfaces: Vec::new(),
        }
    }

    /// On tokio's paused clock: a silent device's polls overrun their interval (counted), it
    /// is judged unreachable after `unreachable-after` polls, then polled on the slower cadence.
    #[tokio::test(start_paused = true)]
    async fn a_silent_device_overruns_then_waits_for_the_unreachable_interval() {
        let silent = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = silent.local_addr().expect("address").port();
        let engine = Arc::new(Engine::bind_on("127.0.0.1:0").await.expect("engine"));
        let (tx, mut rx) = mpsc::channel(16);
        let task = DeviceTask::new(
            silent_device(port),
            engine,
            Arc::new(Profile::generic()),
            Arc::new(ProfileSet::builtin()),
            tx,
        );
        let (_requests, req_rx) = mpsc::channel(1);
        let shutdown = CancellationToken::new();
        tokio::spawn(task.run(req_rx, shutdown.clone()));

        let mut received = Vec::new();
        for _ in 0..3 {
            let batch = rx.recv().await.expect("a batch");
            received.push((Instant::now(), batch));
        }
        shutdown.cancel();
        let find_poll = |b: &ObservationBatch| {
            b.items.iter().find_map(|o| match o {
                Observation::Poll {
                    consecutive_failures,
                    error,
                    ..
                } => Some((*consecutive_failures, error.clone())),
                _ => None,
            })
        };
        let reach = |b: &ObservationBatch| {
            b.items.iter().find_map(|o| match o {
                Observation::Reachability { reachable, .. } => Some(*reachable),
                _ => None,
            })
        };
        let health = |b: &ObservationBatch| {
            b.items.iter().find_map(|o| match o {
                Observation::CollectorHealth(h) => Some(*h),
                _ => None,
            })
        };
        let (first, second, third) = (&received[0].1, &received[1].1, &received[2].1);
        assert_eq!(find_poll(first).map(|p| p.0), Some(1));
        assert!(
            find_poll(first)
                .and_then(|p| p.1)
                .is_some_and(|e| e.contains("no answer"))
        );
        assert_eq!(reach(first), None, "one failure is not yet unreachable");
        assert_eq!(reach(second), Some(false));
        let h = health(second).expect("health");
        assert!(
            h.overruns >= 1 && h.timeouts >= 6 && h.retries >= 4,
            "{h:?}"
        );
        assert_eq!(reach(third), Some(false));
        let gap = received[2].0 - received[1].0;
        assert!(
            gap >= Duration::from_secs(55) && gap <= Duration::from_secs(70),
            "{gap:?}"
        );
        let gap = received[1].0 - received[0].0;
        assert!(gap <= Duration::from_secs(15), "{gap:?}");
    }

    #[test]
    fn the_status_columns_of_the_generic_profile_prefer_64_bit_counters() {
        let p = Profile::generic();
        let primaries: Vec<Role> = p
            .columns(Schedule::Status)
            .filter(|o| o.fallback_for.is_none())
            .map(|o| o.role)
            .collect();
        assert!(primaries.contains(&Role::IfInOctets));
        assert!(!primaries.contains(&Role::IfInOctets32));
    }
}
