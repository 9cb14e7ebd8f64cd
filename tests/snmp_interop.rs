//! Interop: coopnoc's SNMP engine against agents nobody here wrote (net-snmp's snmpd, snmpsimd
//! replaying LibreNMS recordings). What the engine reads must equal what net-snmp's
//! `snmpbulkwalk` reads from the same agent: same OIDs, same values, whole columns.

mod snmp_support;

use std::time::{Duration, Instant};

use coopnocd::collect::snmp::{
    Anomaly, Engine, Oid, Session, SessionOptions, SnmpError, Table, Value,
};
use coopnocd::config::{AuthProtocol, PrivProtocol, Secret, SnmpCredentials, Target, UsmUser};
use snmp_support::{
    V3_SHA1_DES, V3_SHA256_AES128, V3_SHA512_AES256, V3_SHA512_AUTH, net_snmp_text, snmpbulkwalk,
};

fn options() -> SessionOptions {
    SessionOptions {
        timeout: Duration::from_secs(2),
        retries: 1,
        max_repetitions: 25,
        window: 1,
        max_walk_values: 100_000,
    }
}

fn target(port: u16) -> Target {
    Target {
        host: "127.0.0.1".into(),
        port,
    }
}

fn v2c(community: &str) -> SnmpCredentials {
    SnmpCredentials::V2c {
        community: Secret::new(community),
    }
}

fn oid(s: &str) -> Oid {
    Oid::parse(s).expect("test OID")
}

/// Walks `columns` together with our engine, then each column alone with snmpbulkwalk, and
/// asserts the same rows. Returns our table for further checks.
async fn assert_same_as_net_snmp(
    session: &Session,
    net_snmp_auth: &[&str],
    address: &str,
    columns: &[&str],
) -> Table {
    let oids: Vec<Oid> = columns.iter().map(|c| oid(c)).collect();
    let table = session
        .walk(&oids)
        .await
        .unwrap_or_else(|e| panic!("walk {columns:?} as {net_snmp_auth:?}: {e}"));
    for (column, ours) in columns.iter().zip(&table.columns) {
        let theirs = snmpbulkwalk(net_snmp_auth, address, column);
        let ours: Vec<(String, String)> = ours
            .rows
            .iter()
            .map(|(index, value)| (oid(column).child(index).to_string(), net_snmp_text(value)))
            .collect();
        assert_eq!(ours, theirs, "column {column} differs from snmpbulkwalk's");
    }
    table
}

/// Columns whose values do not move between two reads (counters of lo move with our own
/// SNMP traffic, so they are compared by OID only).
const IF_STABLE: &[&str] = &[
    "1.3.6.1.2.1.2.2.1.2",     // ifDescr
    "1.3.6.1.2.1.2.2.1.3",     // ifType
    "1.3.6.1.2.1.2.2.1.4",     // ifMtu
    "1.3.6.1.2.1.2.2.1.6",     // ifPhysAddress
    "1.3.6.1.2.1.31.1.1.1.1",  // ifName
    "1.3.6.1.2.1.31.1.1.1.15", // ifHighSpeed
    "1.3.6.1.2.1.31.1.1.1.18", // ifAlias
];

#[tokio::test]
async fn snmpd_v2c_v1_and_v3_read_what_snmpbulkwalk_reads() {
    let agent = snmp_support::start_snmpd();
    let engine = Engine::bind_on("127.0.0.1:0").await.expect("engine");
    let address = agent.address();

    // v2c: several columns of two tables in one multi-column GETBULK walk.
    let session = engine
        .session(&target(agent.port), &v2c("public"), options())
        .await
        .expect("session");
    let table =
        assert_same_as_net_snmp(&session, &["-v2c", "-c", "public"], &address, IF_STABLE).await;
    assert!(table.anomalies.is_empty(), "{:?}", table.anomalies);
    assert!(
        table.columns[0].rows.len() >= 2,
        "snmpd shows at least lo and one more interface"
    );
    // IpAddress values and the ipAddrTable index.
    assert_same_as_net_snmp(
        &session,
        &["-v2c", "-c", "public"],
        &address,
        &["1.3.6.1.2.1.4.20.1.1", "1.3.6.1.2.1.4.20.1.2"],
    )
    .await;
    // Counters: the same rows (values move with our own traffic on lo).
    let counters = session
        .walk(&[
            oid("1.3.6.1.2.1.31.1.1.1.6"),
            oid("1.3.6.1.2.1.31.1.1.1.10"),
        ])
        .await
        .expect("walk");
    let theirs = snmpbulkwalk(
        &["-v2c", "-c", "public"],
        &address,
        "1.3.6.1.2.1.31.1.1.1.6",
    );
    assert_eq!(counters.columns[0].rows.len(), theirs.len());
    assert!(
        counters.columns[0]
            .rows
            .iter()
            .all(|(_, v)| matches!(v, Value::Counter64(_)))
    );

    // A small max-repetitions still reads everything (many requests, same rows).
    let small = SessionOptions {
        max_repetitions: 2,
        ..options()
    };
    let session2 = engine
        .session(&target(agent.port), &v2c("public"), small)
        .await
        .expect("session");
    assert_same_as_net_snmp(&session2, &["-v2c", "-c", "public"], &address, IF_STABLE).await;

    // GET of scalars, one missing.
    let got = session
        .get(&[
            oid("1.3.6.1.2.1.1.2.0"),
            oid("1.3.6.1.2.1.1.5.0"),
            oid("1.3.6.1.2.1.1.99.0"),
        ])
        .await
        .expect("get");
    assert!(matches!(got[0].1, Value::Oid(_)));
    assert!(matches!(got[1].1, Value::Bytes(_)));
    assert!(got[2].1.is_exception(), "{:?}", got[2].1);

    // v1: GETNEXT walks, and a missing object in a GET does not lose the others.
    let v1 = SnmpCredentials::V1 {
        community: Secret::new("public"),
    };
    let s1 = engine
        .session(&target(agent.port), &v1, options())
        .await
        .expect("session");
    assert_same_as_net_snmp(&s1, &["-v1", "-c", "public"], &address, &IF_STABLE[..3]).await;
    let got = s1
        .get(&[oid("1.3.6.1.2.1.1.2.0"), oid("1.3.6.1.2.1.1.99.0")])
        .await
        .expect("v1 get");
    assert!(matches!(got[0].1, Value::Oid(_)));
    assert!(got[1].1.is_exception());

    // v3: SHA-256 + AES-128 authPriv, SHA-1 + DES authPriv, SHA-512 authNoPriv, SHA-512 +
    // AES-256 authPriv.
    let (u, a, p) = V3_SHA256_AES128;
    let creds = SnmpCredentials::V3(UsmUser {
        user: u.into(),
        auth: Some((AuthProtocol::Sha256, Secret::new(a))),
        privacy: Some((PrivProtocol::Aes128, Secret::new(p))),
        context: None,
    });
    let s3 = engine
        .session(&target(agent.port), &creds, options())
        .await
        .expect("v3 session");
    assert_same_as_net_snmp(
        &s3,
        &[
            "-v3", "-l", "authPriv", "-u", u, "-a", "SHA-256", "-A", a, "-x", "AES", "-X", p,
        ],
        &address,
        IF_STABLE,
    )
    .await;

    let (u, a, p) = V3_SHA1_DES;
    let creds = SnmpCredentials::V3(UsmUser {
        user: u.into(),
        auth: Some((AuthProtocol::Sha1, Secret::new(a))),
        privacy: Some((PrivProtocol::Des, Secret::new(p))),
        context: None,
    });
    let s3 = engine
        .session(&target(agent.port), &creds, options())
        .await
        .expect("v3 session");
    assert_same_as_net_snmp(
        &s3,
        &[
            "-v3", "-l", "authPriv", "-u", u, "-a", "SHA", "-A", a, "-x", "DES", "-X", p,
        ],
        &address,
        &IF_STABLE[..2],
    )
    .await;

    let (u, a) = V3_SHA512_AUTH;
    let creds = SnmpCredentials::V3(UsmUser {
        user: u.into(),
        auth: Some((AuthProtocol::Sha512, Secret::new(a))),
        privacy: None,
        context: None,
    });
    let s3 = engine
        .session(&target(agent.port), &creds, options())
        .await
        .expect("v3 session");
    assert_same_as_net_snmp(
        &s3,
        &["-v3", "-l", "authNoPriv", "-u", u, "-a", "SHA-512", "-A", a],
        &address,
        &IF_STABLE[..2],
    )
    .await;

    let (u, a, p) = V3_SHA512_AES256;
    let creds = SnmpCredentials::V3(UsmUser {
        user: u.into(),
        auth: Some((AuthProtocol::Sha512, Secret::new(a))),
        privacy: Some((PrivProtocol::Aes256, Secret::new(p))),
        context: None,
    });
    let s3 = engine
        .session(&target(agent.port), &creds, options())
        .await
        .expect("v3 session");
    assert_same_as_net_snmp(
        &s3,
        &[
            "-v3", "-l", "authPriv", "-u", u, "-a", "SHA-512", "-A", a, "-x", "AES-256", "-X", p,
        ],
        &address,
        &IF_STABLE[..2],
    )
    .await;
}

/// The agent refuses bad SNMPv3 credentials with a report (its usmStatsWrongDigests,
/// usmStatsUnknownUserNames... rise): the engine says what the agent said, about which user,
/// after one request, without retrying it as a timeout, and never shows a secret.
#[tokio::test]
async fn snmpd_reports_bad_v3_credentials_at_once_and_by_name() {
    let agent = snmp_support::start_snmpd();
    let engine = Engine::bind_on("127.0.0.1:0").await.expect("engine");
    let (u, a, p) = V3_SHA256_AES128;
    let (u3, a3) = V3_SHA512_AUTH;
    let user = |user: &str, auth: (AuthProtocol, &str), privacy: Option<&str>| {
        SnmpCredentials::V3(UsmUser {
            user: user.into(),
            auth: Some((auth.0, Secret::new(auth.1))),
            privacy: privacy.map(|p| (PrivProtocol::Aes128, Secret::new(p))),
            context: None,
        })
    };
    let cases = [
        (
            user(u, (AuthProtocol::Sha256, "not-the-password"), Some(p)),
            "authentication failed for user sha256aes",
        ),
        (
            user(u, (AuthProtocol::Sha1, a), Some(p)),
            "authentication failed for user sha256aes",
        ),
        (
            user("nobody-here", (AuthProtocol::Sha256, a), Some(p)),
            "unknown user nobody-here",
        ),
        (
            // An authNoPriv user asked with privacy.
            user(u3, (AuthProtocol::Sha512, a3), Some("some-priv-pass")),
            "user sha512auth is not allowed at this security level",
        ),
    ];
    // Three attempts of 2 s: a retried timeout would take 6 s at least.
    let o = SessionOptions {
        retries: 2,
        ..options()
    };
    for (creds, expected) in cases {
        let started = Instant::now();
        let s3 = engine
            .session(&target(agent.port), &creds, o)
            .await
            .expect("v3 session");
        let e = s3
            .get(&[oid("1.3.6.1.2.1.1.1.0")])
            .await
            .expect_err("bad credentials must fail");
        let text = e.to_string();
        assert!(matches!(e, SnmpError::Auth { .. }), "{e:?}");
        assert!(text.contains(expected), "{text}");
        assert!(
            !text.contains("not-the-password") && !text.contains(p) && !text.contains(a),
            "{text}"
        );
        let c = s3.counters();
        assert_eq!((c.requests, c.timeouts, c.retries), (1, 0, 0), "{c:?}");
        assert!(
            started.elapsed() < o.timeout,
            "took {:?}: {text}",
            started.elapsed()
        );
    }
    // A wrong privacy password: snmpd cannot decrypt the request and drops it (net-snmp's own
    // tools time out too). The timeout says what else it can mean.
    let creds = user(
        u,
        (AuthProtocol::Sha256, a),
        Some("not-the-privacy-password"),
    );
    let s3 = engine
        .session(&target(agent.port), &creds, options())
        .await
        .expect("v3 session");
    let e = s3
        .get(&[oid("1.3.6.1.2.1.1.1.0")])
        .await
        .expect_err("a wrong privacy password must fail");
    let text = e.to_string();
    assert!(
        matches!(e, SnmpError::Timeout { .. }) && text.contains("wrong privacy password"),
        "{text}"
    );
    assert!(!text.contains("not-the-privacy-password"), "{text}");
}

#[tokio::test]
async fn snmpsim_recordings_read_like_snmpbulkwalk_and_defects_end_cleanly() {
    let agent = snmp_support::start_snmpsim();
    let engine = Engine::bind_on("127.0.0.1:0").await.expect("engine");
    let address = agent.address();

    // An OLT with 96 interfaces: the 5 columns the poller reads, walked together.
    let bdcom = engine
        .session(&target(agent.port), &v2c("bdcom"), options())
        .await
        .expect("session");
    let cols = [
        "1.3.6.1.2.1.2.2.1.8",
        "1.3.6.1.2.1.31.1.1.1.1",
        "1.3.6.1.2.1.31.1.1.1.6",
        "1.3.6.1.2.1.31.1.1.1.10",
        "1.3.6.1.2.1.31.1.1.1.15",
    ];
    let t = assert_same_as_net_snmp(&bdcom, &["-v2c", "-c", "bdcom"], &address, &cols).await;
    assert_eq!(
        t.columns[2].rows.len(),
        96,
        "bdcom has 96 ifHCInOctets rows"
    );
    assert!(t.anomalies.is_empty(), "{:?}", t.anomalies);
    // Whole subtrees too (a subtree is walked as one column).
    for (community, subtree) in [
        ("bdcom", "1.3.6.1.2.1.1"),
        ("cdata", "1.3.6.1.2.1.2.2.1"),
        ("cdata", "1.3.6.1.2.1.31.1.1.1"),
        ("airos-af-ltu", "1.3.6.1.2.1.31.1.1.1"),
        ("airos-af-ltu", "1.3.6.1.4.1.41112"),
    ] {
        let s = engine
            .session(&target(agent.port), &v2c(community), options())
            .await
            .expect("session");
        let t = assert_same_as_net_snmp(&s, &["-v2c", "-c", community], &address, &[subtree]).await;
        assert!(
            !t.columns[0].rows.is_empty(),
            "{community} {subtree} is empty"
        );
    }

    // aviat-wtm: an OID goes backwards in the middle of a column. The walk ends, says so,
    // and keeps what came before (snmpbulkwalk stops at the same place).
    let aviat = engine
        .session(&target(agent.port), &v2c("aviat-wtm"), options())
        .await
        .expect("session");
    let column = "1.3.6.1.4.1.2509.9.3.2.1.1.14";
    let started = Instant::now();
    let t = aviat.walk(&[oid(column)]).await.expect("walk ends");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        t.anomalies
            .iter()
            .any(|a| matches!(a, Anomaly::NotIncreasing { .. })),
        "{:?}",
        t.anomalies
    );
    let theirs = snmpbulkwalk(&["-v2c", "-c", "aviat-wtm"], &address, column);
    let ours: Vec<(String, String)> = t.columns[0]
        .rows
        .iter()
        .map(|(i, v)| (oid(column).child(i).to_string(), net_snmp_text(v)))
        .collect();
    // snmpbulkwalk prints the backwards OID before it stops; we stop before keeping it, so a
    // column's rows are always in increasing order.
    assert!(
        !ours.is_empty() && theirs.starts_with(&ours) && theirs.len() == ours.len() + 1,
        "{ours:?} vs {theirs:?}"
    );
    assert!(aviat.counters().anomalies >= 1);

    // ePMP: Counter64 values that snmpsimd cannot encode; it answers endOfMibView in the middle
    // of ifXTable. The walk ends and reports it; the column next to it is read in full.
    let epmp = engine
        .session(
            &target(agent.port),
            &v2c("epmp_epmp-ap-connected-sta"),
            options(),
        )
        .await
        .expect("session");
    let t = epmp
        .walk(&[oid("1.3.6.1.2.1.31.1.1.1.1"), oid("1.3.6.1.2.1.31.1.1.1.6")])
        .await
        .expect("walk ends");
    assert!(
        !t.anomalies.is_empty(),
        "the broken Counter64 column must be reported"
    );
    let names = snmpbulkwalk(
        &["-v2c", "-c", "epmp_epmp-ap-connected-sta"],
        &address,
        "1.3.6.1.2.1.31.1.1.1.1",
    );
    assert_eq!(t.columns[0].rows.len(), names.len());
    assert!(epmp.counters().anomalies >= 1);
    // Other tables of that device still read fine.
    assert_same_as_net_snmp(
        &epmp,
        &["-v2c", "-c", "epmp_epmp-ap-connected-sta"],
        &address,
        &["1.3.6.1.4.1.17713.21.1.2.30.1.4"],
    )
    .await;
}

/// An agent whose MIB ends with a table (`cdata_end-of-mib`: a recording cut after its last
/// ifXTable row): a walk of that table ends normally after the last row, on endOfMibView with
/// v2c GETBULK and on noSuchName with v1 GETNEXT. No anomaly, no error counted, every row read.
#[tokio::test]
async fn a_table_that_ends_the_mib_ends_its_walk_normally() {
    let agent = snmp_support::start_snmpsim();
    let engine = Engine::bind_on("127.0.0.1:0").await.expect("engine");
    let address = agent.address();
    let community = "cdata_end-of-mib";
    let v1 = SnmpCredentials::V1 {
        community: Secret::new(community),
    };
    // v1 has no Counter64: its walk leaves out ifHCInOctets (6) and ifHCOutOctets (10).
    for (creds, max_repetitions, columns) in [
        (v2c(community), 25, &[1, 6, 10, 15, 18, 19][..]),
        (v2c(community), 3, &[1, 6, 10, 15, 18, 19][..]),
        (v1, 1, &[1, 15, 18, 19][..]),
    ] {
        let columns: Vec<String> = columns
            .iter()
            .map(|c| format!("1.3.6.1.2.1.31.1.1.1.{c}"))
            .collect();
        let oids: Vec<Oid> = columns.iter().map(|c| oid(c)).collect();
        let o = SessionOptions {
            max_repetitions,
            ..options()
        };
        let s = engine
            .session(&target(agent.port), &creds, o)
            .await
            .expect("session");
        for _ in 0..2 {
            let t = s.walk(&oids).await.expect("walk");
            assert!(t.anomalies.is_empty(), "{:?}", t.anomalies);
            for (column, ours) in columns.iter().zip(&t.columns) {
                let theirs = snmpbulkwalk(&["-v2c", "-c", community], &address, column);
                assert_eq!(ours.rows.len(), 20, "{column}");
                assert_eq!(ours.rows.len(), theirs.len(), "{column}");
            }
        }
        let c = s.counters();
        assert_eq!(
            (c.anomalies, c.agent_errors, c.timeouts),
            (0, 0, 0),
            "{c:?}"
        );
    }
}
