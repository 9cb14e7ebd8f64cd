//! The store: migrations, one writer with batched transactions, and no committed row lost
//! when the process dies in the middle of a batch.

mod common;

use std::time::Duration;

use common::{DaemonProcess, TempSetup, wait_for};
use coopnoc_proto::{ImportKind, NewMember, ReportPreference, Request, Response};
use coopnocd::store::{LATEST_SCHEMA_VERSION, Store, WriteOp, migrator};

fn member(i: usize) -> NewMember {
    NewMember {
        reference: format!("M-{i:05}"),
        display_name: format!("Member {i}"),
        email: Some(format!("m{i}@example.org")),
        language: "fr".into(),
        reports: ReportPreference::Email,
    }
}

#[tokio::test]
async fn an_older_database_is_migrated_and_keeps_its_rows() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("coopnoc.db");
    {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true)
            .connect()
            .await
            .expect("create");
        migrator().run_to(1, &mut conn).await.expect("schema 1");
        sqlx::query("INSERT INTO member (ref, display_name, language, reports, created_at, updated_at) VALUES ('M-1', 'Old', 'fr', 'none', 0, 0)")
            .execute(&mut conn)
            .await
            .expect("row");
    }
    let (store, writer) = Store::open(&db).await.expect("open and migrate");
    assert_eq!(
        store.info().await.expect("info").schema_version,
        LATEST_SCHEMA_VERSION
    );
    assert_eq!(store.member("M-1").await.expect("kept").display_name, "Old");
    store.close().await;
    writer.finish().await;
}

#[tokio::test]
async fn a_failing_write_fails_alone_in_its_batch() {
    let dir = tempfile::tempdir().expect("tmp");
    let (store, writer) = Store::open(&dir.path().join("c.db")).await.expect("open");
    // Many writers at once land in the same batches; the duplicate must fail, not its neighbours.
    let mut handles = Vec::new();
    for i in 0..200 {
        let s = store.clone();
        handles.push(tokio::spawn(async move {
            s.write(WriteOp::AddMember(member(i % 199))).await
        }));
    }
    let mut ok = 0;
    let mut conflicts = 0;
    for h in handles {
        match h.await.expect("join") {
            Ok(_) => ok += 1,
            Err(coopnocd::store::StoreError::Conflict(m)) => {
                assert!(m.contains("M-00000"), "{m}");
                conflicts += 1;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((ok, conflicts), (199, 1));
    assert_eq!(store.counts().await.expect("counts").members, 199);
    store.close().await;
    writer.finish().await;
}

#[test]
fn a_crash_mid_batch_loses_no_committed_row_and_half_imports_nothing() {
    let setup = TempSetup::new("");
    let daemon = DaemonProcess::spawn(env!("CARGO_BIN_EXE_coopnocd"), &setup.config(), &[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let socket = setup.socket();
    wait_for("the daemon", Duration::from_secs(20), || {
        rt.block_on(coopnoc_proto::Client::connect(
            &socket,
            Duration::from_secs(1),
        ))
        .is_ok()
    });

    const BIG: usize = 30_000;
    let acknowledged = rt.block_on(async {
        let mut c = coopnoc_proto::Client::connect(&socket, Duration::from_secs(30))
            .await
            .expect("connect");
        let mut acked = 0;
        for i in 0..50 {
            match c.call(&Request::MemberAdd(member(i))).await.expect("call") {
                Response::Member(_) => acked += 1,
                other => panic!("{other:?}"),
            }
        }
        // A large import: one transaction that the kill below lands in the middle of.
        let mut csv = String::from("ref,name,email\n");
        for i in 1000..1000 + BIG {
            csv.push_str(&format!("B-{i},Bulk {i},b{i}@example.org\n"));
        }
        let mut c2 = coopnoc_proto::Client::connect(&socket, Duration::from_secs(30))
            .await
            .expect("connect");
        let import = tokio::spawn(async move {
            c2.call(&Request::Import {
                kind: ImportKind::Members,
                csv,
                file_name: "bulk.csv".into(),
            })
            .await
        });
        // Kill once the import's transaction is spilling pages into the write-ahead log,
        // i.e. in the middle of the batch, before its commit.
        let wal = setup.dir.path().join("state/coopnoc.db-wal");
        let before = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        let started = std::time::Instant::now();
        while std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) < before + 256 * 1024
            && started.elapsed() < Duration::from_secs(20)
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        daemon.signal(libc::SIGKILL);
        let _ = import.await;
        acked
    });
    let _ = daemon.wait(Duration::from_secs(10));

    let db = setup.database();
    let members = common::sqlite_count(&db, "SELECT COUNT(*) FROM member");
    let bulk = common::sqlite_count(&db, "SELECT COUNT(*) FROM member WHERE ref LIKE 'B-%'");
    let audit = common::sqlite_count(
        &db,
        "SELECT COUNT(*) FROM audit WHERE action = 'import-members'",
    );
    eprintln!("bulk rows after the crash: {bulk}");
    assert_eq!(acknowledged, 50);
    assert_eq!(
        members - bulk,
        50,
        "every acknowledged member survives the crash"
    );
    assert!(
        bulk == 0 || bulk == BIG as i64,
        "the import is all or nothing, found {bulk} rows"
    );
    assert_eq!(
        audit,
        i64::from(bulk > 0),
        "the audit row commits with the import, or not at all"
    );

    // And the daemon starts again on that file.
    let daemon = DaemonProcess::spawn(env!("CARGO_BIN_EXE_coopnocd"), &setup.config(), &[]);
    wait_for("the restarted daemon", Duration::from_secs(20), || {
        rt.block_on(async {
            let Ok(mut c) = coopnoc_proto::Client::connect(&socket, Duration::from_secs(1)).await else { return false };
            matches!(c.call(&Request::Status).await, Ok(Response::Status(s)) if s.members == members as u64)
        })
    });
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait(Duration::from_secs(10)).0.code(), Some(0));
}
