//! Devices as the control protocol shows them, from the published snapshot.

use crate::collect::observe::Counter;
use crate::model::devices::DeviceState;
use crate::store::format_time;
use coopnoc_proto::{CollectorHealth, DeviceDetail, DeviceError, DeviceSummary, InterfaceInfo};

pub fn summary(name: &str, d: &DeviceState) -> DeviceSummary {
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

pub fn detail(name: &str, d: &DeviceState) -> DeviceDetail {
    let found = match &d.detection {
        Some(Ok(found)) => Some(found),
        _ => None,
    };
    DeviceDetail {
        summary: summary(name, d),
        profile: match found {
            Some(f) => Some(f.profile.id.clone()),
            None => d.profile.clone(),
        },
        profile_by: found.map(|f| f.by.as_str().to_string()),
        profile_name: found.map(|f| f.profile.name.clone()),
        profile_error: match &d.detection {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        },
        lines_seen: d.lines_seen(),
        discovered: d.discovered.len(),
        snmp_version: d.snmp_version.clone(),
        sys_descr: d.sys_descr.clone(),
        sys_object_id: d.sys_object_id.clone(),
        sys_name: d.sys_name.clone(),
        uptime_seconds: d.uptime_ticks.map(|t| t as u64 / 100),
        state_since: d.state_since.map(format_time),
        health: CollectorHealth {
            requests: d.health.requests,
            timeouts: d.health.timeouts,
            retries: d.health.retries,
            malformed: d.health.malformed,
            anomalies: d.health.anomalies,
            overruns: d.health.overruns,
            too_big: d.health.too_big,
            max_repetitions: d.health.max_repetitions,
        },
        interfaces: d
            .interfaces
            .iter()
            .map(|(index, i)| InterfaceInfo {
                index: *index,
                name: i.name.as_deref().map(str::to_string),
                descr: i.descr.as_deref().map(str::to_string),
                alias: i.alias.as_deref().map(str::to_string),
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
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::collect::observe::{Observation, ObservationBatch, Subject};
    use crate::config::{DeviceKind, PollConfig};
    use crate::model::devices::DeviceStates;

    fn batch(items: Vec<Observation>) -> ObservationBatch {
        ObservationBatch {
            device: Arc::from("olt-1"),
            at: jiff::Timestamp::now(),
            items,
        }
    }

    #[test]
    fn interfaces_polls_and_errors_show_in_the_detail() {
        let mut s = DeviceStates::new(&[crate::config::Device {
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
        }]);
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
        let d = detail("olt-1", s.get("olt-1").expect("device"));
        assert_eq!(d.summary.polls, 2);
        assert_eq!(d.summary.failed_polls, 1);
        assert_eq!(d.interfaces[0].counter_bits, Some(64));
        assert_eq!(d.interfaces[0].alias.as_deref(), Some("Bordes"));
        assert_eq!(d.last_errors[0].message, "timeout");
        assert_eq!(d.last_errors.len(), 2);
    }
}
