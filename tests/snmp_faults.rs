//! Faults: the engine talks to a real snmpd through a proxy that drops, delays, duplicates,
//! corrupts, or answers with a wrong request id. The engine must give the right values or a
//! clear error within its time budget, never hang, never panic; its counters must say what
//! happened.

mod snmp_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use coopnocd::collect::snmp::{Engine, Oid, SessionOptions, SnmpError, Table};
use coopnocd::config::{Secret, SnmpCredentials, Target};
use snmp_support::udp_proxy::{Fault, UdpProxy};

const COLUMNS: &[&str] = &[
    "1.3.6.1.2.1.2.2.1.2",     // ifDescr
    "1.3.6.1.2.1.2.2.1.3",     // ifType
    "1.3.6.1.2.1.31.1.1.1.1",  // ifName
    "1.3.6.1.2.1.31.1.1.1.15", // ifHighSpeed
];

fn columns() -> Vec<Oid> {
    COLUMNS
        .iter()
        .map(|c| Oid::parse(c).expect("OID"))
        .collect()
}

fn options() -> SessionOptions {
    SessionOptions {
        timeout: Duration::from_millis(300),
        retries: 3,
        // Small, so that a walk takes several requests and meets the faults.
        max_repetitions: 1,
        window: 1,
        max_walk_values: 10_000,
    }
}

/// The longest a request may take with these options: every attempt timing out, plus the
/// backoffs (each at most 1.25 × timeout), plus slack for a loaded CI machine.
fn budget(o: &SessionOptions) -> Duration {
    let attempts = o.retries + 1;
    o.timeout * attempts + o.timeout.mul_f64(1.25) * o.retries + Duration::from_millis(700)
}

fn same_values(a: &Table, b: &Table) {
    let rows = |t: &Table| -> Vec<_> {
        t.columns
            .iter()
            .map(|c| (c.oid.clone(), c.rows.clone()))
            .collect()
    };
    assert_eq!(rows(a), rows(b), "values differ from the fault-free walk");
}

#[tokio::test]
async fn faults_give_right_values_or_a_clear_error_in_time() {
    let agent = snmp_support::start_snmpd();
    let upstream: SocketAddr = agent.address().parse().expect("address");
    let proxy = UdpProxy::start(upstream).await;
    let engine = Engine::bind_on("127.0.0.1:0").await.expect("engine");
    let target = Target {
        host: "127.0.0.1".into(),
        port: proxy.address.port(),
    };
    let creds = SnmpCredentials::V2c {
        community: Secret::new("public"),
    };
    let o = options();
    let session = engine.session(&target, &creds, o).await.expect("session");

    let reference = session.walk(&columns()).await.expect("fault-free walk");
    assert!(reference.values() >= 8);
    assert!(reference.anomalies.is_empty());

    // Every third request lost: retries recover the same values.
    proxy.set(Fault::DropEvery(3));
    let before = session.counters();
    let t = session.walk(&columns()).await.expect("walk with losses");
    same_values(&t, &reference);
    let after = session.counters();
    assert!(
        after.timeouts > before.timeouts && after.retries > before.retries,
        "{after:?}"
    );

    // Replies held a little (less than the timeout): same values.
    proxy.set(Fault::Delay(Duration::from_millis(40)));
    same_values(
        &session.walk(&columns()).await.expect("walk with delay"),
        &reference,
    );

    // Every reply twice: the duplicates are dropped by the engine, values unchanged.
    proxy.set(Fault::Duplicate);
    let discarded = engine.counters().discarded;
    same_values(
        &session
            .walk(&columns())
            .await
            .expect("walk with duplicates"),
        &reference,
    );
    // Let the last duplicate arrive, then check it was discarded, not taken for an answer.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        engine.counters().discarded > discarded,
        "{:?}",
        engine.counters()
    );

    // Every other reply truncated and scrambled: counted, retried, values unchanged.
    proxy.set(Fault::CorruptEvery(2));
    let before = (session.counters(), engine.counters());
    same_values(
        &session
            .walk(&columns())
            .await
            .expect("walk with corruption"),
        &reference,
    );
    let after = (session.counters(), engine.counters());
    assert!(
        after.0.timeouts > before.0.timeouts || after.0.malformed > before.0.malformed,
        "corrupt replies must be counted: {after:?}"
    );
    assert!(
        after.1.malformed + after.1.discarded > before.1.malformed + before.1.discarded,
        "the socket must have seen bad datagrams: {after:?}"
    );

    // Every other reply with a wrong request id: ignored, retried, values unchanged.
    proxy.set(Fault::WrongRequestIdEvery(2));
    let discarded = engine.counters().discarded;
    same_values(
        &session.walk(&columns()).await.expect("walk with wrong ids"),
        &reference,
    );
    assert!(
        engine.counters().discarded > discarded,
        "{:?}",
        engine.counters()
    );

    // Replies later than the timeout: a clear timeout within the budget, not a hang.
    proxy.set(Fault::Delay(Duration::from_millis(450)));
    let started = Instant::now();
    let e = session
        .walk(&columns())
        .await
        .expect_err("late replies are no replies");
    assert!(matches!(e, SnmpError::Timeout { .. }), "{e:?}");
    assert!(
        started.elapsed() <= budget(&o),
        "took {:?}, budget {:?}",
        started.elapsed(),
        budget(&o)
    );

    // Nothing comes back at all: the same, for a GET and for a walk.
    proxy.set(Fault::DropAll);
    let started = Instant::now();
    let e = session
        .get(&[Oid::parse("1.3.6.1.2.1.1.3.0").expect("OID")])
        .await
        .expect_err("no agent");
    assert!(matches!(e, SnmpError::Timeout { attempts: 4, .. }), "{e:?}");
    assert!(
        started.elapsed() <= budget(&o),
        "took {:?}",
        started.elapsed()
    );
    assert!(e.to_string().contains("no answer"), "{e}");

    // And back to normal: the session recovers by itself.
    proxy.set(Fault::None);
    tokio::time::sleep(Duration::from_millis(500)).await;
    same_values(
        &session.walk(&columns()).await.expect("walk after recovery"),
        &reference,
    );
}

/// Through 20 % loss max-repetitions falls (a timeout halves it, so that the retry has its
/// best chance); once the loss stops it climbs back to the configured value within a few
/// walks. The same through a path that loses big replies: it falls to a size that passes.
#[tokio::test]
async fn bulk_size_falls_through_loss_and_climbs_back_to_the_configured_value() {
    let agent = snmp_support::start_snmpd();
    let upstream: SocketAddr = agent.address().parse().expect("address");
    let proxy = UdpProxy::start(upstream).await;
    let engine = Engine::bind_on("127.0.0.1:0").await.expect("engine");
    let target = Target {
        host: "127.0.0.1".into(),
        port: proxy.address.port(),
    };
    let creds = SnmpCredentials::V2c {
        community: Secret::new("public"),
    };
    let o = SessionOptions {
        max_repetitions: 40,
        ..options()
    };
    let session = std::sync::Arc::new(engine.session(&target, &creds, o).await.expect("session"));
    let reference = session.walk(&columns()).await.expect("walk");
    assert_eq!(session.max_repetitions(), 40);

    // The lowest max-repetitions in use, sampled while the walks run.
    let lowest = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(u32::MAX));
    let sampler = {
        let (session, lowest) = (session.clone(), lowest.clone());
        tokio::spawn(async move {
            loop {
                lowest.fetch_min(
                    session.max_repetitions(),
                    std::sync::atomic::Ordering::Relaxed,
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let lowest_now = || lowest.swap(u32::MAX, std::sync::atomic::Ordering::Relaxed);
    let walk_until_configured = |what: &'static str| {
        let (session, reference) = (session.clone(), reference.clone());
        async move {
            for _ in 0..30 {
                same_values(&session.walk(&columns()).await.expect("walk"), &reference);
                if session.max_repetitions() == 40 {
                    return;
                }
            }
            panic!(
                "{what}: max-repetitions stayed at {}",
                session.max_repetitions()
            );
        }
    };

    proxy.set(Fault::DropEvery(5));
    for _ in 0..15 {
        same_values(
            &session.walk(&columns()).await.expect("walk with 20 % loss"),
            &reference,
        );
    }
    assert!(session.counters().timeouts >= 2, "{:?}", session.counters());
    let fell = lowest_now();
    assert!(
        fell < 40,
        "timeouts must shrink max-repetitions (lowest {fell})"
    );
    proxy.set(Fault::None);
    walk_until_configured("after the loss").await;

    proxy.set(Fault::DropRepliesAbove(1_400));
    for _ in 0..6 {
        same_values(
            &session
                .walk(&columns())
                .await
                .expect("walk, big replies lost"),
            &reference,
        );
    }
    let size = session.max_repetitions();
    assert!(size < 40, "big replies lost: max-repetitions {size}");
    proxy.set(Fault::None);
    walk_until_configured("after the big replies").await;
    sampler.abort();
}

/// Replies from a real snmpd, damaged at random (bytes flipped, cut short, lengthened), fed
/// back to the engine: whatever the decoder makes of them, the engine answers or fails within
/// its timeout, and never panics.
#[test]
fn damaged_replies_never_panic_or_hang_the_engine() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let agent = snmp_support::start_snmpd();
    let upstream: SocketAddr = agent.address().parse().expect("address");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let engine = rt.block_on(Engine::bind_on("127.0.0.1:0")).expect("engine");
    let creds = SnmpCredentials::V2c {
        community: Secret::new("public"),
    };
    let o = SessionOptions {
        timeout: Duration::from_millis(150),
        retries: 0,
        max_repetitions: 5,
        window: 1,
        max_walk_values: 1000,
    };

    let edits = prop::collection::vec((any::<u16>(), 1u8..=255), 1..6);
    let strategy = (
        edits,
        prop_oneof![Just(None), (0usize..200).prop_map(Some)],
        prop::collection::vec(any::<u8>(), 0..4),
    );
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |(edits, cut, tail)| {
        rt.block_on(async {
            // A one-shot responder: forwards the engine's request to snmpd, damages the reply.
            let front = tokio::net::UdpSocket::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let back = tokio::net::UdpSocket::bind("127.0.0.1:0")
                .await
                .expect("bind");
            back.connect(upstream).await.expect("connect");
            let port = front.local_addr().expect("address").port();
            let responder = tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                loop {
                    let Ok((n, from)) = front.recv_from(&mut buf).await else {
                        return;
                    };
                    let _ = back.send(&buf[..n]).await;
                    let Ok(Ok(m)) =
                        tokio::time::timeout(Duration::from_secs(1), back.recv(&mut buf)).await
                    else {
                        continue;
                    };
                    let mut reply = buf[..m].to_vec();
                    for (pos, x) in &edits {
                        let len = reply.len();
                        if len > 0 {
                            reply[*pos as usize % len] ^= x;
                        }
                    }
                    if let Some(c) = cut {
                        reply.truncate(c.min(reply.len()));
                    }
                    reply.extend_from_slice(&tail);
                    let _ = front.send_to(&reply, from).await;
                }
            });
            let target = Target {
                host: "127.0.0.1".into(),
                port,
            };
            let session = engine.session(&target, &creds, o).await.expect("session");
            let started = Instant::now();
            let _ = session
                .get(&[Oid::parse("1.3.6.1.2.1.1.1.0").expect("OID")])
                .await;
            let _ = session.walk(&columns()).await;
            responder.abort();
            let took = started.elapsed();
            // Each request: at most one timeout; a walk of damaged replies ends early or in error.
            prop_assert!(took < Duration::from_secs(3), "took {:?}", took);
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
