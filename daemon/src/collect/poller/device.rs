//! One device's task: its schedule, its session, and each poll (the system group, the IF-MIB
//! interfaces, its profile's tables).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::ifmib::{
    Column, IfMib, SYS_DESCR, SYS_NAME, SYS_OBJECT_ID, SYS_UPTIME, Walked, get_scalars,
    system_observation, walk_columns,
};
use super::vendor::{self, Vendor};
use super::{Command, FIRST_POLL_SPREAD};
use crate::collect::observe::{CollectorHealth, Observation, ObservationBatch};
use crate::collect::profile::{Detection, ProfileSet, Role, Schedule};
use crate::collect::snmp::{
    Engine, Oid, Session, SessionOptions, SnmpError, Value, jitter_fraction,
};
use crate::config::{Device, PollConfig};

/// What a device task remembers between polls.
pub(super) struct DeviceTask {
    device: Device,
    name: Arc<str>,
    poll: PollConfig,
    engine: Arc<Engine>,
    ifmib: Arc<IfMib>,
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
    /// Columns the device turned out not to have (their fallbacks are read instead).
    absent: HashSet<Role>,
    /// Columns some interfaces have and others lack (a 10 Mb/s port without 64-bit counters
    /// on a switch whose other ports have them): both they and their fallbacks are read.
    partial: HashSet<Role>,
    /// ifIndex → name, for the subjects of interface observations.
    names: BTreeMap<u32, Arc<str>>,
    /// Every device profile known, to detect this device's.
    profiles: Arc<ProfileSet>,
    /// The last detection (or why there is none); `None` before the first.
    detection: Option<Result<Detection, String>>,
    /// The device's profile at work: set by the first detection.
    vendor: Option<Vendor>,
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

/// What a poll's scalars said.
struct Scalars {
    /// The labels are due (their interval passed, or the device rebooted).
    labels_due: bool,
    values: HashMap<Oid, Value>,
}

impl DeviceTask {
    pub fn new(
        device: Device,
        engine: Arc<Engine>,
        ifmib: Arc<IfMib>,
        profiles: Arc<ProfileSet>,
        tx: mpsc::Sender<ObservationBatch>,
    ) -> DeviceTask {
        DeviceTask {
            name: Arc::from(device.name.as_str()),
            poll: device.poll.clone(),
            device,
            engine,
            ifmib,
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

    pub async fn run(mut self, mut requests: mpsc::Receiver<Command>, shutdown: CancellationToken) {
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
                None => next = self.next_start(next),
            }
        }
    }

    /// When the next scheduled poll starts, after the one that started at `last`; a poll
    /// that ran past one or more of its own starts is an overrun.
    fn next_start(&mut self, last: Instant) -> Instant {
        let interval = if self.reachable == Some(false) {
            self.poll.unreachable_interval
        } else {
            self.poll.status_interval
        };
        let (next, missed) = next_start(last, interval, Instant::now());
        if missed > 0 {
            self.overruns += missed;
            tracing::warn!(
                "device {}: poll took longer than its interval ({missed} start(s) missed)",
                self.name
            );
        }
        next
    }

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
        items.push(Observation::CollectorHealth(self.health()));
        ObservationBatch {
            device: self.name.clone(),
            at,
            items,
        }
    }

    fn health(&self) -> CollectorHealth {
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
        health
    }

    async fn read(&mut self, items: &mut Vec<Observation>) -> Result<(), SnmpError> {
        let session = self.session().await?;
        let now = Instant::now();
        let scalars = self.read_scalars(&session, items).await?;
        let labels_due = scalars.labels_due;
        // The device's profile: at the first poll, after a reboot (labels are due then) and
        // with every labels poll (new firmware, or a model swapped at the same address).
        if labels_due || self.vendor.is_none() {
            let text = |o: &[u32]| scalars.values.get(&Oid::new(o)).and_then(Value::as_text);
            let found = vendor::detect(
                &self.profiles,
                &session,
                self.device.profile.as_deref(),
                text(SYS_OBJECT_ID),
                text(SYS_DESCR),
            )
            .await?;
            self.take_detection(found, items);
        }
        let (mut labels, mut status) = self.read_interfaces(&session, labels_due).await?;
        if labels_due {
            self.take_labels(&labels, items);
            self.last_labels = Some(now);
        }
        self.interface_observations(&status, items);
        for a in labels.anomalies.iter().chain(&status.anomalies) {
            items.push(Observation::Anomaly { message: a.clone() });
        }
        self.read_vendor(&session, labels_due, &mut labels, &mut status, now, items)
            .await
    }

    /// The scalars: sysUpTime every poll, which tells whether the device rebooted (labels are
    /// due then: interface indexes may have moved); the system group's labels ride along in
    /// the same GET when due.
    async fn read_scalars(
        &mut self,
        session: &Session,
        items: &mut Vec<Observation>,
    ) -> Result<Scalars, SnmpError> {
        let now = Instant::now();
        let mut labels_due = self
            .last_labels
            .is_none_or(|t| now.duration_since(t) >= self.poll.labels_interval);
        let label_scalars: &[&[u32]] = &[SYS_DESCR, SYS_OBJECT_ID, SYS_NAME];
        let mut asked: Vec<&[u32]> = vec![SYS_UPTIME];
        if labels_due {
            asked.extend(label_scalars);
        }
        let (mut values, read_at) = get_scalars(session, &asked).await?;
        if let Some(Value::TimeTicks(ticks)) = values.get(&Oid::new(SYS_UPTIME)).cloned() {
            if self.last_uptime.is_some_and(|old| ticks < old) {
                tracing::info!(
                    "device {} rebooted (sysUpTime went back): reading its labels again",
                    self.name
                );
                if !labels_due {
                    labels_due = true;
                    let (extra, _) = get_scalars(session, label_scalars).await?;
                    items.push(system_observation(&extra));
                    values.extend(extra);
                }
                self.absent.clear();
                self.partial.clear();
                // ONU tables may have been renumbered: what was found is re-read now.
                self.last_slow = None;
            }
            self.last_uptime = Some(ticks);
            items.push(Observation::Uptime { ticks, read_at });
        }
        if labels_due {
            items.push(system_observation(&values));
            // Recheck on every labels poll whether the device gained what it lacked.
            self.absent.clear();
            self.partial.clear();
        }
        Ok(Scalars { labels_due, values })
    }

    /// The IF-MIB columns: labels (when due) and status walked concurrently, within the
    /// device's window; then the fallbacks of the primaries found missing.
    async fn read_interfaces(
        &mut self,
        session: &Session,
        labels_due: bool,
    ) -> Result<(Walked, Walked), SnmpError> {
        let ifmib = self.ifmib.clone();
        let label_columns: Vec<&Column> = if labels_due {
            ifmib.labels.iter().collect()
        } else {
            Vec::new()
        };
        let status_columns: Vec<&Column> = ifmib
            .status
            .iter()
            .filter(|c| match c.key.fallback {
                true => self.absent.contains(&c.key.role) || self.partial.contains(&c.key.role),
                false => !self.absent.contains(&c.key.role),
            })
            .collect();
        let (labels, status) = tokio::join!(
            walk_columns(session, &label_columns),
            walk_columns(session, &status_columns)
        );
        let labels = labels?;
        let mut status = status?;

        // Primaries the device lacks, for every interface or for some: read their fallbacks
        // now, and from now on (each interface then takes the primary where it has it).
        let interfaces = status.primary_rows(Role::OperStatus).len();
        let with_fallback: Vec<Role> = ifmib
            .with_fallback()
            .filter(|r| {
                status_columns
                    .iter()
                    .any(|c| c.key.role == *r && !c.key.fallback)
            })
            .collect();
        let rows_of = |role: &Role| status.primary_rows(*role).len();
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
            let fallbacks: Vec<&Column> = ifmib
                .status
                .iter()
                .filter(|c| c.key.fallback && missing.contains(&c.key.role))
                .collect();
            status.add(walk_columns(session, &fallbacks).await?);
        }
        Ok((labels, status))
    }

    /// The interfaces' labels: their names (kept for the subjects of every observation).
    fn take_labels(&mut self, labels: &Walked, items: &mut Vec<Observation>) {
        // A name that did not change keeps its Arc (the state shares it): no churn of
        // thousands of small allocations at every labels poll.
        let old = std::mem::take(&mut self.names);
        for index in labels.indexes() {
            let text = |role| labels.text(role, index);
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
                if_type: labels.if_type(index),
            });
        }
    }

    fn interface_observations(&self, status: &Walked, items: &mut Vec<Observation>) {
        for index in status.indexes() {
            let name = self
                .names
                .get(&index)
                .cloned()
                .unwrap_or_else(|| Arc::from(""));
            items.push(status.interface(index, name));
        }
    }

    /// The device profile's tables: labels cached until the next labels poll, status every
    /// poll, slow ones (per-ONU optics) on their own interval and only with `optics = true`;
    /// decoded with the IF-MIB walks.
    async fn read_vendor(
        &mut self,
        session: &Session,
        labels_due: bool,
        labels: &mut Walked,
        status: &mut Walked,
        now: Instant,
        items: &mut Vec<Observation>,
    ) -> Result<(), SnmpError> {
        let Some(vendor) = self.vendor.as_mut() else {
            return Ok(());
        };
        if labels_due {
            let mut cache = std::mem::take(&mut labels.tables);
            for columns in vendor.walks(Schedule::Labels) {
                cache.push(session.walk(columns).await?);
            }
            vendor.labels_cache = cache;
        }
        // The interfaces the poller observed itself (before its walks go to the decode).
        let own_indexes: HashSet<u32> = status.indexes().into_iter().collect();
        let mut fresh = std::mem::take(&mut status.tables);
        for columns in vendor.walks(Schedule::Status) {
            fresh.push(session.walk(columns).await?);
        }
        let slow = vendor.walks(Schedule::Slow);
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
            self.vendor = Some(Vendor::new(profile, &self.profiles.generic(), &self.ifmib));
            self.last_slow = None;
        }
        items.push(Observation::Profile {
            detection: found.clone(),
        });
        self.detection = Some(found);
    }
}

#[cfg(test)]
mod tests;
