//! Unit tests of the pieces: scaling, index decoding, labels. The recordings are tested in
//! `tests/profiles.rs`.

use super::*;
use crate::collect::observe::{DownReason, Observation, Subject};
use crate::collect::snmp::{Column, Table, Value};

fn scale() -> Scale {
    Scale::default()
}

#[test]
fn scaling_applies_offset_then_divisor_then_multiplier_then_conversion() {
    let huawei_olt_rx = Scale {
        offset: -10000.0,
        divisor: 100.0,
        ..scale()
    };
    assert_eq!(reading(&Value::Integer(7712), &huawei_olt_rx), Some(-22.88));
    let axos = Scale {
        divisor: 10000.0,
        convert: Convert::MwToDbm,
        ..scale()
    };
    let dbm = reading(&Value::Integer(301), &axos).unwrap();
    assert!((dbm - (-15.214)).abs() < 0.001, "{dbm}");
    // mW -> dBm of nothing is no reading, not minus infinity.
    assert_eq!(reading(&Value::Integer(0), &axos), None);
    let uw = Scale {
        convert: Convert::UwToDbm,
        ..scale()
    };
    assert!((reading(&Value::Integer(1000), &uw).unwrap()).abs() < 1e-12);
    let kbps = Scale {
        multiplier: 1000.0,
        ..scale()
    };
    assert_eq!(reading(&Value::Integer(63488), &kbps), Some(63_488_000.0));
}

#[test]
fn sentinels_ranges_exceptions_and_garbage_are_no_reading() {
    let zte = Scale {
        divisor: 1000.0,
        no_reading: vec![65535000, -80000],
        ..scale()
    };
    assert_eq!(reading(&Value::Integer(-80000), &zte), None);
    assert_eq!(reading(&Value::Integer(65535000), &zte), None);
    assert_eq!(reading(&Value::Integer(-23419), &zte), Some(-23.419));
    for v in [
        Value::NoSuchInstance,
        Value::NoSuchObject,
        Value::EndOfMibView,
        Value::Null,
        Value::Bytes(b"N/A".to_vec()),
    ] {
        assert_eq!(reading(&v, &zte), None, "{v:?}");
    }
    let huawei = Scale {
        divisor: 100.0,
        valid_range: Some((-999999.0, 999999.0)),
        ..scale()
    };
    assert_eq!(reading(&Value::Integer(2147483647), &huawei), None);
    assert_eq!(reading(&Value::Integer(711), &huawei), Some(7.11));
}

#[test]
fn strings_give_their_number_through_the_pattern() {
    let re = regex_lite::Regex::new(r"\((-?[0-9]+(?:\.[0-9]+)?) ?dBm\)").unwrap();
    let vsol = Scale {
        pattern: Some(re),
        ..scale()
    };
    assert_eq!(
        reading(&Value::Bytes(b"0.03 mW (-14.61 dBm)".to_vec()), &vsol),
        Some(-14.61)
    );
    assert_eq!(
        reading(&Value::Bytes(b"2.38 mW (3.77 dBm)".to_vec()), &vsol),
        Some(3.77)
    );
    assert_eq!(
        reading(&Value::Bytes(b"-- mW (-- dBm)".to_vec()), &vsol),
        None
    );
    assert_eq!(reading(&Value::Bytes(vec![0xff, 0xfe]), &vsol), None);
    // Without a pattern, a string that is a plain number is one (some UPS agents).
    assert_eq!(
        reading(&Value::Bytes(b" 42 ".to_vec()), &scale()),
        Some(42.0)
    );
    assert_eq!(reading(&Value::Bytes(b"42 V".to_vec()), &scale()), None);
}

#[test]
fn macs_and_gpon_serials_read_the_way_technicians_write_them() {
    assert_eq!(
        mac_of(&Value::Bytes(vec![0x04, 0xd6, 0xaa, 0xa8, 0x0f, 0x89])).as_deref(),
        Some("04:d6:aa:a8:0f:89")
    );
    assert_eq!(
        mac_of(&Value::Bytes(b"AA:BB:CC:DD:EE:F1".to_vec())).as_deref(),
        Some("aa:bb:cc:dd:ee:f1")
    );
    assert_eq!(
        mac_of(&Value::Bytes(b"aabb.ccdd.eef1".to_vec())).as_deref(),
        Some("aa:bb:cc:dd:ee:f1")
    );
    assert_eq!(mac_of(&Value::Bytes(b"not a mac at all".to_vec())), None);
    let sn = Value::Bytes(vec![b'H', b'W', b'T', b'C', 0x1a, 0x2b, 0x3c, 0x4d]);
    assert_eq!(gpon_serial_of(&sn).as_deref(), Some("HWTC1A2B3C4D"));
    // Four printable octets are still binary in a GPON serial: "1234" is 31323334.
    assert_eq!(
        gpon_serial_of(&Value::Bytes(b"HWTC1234".to_vec())).as_deref(),
        Some("HWTC31323334")
    );
}

const ONU_PROFILE: &str = r#"
id = "test-olt"
name = "Test OLT"
kind = "olt"
[detect]
sys-object-id = ["1.3.6.1.4.1.99999"]
[[table]]
name = "onus"
subject = "onu"
index = "pon-onu"
port-names = "huawei-gpon"
[[table.column]]
oid = "1.3.6.1.4.1.99999.1.1"
role = "oper-status"
map = { 1 = "up", 2 = "offline" }
[[table.column]]
oid = "1.3.6.1.4.1.99999.1.2"
role = "down-cause"
map = { 13 = "dying-gasp" }
[[table.column]]
oid = "1.3.6.1.4.1.99999.1.3"
role = "admin-status"
map = { 1 = "up", 2 = "admin-down" }
"#;

fn column(oid: &str, rows: Vec<(Vec<u32>, Value)>) -> Column {
    Column {
        oid: crate::collect::snmp::Oid::parse(oid).unwrap(),
        rows,
        read_at: Vec::new(),
    }
}

#[test]
fn down_reasons_come_from_the_cause_and_admin_state_wins() {
    let p = parse_profile(ONU_PROFILE, "t.toml").unwrap();
    let port = 0xFA00_0000 + (1 << 13) + (3 << 8);
    let t = Table {
        columns: vec![
            column(
                "1.3.6.1.4.1.99999.1.1",
                vec![
                    (vec![port, 1], Value::Integer(2)),
                    (vec![port, 2], Value::Integer(2)),
                    (vec![port, 3], Value::Integer(1)),
                ],
            ),
            column(
                "1.3.6.1.4.1.99999.1.2",
                vec![
                    (vec![port, 1], Value::Integer(13)),
                    (vec![port, 2], Value::Integer(99)),
                    (vec![port, 3], Value::Integer(13)),
                ],
            ),
            column(
                "1.3.6.1.4.1.99999.1.3",
                vec![(vec![port, 3], Value::Integer(2))],
            ),
        ],
        anomalies: vec![],
    };
    let d = p.decode(&[&t]);
    let states: Vec<_> = d
        .observations
        .iter()
        .filter_map(|o| match o {
            Observation::LineState {
                subject: Subject::Onu { port, onu, .. },
                up,
                reason,
            } => Some((port.to_string(), *onu, *up, *reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("0/1/3".to_string(), 1, false, Some(DownReason::DyingGasp)),
            ("0/1/3".to_string(), 2, false, Some(DownReason::Offline)),
            ("0/1/3".to_string(), 3, false, Some(DownReason::AdminDown)),
        ]
    );
}

#[test]
fn a_bad_index_is_a_problem_not_a_panic() {
    let p = parse_profile(ONU_PROFILE, "t.toml").unwrap();
    let t = Table {
        columns: vec![column(
            "1.3.6.1.4.1.99999.1.1",
            vec![(vec![7], Value::Integer(1)), (vec![], Value::Integer(1))],
        )],
        anomalies: vec![],
    };
    let d = p.decode(&[&t]);
    assert!(d.observations.is_empty());
    assert_eq!(d.problems.len(), 2, "{:?}", d.problems);
}

#[test]
fn detection_prefers_priority_then_conditions_then_the_longer_prefix() {
    let a = "id = \"a\"\nname = \"A\"\nkind = \"olt\"\nextends = \"generic-if-mib\"\n[detect]\nsys-object-id = [\"1.3.6.1.4.1.5\"]\n";
    let b = "id = \"b\"\nname = \"B\"\nkind = \"olt\"\nextends = \"generic-if-mib\"\n[detect]\nsys-object-id = [\"1.3.6.1.4.1.5.7\"]\n";
    let c = "id = \"c\"\nname = \"C\"\nkind = \"olt\"\nextends = \"generic-if-mib\"\n[detect]\nsys-object-id = [\"1.3.6.1.4.1.5\"]\nsys-descr = \"special\"\n";
    let texts = BUILTIN
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .chain(
            [a, b, c]
                .into_iter()
                .enumerate()
                .map(|(i, t)| (format!("{i}.toml"), t.to_string())),
        );
    let set = ProfileSet::from_texts(texts).unwrap();
    assert_eq!(
        set.detect(Some("1.3.6.1.4.1.5.7.1"), None, None)
            .unwrap()
            .profile
            .id,
        "b"
    );
    assert_eq!(
        set.detect(Some("1.3.6.1.4.1.5.8"), None, None)
            .unwrap()
            .profile
            .id,
        "a"
    );
    assert_eq!(
        set.detect(Some("1.3.6.1.4.1.5.7.1"), Some("a special box"), None)
            .unwrap()
            .profile
            .id,
        "c"
    );
}

#[test]
fn entity_sensors_scale_each_row_by_its_own_scale_and_precision() {
    let set = ProfileSet::builtin();
    let p = set.generic();
    let col = |n: u32, rows: Vec<(u32, i32)>| {
        column(
            &format!("1.3.6.1.2.1.99.1.1.1.{n}"),
            rows.into_iter()
                .map(|(i, v)| (vec![i], Value::Integer(v)))
                .collect(),
        )
    };
    let t = Table {
        columns: vec![
            // type: 8 celsius, 8 celsius, 4 voltsDC, 5 amperes, 8 celsius (failed), 6 watts
            col(1, vec![(1, 8), (2, 8), (3, 4), (4, 5), (5, 8), (6, 6)]),
            // scale: units, units, milli, milli, units, kilo
            col(2, vec![(1, 9), (2, 9), (3, 8), (4, 8), (5, 9), (6, 10)]),
            col(3, vec![(1, 1), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0)]),
            col(
                4,
                vec![(1, 415), (2, 38), (3, 12040), (4, 1500), (5, 99), (6, 2)],
            ),
            // status: 5 is nonoperational(3)
            col(5, vec![(1, 1), (2, 1), (3, 1), (4, 1), (5, 3), (6, 1)]),
        ],
        anomalies: vec![],
    };
    let d = p.decode(&[&t]);
    let get = |s: crate::collect::observe::Sensor| {
        d.observations.iter().find_map(|o| match o {
            Observation::Sensor { sensor, value, .. } if *sensor == s => Some(*value),
            _ => None,
        })
    };
    use crate::collect::observe::Sensor as S;
    assert_eq!(
        get(S::TemperatureCelsius),
        Some(Some(41.5)),
        "41.5 beats 38; the failed sensor's 99 is not read"
    );
    assert_eq!(get(S::Volts), Some(Some(12.04)));
    assert_eq!(get(S::Milliamperes), Some(Some(1500.0)));
}

const FALLBACK_PROFILE: &str = r#"
id = "ports"
name = "Ports"
kind = "switch"

[[table]]
name = "ports"
subject = "interface"
index = "ifindex"

[[table.column]]
name = "ifHCInOctets"
oid = "1.3.6.1.2.1.31.1.1.1.6"
role = "in-octets"

[[table.column]]
name = "ifInOctets"
oid = "1.3.6.1.2.1.2.2.1.10"
role = "in-octets"
fallback-for = "ifHCInOctets"

[[table.column]]
name = "ifHighSpeed"
oid = "1.3.6.1.2.1.31.1.1.1.15"
role = "speed-bps"
multiplier = 1000000

[[table.column]]
name = "ifSpeed"
oid = "1.3.6.1.2.1.2.2.1.5"
role = "speed-bps"
fallback-for = "ifHighSpeed"
"#;

#[test]
fn a_fallback_column_is_read_only_where_its_primary_has_no_value() {
    let p = parse_profile(FALLBACK_PROFILE, "t.toml").unwrap();
    assert_eq!(p.tables[0].columns[1].fallback_for, Some(0));
    // Fallbacks are not walked until the poller finds them needed.
    assert_eq!(p.columns(Schedule::Status).len(), 2);
    let table = Table {
        columns: vec![
            column(
                "1.3.6.1.2.1.31.1.1.1.6",
                vec![(vec![1], Value::Counter64(5_000_000_000))],
            ),
            column(
                "1.3.6.1.2.1.2.2.1.10",
                vec![
                    (vec![1], Value::Counter32(7)),
                    (vec![2], Value::Counter32(1_234)),
                ],
            ),
            column(
                "1.3.6.1.2.1.31.1.1.1.15",
                vec![
                    (vec![1], Value::Gauge32(10_000)),
                    (vec![2], Value::Gauge32(0)),
                ],
            ),
            column(
                "1.3.6.1.2.1.2.2.1.5",
                vec![
                    (vec![1], Value::Gauge32(u32::MAX)),
                    (vec![2], Value::Gauge32(64_000)),
                ],
            ),
        ],
        anomalies: Vec::new(),
    };
    let d = p.decode(&[&table]);
    let port = |i: u32| {
        d.observations.iter().find_map(|o| match o {
            Observation::Interface {
                subject: Subject::Interface { index, .. },
                in_octets,
                speed_bps,
                ..
            } if *index == i => Some((*in_octets, *speed_bps)),
            _ => None,
        })
    };
    use crate::collect::observe::Counter;
    assert_eq!(
        port(1),
        Some((Some(Counter::C64(5_000_000_000)), Some(10_000_000_000)))
    );
    // No 64-bit counter, and ifHighSpeed 0 (below 1 Mb/s): the fallbacks.
    assert_eq!(port(2), Some((Some(Counter::C32(1_234)), Some(64_000))));
}

#[test]
fn a_fallback_must_name_a_primary_of_the_same_role() {
    let bad = FALLBACK_PROFILE
        .replace(
            "fallback-for = \"ifHCInOctets\"",
            "fallback-for = \"ifHCInOctet\"",
        )
        .replace(
            "fallback-for = \"ifHighSpeed\"",
            "fallback-for = \"ifHCInOctets\"",
        );
    let problems = parse_profile(&bad, "t.toml").unwrap_err();
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert!(
        text.iter()
            .any(|p| p.contains("column[1].fallback-for") && p.contains("no column")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|p| p.contains("column[3].fallback-for") && p.contains("another role")),
        "{text:?}"
    );
}

/// A vendor table's counters carry the arrival of the reply that carried them (issue 12):
/// two ONUs read in different replies get different times.
#[test]
fn usage_counters_carry_the_time_of_their_reply() {
    let text = format!(
        "{ONU_PROFILE}\n[[table.column]]\noid = \"1.3.6.1.4.1.99999.1.4\"\nrole = \"download-octets\"\n\
         [[table.column]]\noid = \"1.3.6.1.4.1.99999.1.5\"\nrole = \"upload-octets\"\n"
    );
    let p = parse_profile(&text, "t.toml").unwrap();
    let port = 0xFA00_0000 + (1 << 13) + (3 << 8);
    let t0 = jiff::Timestamp::from_second(1_700_000_000).unwrap();
    let t1 = t0 + jiff::SignedDuration::from_secs(4);
    let counters = |oid: &str| Column {
        read_at: vec![(0, t0), (1, t1)],
        ..column(
            oid,
            vec![
                (vec![port, 1], Value::Counter64(10)),
                (vec![port, 2], Value::Counter64(20)),
            ],
        )
    };
    let t = Table {
        columns: vec![
            counters("1.3.6.1.4.1.99999.1.4"),
            counters("1.3.6.1.4.1.99999.1.5"),
        ],
        anomalies: Vec::new(),
    };
    let times: Vec<_> = p
        .decode(&[&t])
        .observations
        .iter()
        .filter_map(|o| match o {
            Observation::Usage {
                download_read_at,
                upload_read_at,
                ..
            } => Some((*download_read_at, *upload_read_at)),
            _ => None,
        })
        .collect();
    assert_eq!(times, vec![(Some(t0), Some(t0)), (Some(t1), Some(t1))]);
}
