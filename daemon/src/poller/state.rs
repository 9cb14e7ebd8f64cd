//! What the daemon knows about each device now, built from observations; read by the CLI.
//! Reachability changes also become events in the store.

use std::collections::{BTreeMap, VecDeque};
use std::sync::RwLock;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Device;
use crate::ipc::{DeviceDetail, DeviceError, DeviceSummary, InterfaceInfo};
use crate::link_events::LinkEvents;
use crate::observe::{CollectorHealth, Counter, Observation, ObservationBatch, Subject};
use crate::profile::{Detection, Discovered};
use crate::store::{NewEvent, WriteOp, format_time};
use std::sync::Arc;

/// How many recent errors a device keeps for `device show`.
const LAST_ERRORS: usize = 10;

#[derive(Debug, Clone, Default)]
struct InterfaceState {
    /// Shared with the poller's own name of the interface.
    name: Option<Arc<str>>,
    descr: Option<String>,
    alias: Option<String>,
    if_type: Option<i32>,
    oper_up: Option<bool>,
    in_octets: Option<Counter>,
    out_octets: Option<Counter>,
    speed_bps: Option<u64>,
}

#[derive(Debug, Clone, Default)]
struct DeviceState {
    kind: String,
    site: Option<String>,
    address: Option<String>,
    polled: bool,
    profile: Option<String>,
    snmp_version: Option<String>,
    reachable: Option<bool>,
    state_since: Option<i64>,
    last_poll: Option<i64>,
    last_duration: Option<Duration>,
    polls: u64,
    failed_polls: u64,
    consecutive_failures: u32,
    health: CollectorHealth,
    sys_descr: Option<String>,
    sys_object_id: Option<String>,
    sys_name: Option<String>,
    uptime_ticks: Option<u32>,
    interfaces: BTreeMap<u32, InterfaceState>,
    last_errors: VecDeque<(i64, String)>,
    /// The poller's latest word on the device's profile.
    detection: Option<Result<Detection, String>>,
    /// What the profile found (latest of each table): line matching starts from it.
    discovered: Arc<Vec<Discovered>>,
}

impl DeviceState {
    fn note_error(&mut self, at: i64, message: String) {
        if self.last_errors.len() == LAST_ERRORS {
            self.last_errors.pop_back();
        }
        self.last_errors.push_front((at, message));
    }

    fn state_word(&self) -> &'static str {
        match (self.polled, self.reachable) {
            (false, _) => "not-polled",
            (true, None) => "unknown",
            (true, Some(true)) => "reachable",
            (true, Some(false)) => "unreachable",
        }
    }

    fn errors(&self) -> u64 {
        self.health.timeouts + self.health.malformed + self.health.anomalies
    }
}

/// Every configured device's current state, behind one lock held only briefly.
#[derive(Debug, Default)]
pub struct DeviceStates {
    devices: RwLock<BTreeMap<String, DeviceState>>,
}

/// Whether the SNMP poller takes care of this device.
pub fn polled_by_snmp(d: &Device) -> bool {
    d.enabled && d.target.is_some() && d.snmp.is_some()
}

impl DeviceStates {
    pub fn new(devices: &[Device]) -> DeviceStates {
        let map = devices
            .iter()
            .map(|d| {
                let polled = polled_by_snmp(d);
                let state = DeviceState {
                    kind: d.kind.to_string(),
                    site: d.site.clone(),
                    address: d.target.as_ref().map(|t| t.to_string()),
                    polled,
                    profile: polled.then(|| {
                        d.profile
                            .clone()
                            .unwrap_or_else(|| "generic-if-mib".to_string())
                    }),
                    snmp_version: d.snmp.as_ref().map(|s| s.version().to_string()),
                    ..DeviceState::default()
                };
                (d.name.clone(), state)
            })
            .collect();
        DeviceStates {
            devices: RwLock::new(map),
        }
    }

    /// Follows a new config: devices that left are forgotten, new ones appear, the others
    /// keep their state with their new settings.
    pub fn sync(&self, devices: &[Device]) {
        let fresh = DeviceStates::new(devices);
        let fresh = fresh
            .devices
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        self.write(|map| {
            map.retain(|name, _| fresh.contains_key(name));
            for (name, f) in fresh {
                let d = map.entry(name).or_default();
                d.kind = f.kind;
                d.site = f.site;
                d.address = f.address;
                d.polled = f.polled;
                d.profile = f.profile;
                d.snmp_version = f.snmp_version;
            }
        });
    }

    fn read<T>(&self, f: impl FnOnce(&BTreeMap<String, DeviceState>) -> T) -> T {
        match self.devices.read() {
            Ok(g) => f(&g),
            Err(p) => f(&p.into_inner()),
        }
    }

    fn write<T>(&self, f: impl FnOnce(&mut BTreeMap<String, DeviceState>) -> T) -> T {
        match self.devices.write() {
            Ok(mut g) => f(&mut g),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// Takes in one batch; returns the event to record when reachability changed.
    pub fn apply(&self, batch: &ObservationBatch) -> Option<NewEvent> {
        let at = batch.at.as_second();
        self.write(|map| {
            let d = map.entry(batch.device.to_string()).or_default();
            let mut event = None;
            for item in &batch.items {
                match item {
                    Observation::Poll {
                        duration,
                        error,
                        consecutive_failures,
                    } => {
                        d.polls += 1;
                        d.last_poll = Some(at);
                        d.last_duration = Some(*duration);
                        d.consecutive_failures = *consecutive_failures;
                        if let Some(e) = error {
                            d.failed_polls += 1;
                            d.note_error(at, e.clone());
                        }
                    }
                    Observation::Reachability {
                        reachable, error, ..
                    } if d.reachable != Some(*reachable) => {
                        let old = d.reachable;
                        d.reachable = Some(*reachable);
                        d.state_since = Some(at);
                        // "unknown → reachable" happens at every start: not an event.
                        if old.is_some() || !*reachable {
                            event = Some(NewEvent {
                                at,
                                subject_kind: "device",
                                subject: batch.device.to_string(),
                                old_state: old.map(|r| {
                                    if r { "reachable" } else { "unreachable" }.to_string()
                                }),
                                new_state: if *reachable {
                                    "reachable"
                                } else {
                                    "unreachable"
                                }
                                .to_string(),
                                reason: if *reachable { None } else { error.clone() },
                                detail: None,
                            });
                        }
                    }
                    Observation::Uptime { ticks, .. } => {
                        if d.uptime_ticks.is_some_and(|old| *ticks < old) {
                            // A reboot: interface indexes may have changed.
                            d.interfaces.clear();
                        }
                        d.uptime_ticks = Some(*ticks);
                    }
                    Observation::System {
                        descr,
                        object_id,
                        name,
                    } => {
                        d.sys_descr = descr.clone().or(d.sys_descr.take());
                        d.sys_object_id = object_id.clone().or(d.sys_object_id.take());
                        d.sys_name = name.clone().or(d.sys_name.take());
                    }
                    Observation::InterfaceLabels {
                        index,
                        name,
                        descr,
                        alias,
                        if_type,
                    } => {
                        let i = d.interfaces.entry(*index).or_default();
                        // Labels rarely change: kept as they are rather than replaced by
                        // equal copies at every labels poll (10,000 small strings).
                        i.name.clone_from(name);
                        if i.descr != *descr {
                            i.descr.clone_from(descr);
                        }
                        if i.alias != *alias {
                            i.alias.clone_from(alias);
                        }
                        i.if_type = *if_type;
                    }
                    Observation::Interface {
                        subject: Subject::Interface { index, name },
                        oper_up,
                        in_octets,
                        out_octets,
                        speed_bps,
                        ..
                    } => {
                        let i = d.interfaces.entry(*index).or_default();
                        if i.name.is_none() && !name.is_empty() {
                            i.name = Some(name.clone());
                        }
                        i.oper_up = *oper_up;
                        i.in_octets = *in_octets;
                        i.out_octets = *out_octets;
                        i.speed_bps = *speed_bps;
                    }
                    Observation::Profile { detection } => {
                        if let Err(e) = detection
                            && d.detection
                                .as_ref()
                                .is_none_or(|old| old.as_ref().err() != Some(e))
                        {
                            d.note_error(at, e.clone());
                        }
                        d.detection = Some(detection.clone());
                    }
                    Observation::Discovered { items } => d.discovered = items.clone(),
                    Observation::Anomaly { message } => d.note_error(at, message.clone()),
                    Observation::CollectorHealth(h) => d.health = *h,
                    _ => {}
                }
            }
            event
        })
    }

    /// Polls that the state has taken in for this device.
    pub fn polls(&self, device: &str) -> Option<u64> {
        self.read(|m| m.get(device).map(|d| d.polls))
    }

    /// What the device's profile found (ONUs, stations, interfaces), latest of each table:
    /// what line matching reads.
    pub fn discovered(&self, device: &str) -> Option<Arc<Vec<Discovered>>> {
        self.read(|m| m.get(device).map(|d| d.discovered.clone()))
    }

    /// The device's profile as the poller chose it, or why it could not.
    pub fn detection(&self, device: &str) -> Option<Result<Detection, String>> {
        self.read(|m| m.get(device).and_then(|d| d.detection.clone()))
    }

    pub fn summaries(&self) -> Vec<DeviceSummary> {
        self.read(|m| m.iter().map(|(name, d)| summary(name, d)).collect())
    }

    pub fn detail(&self, device: &str) -> Option<DeviceDetail> {
        self.read(|m| {
            let d = m.get(device)?;
            Some(DeviceDetail {
                summary: summary(device, d),
                profile: match &d.detection {
                    Some(Ok(found)) => Some(found.profile.id.clone()),
                    _ => d.profile.clone(),
                },
                profile_by: match &d.detection {
                    Some(Ok(found)) => Some(found.by.as_str().to_string()),
                    _ => None,
                },
                profile_name: match &d.detection {
                    Some(Ok(found)) => Some(found.profile.name.clone()),
                    _ => None,
                },
                profile_error: match &d.detection {
                    Some(Err(e)) => Some(e.clone()),
                    _ => None,
                },
                lines_seen: d
                    .discovered
                    .iter()
                    .filter(|x| matches!(x.subject, Subject::Onu { .. } | Subject::Station { .. }))
                    .count(),
                discovered: d.discovered.len(),
                snmp_version: d.snmp_version.clone(),
                sys_descr: d.sys_descr.clone(),
                sys_object_id: d.sys_object_id.clone(),
                sys_name: d.sys_name.clone(),
                uptime_seconds: d.uptime_ticks.map(|t| t as u64 / 100),
                state_since: d.state_since.map(format_time),
                health: d.health,
                interfaces: d
                    .interfaces
                    .iter()
                    .map(|(index, i)| InterfaceInfo {
                        index: *index,
                        name: i.name.as_deref().map(str::to_string),
                        descr: i.descr.clone(),
                        alias: i.alias.clone(),
                        if_type: i.if_type,
                        oper: i
                            .oper_up
                            .map(|up| if up { "up" } else { "down" }.to_string()),
                        in_octets: i.in_octets.map(Counter::value),
                        out_octets: i.out_octets.map(Counter::value),
                        counter_bits: i.in_octets.or(i.out_octets).map(|c| match c {
                            Counter::C32(_) => 32,
                            Counter::C64(_) => 64,
                        }),
                        speed_bps: i.speed_bps,
                    })
                    .collect(),
                last_errors: d
                    .last_errors
                    .iter()
                    .map(|(at, message)| DeviceError {
                        at: format_time(*at),
                        message: message.clone(),
                    })
                    .collect(),
            })
        })
    }
}

fn summary(name: &str, d: &DeviceState) -> DeviceSummary {
    DeviceSummary {
        name: name.to_string(),
        kind: d.kind.clone(),
        site: d.site.clone(),
        address: d.address.clone(),
        state: d.state_word().to_string(),
        last_poll: d.last_poll.map(format_time),
        last_poll_ms: d.last_duration.map(|x| x.as_millis() as u64),
        polls: d.polls,
        failed_polls: d.failed_polls,
        consecutive_failures: d.consecutive_failures,
        errors: d.errors(),
    }
}

/// Takes observations off the channel into the state, and reachability changes into the
/// store, until the channel closes (every collector stopped) or shutdown (then it drains what
/// is already queued).
pub async fn consume(
    mut rx: mpsc::Receiver<ObservationBatch>,
    shared: std::sync::Arc<crate::state::Shared>,
    shutdown: CancellationToken,
) {
    let mut links = LinkEvents::default();
    loop {
        let batch = tokio::select! {
            biased;
            b = rx.recv() => match b {
                Some(b) => b,
                None => return,
            },
            _ = shutdown.cancelled() => {
                // Collectors stop on the same token: take in what they already sent.
                rx.close();
                while let Some(b) = rx.recv().await {
                    record(&shared, &mut links, &b).await;
                }
                return;
            }
        };
        record(&shared, &mut links, &batch).await;
    }
}

async fn record(shared: &crate::state::Shared, links: &mut LinkEvents, batch: &ObservationBatch) {
    // Lines first: a `coopnoc poll` answers once the device state has the poll, and by then
    // its lines and usage must have it too.
    shared.lines.take_in(shared, batch).await;
    let store = &shared.store;
    let mut events = links.events(batch);
    if let Some(event) = shared.devices.apply(batch) {
        tracing::info!(
            "device {} is now {}{}",
            event.subject,
            event.new_state,
            event
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
        events.push(event);
    }
    if !events.is_empty()
        && let Err(e) = store.write(WriteOp::RecordEvents(events)).await
    {
        tracing::error!("could not record the events of {}: {e}", batch.device);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn batch(items: Vec<Observation>) -> ObservationBatch {
        ObservationBatch {
            device: Arc::from("olt-1"),
            at: jiff::Timestamp::now(),
            items,
        }
    }

    fn reach(reachable: bool) -> Observation {
        Observation::Reachability {
            reachable,
            error: (!reachable).then(|| "no answer".into()),
            duration: Duration::from_millis(5),
        }
    }

    #[test]
    fn reachability_changes_are_events_and_the_first_success_is_not() {
        let s = DeviceStates::default();
        assert!(s.apply(&batch(vec![reach(true)])).is_none());
        let e = s.apply(&batch(vec![reach(false)])).expect("an event");
        assert_eq!(
            (e.old_state.as_deref(), e.new_state.as_str()),
            (Some("reachable"), "unreachable")
        );
        assert_eq!(e.reason.as_deref(), Some("no answer"));
        assert!(s.apply(&batch(vec![reach(false)])).is_none());
        assert!(s.apply(&batch(vec![reach(true)])).is_some());
    }

    #[test]
    fn interfaces_polls_and_errors_show_in_the_detail() {
        let s = DeviceStates::default();
        s.apply(&batch(vec![
            Observation::Poll {
                duration: Duration::from_millis(12),
                error: None,
                consecutive_failures: 0,
            },
            Observation::InterfaceLabels {
                index: 3,
                name: Some(Arc::from("gpon0/1")),
                descr: None,
                alias: Some("Bordes".into()),
                if_type: Some(6),
            },
            Observation::Interface {
                subject: Subject::Interface {
                    index: 3,
                    name: Arc::from("gpon0/1"),
                },
                oper_up: Some(true),
                in_octets: Some(Counter::C64(10)),
                out_octets: Some(Counter::C64(20)),
                speed_bps: Some(1_000_000_000),
                discontinuity: None,
                in_read_at: None,
                out_read_at: None,
            },
            Observation::Anomaly {
                message: "OID not increasing".into(),
            },
        ]));
        s.apply(&batch(vec![Observation::Poll {
            duration: Duration::from_secs(2),
            error: Some("timeout".into()),
            consecutive_failures: 1,
        }]));
        let d = s.detail("olt-1").expect("device");
        assert_eq!(d.summary.polls, 2);
        assert_eq!(d.summary.failed_polls, 1);
        assert_eq!(d.interfaces[0].counter_bits, Some(64));
        assert_eq!(d.interfaces[0].alias.as_deref(), Some("Bordes"));
        assert_eq!(d.last_errors[0].message, "timeout");
        assert_eq!(d.last_errors.len(), 2);
    }
}
