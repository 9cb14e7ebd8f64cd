//! The published view, as an output sees it: batches in, a snapshot and events out.

use std::sync::Arc;
use std::time::Duration;

use coopnoc_proto::{LineKind, LineState, MatchKind, NewLine};
use tokio::sync::{broadcast, watch};

use super::{Event, Model};
use crate::collect::observe::{DownReason, Observation, ObservationBatch, Subject};
use crate::collect::profile::{Discovered, KeyKind};
use crate::store::{Store, WriteOp};

const CONFIG: &str = r#"
[reports]
enabled = false

[lines]
hysteresis = 1

[[device]]
name = "olt-1"
kind = "olt"
address = "127.0.0.1:16101"
snmp = { version = "2c", community = "public" }

[[device]]
name = "olt-2"
kind = "olt"
address = "127.0.0.1:16102"
snmp = { version = "2c", community = "public" }
"#;

fn onu(serial: &str) -> Subject {
    Subject::Onu {
        port: Arc::from("gpon_1/1/1"),
        onu: 1,
        serial: Some(Arc::from(serial)),
    }
}

/// One status poll of `device` that found the ONU `serial` up or down.
fn poll(device: &str, serial: &str, up: bool) -> ObservationBatch {
    let found = Discovered {
        subject: onu(serial),
        key: Some((KeyKind::Serial, serial.to_string())),
        labels: Default::default(),
        table: "onus".into(),
        index: vec![1, 1],
    };
    ObservationBatch {
        device: Arc::from(device),
        at: jiff::Timestamp::now(),
        items: vec![
            Observation::Discovered {
                items: Arc::new(vec![found]),
            },
            Observation::LineState {
                subject: onu(serial),
                up,
                reason: (!up).then_some(DownReason::LossOfSignal),
            },
            Observation::Poll {
                duration: Duration::from_millis(5),
                error: None,
                consecutive_failures: 0,
            },
            Observation::Reachability {
                reachable: true,
                error: None,
                duration: Duration::from_millis(5),
            },
        ],
    }
}

fn next_line_event(events: &mut broadcast::Receiver<Event>) -> Option<super::events::LineEvent> {
    loop {
        match events.try_recv() {
            Ok(Event::Line(e)) => return Some(e),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn batches_are_published_as_a_snapshot_and_changes_as_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = crate::config::parse(CONFIG, dir.path()).expect("config");
    let (store, writer) = Store::open(&dir.path().join("coopnoc.db"))
        .await
        .expect("store");
    store
        .write(WriteOp::SyncInventory {
            sites: config.sites.clone(),
            devices: config.devices.clone(),
        })
        .await
        .expect("inventory");
    store
        .write(WriteOp::AddLine(NewLine {
            reference: "L-1".into(),
            kind: LineKind::Fibre,
            device: Some("olt-1".into()),
            match_kind: MatchKind::Serial,
            match_key: "ZTEG00000001".into(),
            member: None,
            description: None,
        }))
        .await
        .expect("line");
    let (_config, follow) = watch::channel(Arc::new(config));
    let model = Model::new(store.clone(), follow);
    let published = model.published();
    let mut events = published.events();
    model.lines_changed().await.expect("lines loaded");
    let id = published
        .snapshot()
        .all_lines()
        .find(|l| &*l.reference == "L-1")
        .expect("the line is in the snapshot once loaded")
        .id;

    // The first judgement of a line is stored, not an event.
    model.take_in(&poll("olt-1", "ZTEG00000001", true)).await;
    let snapshot = published.snapshot();
    let line = snapshot.line(id).expect("the line");
    assert_eq!(line.state, LineState::Up);
    assert_eq!(
        line.location.as_ref().map(|l| &*l.device),
        Some("olt-1"),
        "found on its OLT"
    );
    assert_eq!(snapshot.device("olt-1").map(|d| d.polls), Some(1));
    assert!(next_line_event(&mut events).is_none());

    // A change is in the next snapshot, on the event stream and in the store.
    model.take_in(&poll("olt-1", "ZTEG00000001", false)).await;
    let line = published.snapshot().line(id).cloned().expect("the line");
    assert_eq!(
        (line.state, line.reason.as_deref()),
        (LineState::Down, Some("LOS"))
    );
    let e = next_line_event(&mut events).expect("a line event");
    assert_eq!(
        (&*e.line, e.from, e.to, e.reason.as_deref()),
        ("L-1", LineState::Up, LineState::Down, Some("LOS"))
    );
    let stored = store.events(None, Some("L-1"), 10).await.expect("events");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].new_state, "down");

    // Another device's batch leaves this device's lines as they were: shared, not rebuilt.
    let before = published.snapshot();
    model.take_in(&poll("olt-2", "NOBODY00000002", true)).await;
    let after = published.snapshot();
    assert!(after.version > before.version);
    assert!(Arc::ptr_eq(
        &before.lines.by_device["olt-1"].lines,
        &after.lines.by_device["olt-1"].lines
    ));
    assert_eq!(after.lines.by_device["olt-2"].unassigned.len(), 1);

    drop(model);
    store.close().await;
    writer.finish().await;
}
