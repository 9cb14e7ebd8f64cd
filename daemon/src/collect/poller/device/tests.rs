//! The device task on tokio's paused clock.

use super::*;
use std::time::Duration;

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
        Arc::new(IfMib::from_profile(&ProfileSet::builtin().generic())),
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
