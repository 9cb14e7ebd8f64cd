//! What the daemon knows about each device now, built from observations. Each device's state
//! is shared (`Arc`) with the published snapshot: a batch changes its device's copy only.
//! Reachability changes are events.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use crate::collect::observe::{
    BatteryState, CollectorHealth, Counter, Observation, ObservationBatch, Sensor, Subject,
};
use crate::collect::profile::{Detection, Discovered};
use crate::config::Device;
use crate::model::events::{DeviceEvent, Event};

/// How many recent errors a device keeps for `device show`.
pub const LAST_ERRORS: usize = 10;

/// One interface of a device, as last read.
#[derive(Debug, Clone, Default)]
pub struct InterfaceState {
    /// Shared with the poller's own name of the interface.
    pub name: Option<Arc<str>>,
    pub descr: Option<Arc<str>>,
    pub alias: Option<Arc<str>>,
    pub if_type: Option<i32>,
    pub oper_up: Option<bool>,
    pub in_octets: Option<Counter>,
    pub out_octets: Option<Counter>,
    pub speed_bps: Option<u64>,
}

/// The device's own readings (its profile's device-level tables): sensors and power.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceReadings {
    /// The latest value of each sensor kind the device gives (`None`: no reading).
    pub sensors: Vec<(Sensor, Option<f64>)>,
    pub on_battery: Option<bool>,
    pub battery: Option<BatteryState>,
}

/// One device now.
#[derive(Debug, Clone, Default)]
pub struct DeviceState {
    pub kind: String,
    pub site: Option<String>,
    pub address: Option<String>,
    /// Polled over SNMP (enabled, with an address and credentials).
    pub polled: bool,
    /// The profile the config names (or "generic-if-mib") until a detection says otherwise.
    pub profile: Option<String>,
    pub snmp_version: Option<String>,
    /// `None` until judged (the first success, or `unreachable-after` failures).
    pub reachable: Option<bool>,
    /// Unix seconds: since when the device is in its current state.
    pub state_since: Option<i64>,
    pub last_poll: Option<i64>,
    pub last_duration: Option<Duration>,
    pub polls: u64,
    pub failed_polls: u64,
    pub consecutive_failures: u32,
    pub health: CollectorHealth,
    pub sys_descr: Option<String>,
    pub sys_object_id: Option<String>,
    pub sys_name: Option<String>,
    pub uptime_ticks: Option<u32>,
    pub interfaces: BTreeMap<u32, InterfaceState>,
    pub readings: DeviceReadings,
    /// (Unix seconds, message), most recent first.
    pub last_errors: VecDeque<(i64, String)>,
    /// The poller's latest word on the device's profile.
    pub detection: Option<Result<Detection, String>>,
    /// What the profile found (latest of each table): line matching starts from it.
    pub discovered: Arc<Vec<Discovered>>,
}

impl DeviceState {
    fn note_error(&mut self, at: i64, message: String) {
        if self.last_errors.len() == LAST_ERRORS {
            self.last_errors.pop_back();
        }
        self.last_errors.push_front((at, message));
    }

    /// "reachable", "unreachable", "unknown" (not judged yet) or "not-polled".
    pub fn state_word(&self) -> &'static str {
        match (self.polled, self.reachable) {
            (false, _) => "not-polled",
            (true, None) => "unknown",
            (true, Some(true)) => "reachable",
            (true, Some(false)) => "unreachable",
        }
    }

    /// Timeouts, malformed replies and anomalies since the daemon started.
    pub fn errors(&self) -> u64 {
        self.health.timeouts + self.health.malformed + self.health.anomalies
    }

    /// ONUs and radio stations the profile found.
    pub fn lines_seen(&self) -> usize {
        self.discovered
            .iter()
            .filter(|x| matches!(x.subject, Subject::Onu { .. } | Subject::Station { .. }))
            .count()
    }

    fn configured(d: &Device) -> DeviceState {
        let polled = d.polled_by_snmp();
        DeviceState {
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
        }
    }

    /// Takes in one observation; a reachability change is returned as an event.
    fn take(&mut self, device: &Arc<str>, at: i64, item: &Observation) -> Option<Event> {
        match item {
            Observation::Poll {
                duration,
                error,
                consecutive_failures,
            } => {
                self.polls += 1;
                self.last_poll = Some(at);
                self.last_duration = Some(*duration);
                self.consecutive_failures = *consecutive_failures;
                if let Some(e) = error {
                    self.failed_polls += 1;
                    self.note_error(at, e.clone());
                }
            }
            Observation::Reachability {
                reachable, error, ..
            } if self.reachable != Some(*reachable) => {
                let old = self.reachable;
                self.reachable = Some(*reachable);
                self.state_since = Some(at);
                // "unknown → reachable" happens at every start: not an event.
                if old.is_some() || !*reachable {
                    return Some(Event::Device(DeviceEvent {
                        at,
                        device: device.clone(),
                        was_reachable: old,
                        reachable: *reachable,
                        reason: if *reachable { None } else { error.clone() },
                    }));
                }
            }
            Observation::Uptime { ticks, .. } => {
                if self.uptime_ticks.is_some_and(|old| *ticks < old) {
                    // A reboot: interface indexes may have changed.
                    self.interfaces.clear();
                }
                self.uptime_ticks = Some(*ticks);
            }
            Observation::System {
                descr,
                object_id,
                name,
            } => {
                self.sys_descr = descr.clone().or(self.sys_descr.take());
                self.sys_object_id = object_id.clone().or(self.sys_object_id.take());
                self.sys_name = name.clone().or(self.sys_name.take());
            }
            Observation::InterfaceLabels {
                index,
                name,
                descr,
                alias,
                if_type,
            } => {
                let i = self.interfaces.entry(*index).or_default();
                // Labels rarely change: kept as they are rather than replaced by equal
                // copies at every labels poll (10,000 small strings).
                i.name.clone_from(name);
                if i.descr.as_deref() != descr.as_deref() {
                    i.descr = descr.as_deref().map(Arc::from);
                }
                if i.alias.as_deref() != alias.as_deref() {
                    i.alias = alias.as_deref().map(Arc::from);
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
                let i = self.interfaces.entry(*index).or_default();
                if i.name.is_none() && !name.is_empty() {
                    i.name = Some(name.clone());
                }
                i.oper_up = *oper_up;
                i.in_octets = *in_octets;
                i.out_octets = *out_octets;
                i.speed_bps = *speed_bps;
            }
            Observation::Sensor {
                subject: Subject::Device,
                sensor,
                value,
            } => match self.readings.sensors.iter_mut().find(|(s, _)| s == sensor) {
                Some((_, v)) => *v = *value,
                None => self.readings.sensors.push((*sensor, *value)),
            },
            Observation::Power {
                subject: Subject::Device,
                on_battery,
                battery,
            } => {
                self.readings.on_battery = *on_battery;
                self.readings.battery = *battery;
            }
            Observation::Profile { detection } => {
                if let Err(e) = detection
                    && self
                        .detection
                        .as_ref()
                        .is_none_or(|old| old.as_ref().err() != Some(e))
                {
                    self.note_error(at, e.clone());
                }
                self.detection = Some(detection.clone());
            }
            Observation::Discovered { items } => self.discovered = items.clone(),
            Observation::Anomaly { message } => self.note_error(at, message.clone()),
            Observation::CollectorHealth(h) => self.health = *h,
            _ => {}
        }
        None
    }
}

/// Every configured device's current state. Owned by the model; readers read the snapshot.
#[derive(Debug, Default, Clone)]
pub struct DeviceStates {
    devices: BTreeMap<Arc<str>, Arc<DeviceState>>,
}

impl DeviceStates {
    pub fn new(devices: &[Device]) -> DeviceStates {
        DeviceStates {
            devices: devices
                .iter()
                .map(|d| {
                    (
                        Arc::from(d.name.as_str()),
                        Arc::new(DeviceState::configured(d)),
                    )
                })
                .collect(),
        }
    }

    /// Follows a new config: devices that left are forgotten, new ones appear, the others
    /// keep their state with their new settings.
    pub fn sync(&mut self, devices: &[Device]) {
        let fresh = DeviceStates::new(devices).devices;
        self.devices.retain(|name, _| fresh.contains_key(name));
        for (name, f) in fresh {
            let d = Arc::make_mut(self.devices.entry(name).or_default());
            d.kind.clone_from(&f.kind);
            d.site.clone_from(&f.site);
            d.address.clone_from(&f.address);
            d.polled = f.polled;
            d.profile.clone_from(&f.profile);
            d.snmp_version.clone_from(&f.snmp_version);
        }
    }

    pub fn contains(&self, device: &str) -> bool {
        self.devices.contains_key(device)
    }

    /// Takes in one batch of a configured device (a batch of a device the config no longer
    /// has is left out); returns the event when its reachability changed.
    pub fn apply(&mut self, batch: &ObservationBatch) -> Option<Event> {
        let at = batch.at.as_second();
        let d = Arc::make_mut(self.devices.get_mut(&batch.device)?);
        let mut event = None;
        for item in &batch.items {
            if let Some(e) = d.take(&batch.device, at, item) {
                event = Some(e);
            }
        }
        event
    }

    pub fn get(&self, device: &str) -> Option<&Arc<DeviceState>> {
        self.devices.get(device)
    }

    /// Every device, by name: what the snapshot publishes (the states are shared, not copied).
    pub fn all(&self) -> &BTreeMap<Arc<str>, Arc<DeviceState>> {
        &self.devices
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DeviceKind, PollConfig};

    fn olt() -> Device {
        Device {
            name: "olt-1".into(),
            site: None,
            kind: DeviceKind::Olt,
            enabled: true,
            target: None,
            profile: None,
            snmp: None,
            poll: PollConfig {
                status_interval: Duration::from_secs(60),
                labels_interval: Duration::from_secs(6 * 3600),
                slow_interval: Duration::from_secs(1800),
                optics: false,
                timeout: Duration::from_secs(2),
                retries: 2,
                max_repetitions: 10,
                window: 1,
                unreachable_after: 3,
                unreachable_interval: Duration::from_secs(300),
            },
            interfaces: Vec::new(),
        }
    }

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

    fn stored(e: Option<Event>) -> Option<crate::store::NewEvent> {
        e.map(|e| e.stored())
    }

    #[test]
    fn reachability_changes_are_events_and_the_first_success_is_not() {
        let mut s = DeviceStates::new(&[olt()]);
        assert!(s.apply(&batch(vec![reach(true)])).is_none());
        let e = stored(s.apply(&batch(vec![reach(false)]))).expect("an event");
        assert_eq!(
            (e.old_state.as_deref(), e.new_state.as_str()),
            (Some("reachable"), "unreachable")
        );
        assert_eq!(e.reason.as_deref(), Some("no answer"));
        assert!(s.apply(&batch(vec![reach(false)])).is_none());
        assert!(s.apply(&batch(vec![reach(true)])).is_some());
    }

    #[test]
    fn a_batch_of_a_device_the_config_no_longer_has_is_left_out() {
        let mut s = DeviceStates::new(&[olt()]);
        s.sync(&[]);
        assert!(s.apply(&batch(vec![reach(false)])).is_none());
        assert!(s.get("olt-1").is_none());
    }
}
