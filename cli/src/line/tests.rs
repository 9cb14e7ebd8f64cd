//! `line show`, `line watch` and `line thresholds` as text.

use super::show::INDENT;
use super::thresholds::{check_thresholds, thresholds_text};
use super::watch::{Watch, watched_metrics};
use super::*;
use crate::output::{self, Style};
use coopnoc_proto::{Event, LevelDay, Line, LineKind, LineLive, MatchKind, Traffic};
use coopnoc_proto::{LineDetail, LineLocation, ThresholdOverrides, WatchReading};

fn now() -> jiff::Timestamp {
    "2026-11-29T01:26:00Z".parse().expect("time")
}

fn detail() -> LineDetail {
    let mut hourly: Vec<Option<f64>> = (0..24)
        .map(|h| Some(-22.0 - f64::from(h % 6) * 0.5))
        .collect();
    hourly[5] = None;
    hourly[6] = None;
    LineDetail {
        line: Line {
            reference: "L-00042".into(),
            kind: LineKind::Fibre,
            device: Some("olt-bordes".into()),
            match_kind: MatchKind::Ifalias,
            match_key: "L-00042".into(),
            member: Some("M-0042".into()),
            description: Some("boîte aux lettres côté jardin".into()),
            state: "degraded".into(),
            state_since: Some("2026-11-28T22:14:05Z".into()),
        },
        member_name: Some("Foyer Dupont".into()),
        site: Some("armoire-bordes".into()),
        events: vec![
            Event {
                at: "2026-11-28T22:14:05Z".into(),
                subject_kind: "line".into(),
                subject: "L-00042".into(),
                old_state: Some("up".into()),
                new_state: "degraded".into(),
                reason: Some("OLT rx -28.40 dBm below -27.0".into()),
                detail: None,
            },
            Event {
                at: "2026-11-27T03:02:00Z".into(),
                subject_kind: "line".into(),
                subject: "L-00042".into(),
                old_state: Some("down".into()),
                new_state: "up".into(),
                reason: None,
                detail: Some(serde_json::json!({"olt_rx_dbm": -22.5, "rx_dbm": null})),
            },
        ],
        thresholds: ThresholdOverrides::default(),
        live: Some(LineLive {
            reason: Some("OLT rx -28.40 dBm below -27.0".into()),
            flaps: 1,
            flapping: false,
            location: Some(LineLocation {
                device: "olt-bordes".into(),
                site: Some("armoire-bordes".into()),
                profile: Some("zte-c3xx".into()),
                port: Some("gpon_1/1/3".into()),
                onu: Some(12),
                if_index: Some(140),
                serial: None,
                mac: None,
                seen_at: "2026-11-29T01:25:48Z".into(),
            }),
            levels: Levels {
                at: Some("2026-11-29T01:25:48Z".into()),
                rx_dbm: None,
                tx_dbm: None,
                olt_rx_dbm: Some(-28.4),
                signal_dbm: None,
                snr_db: None,
            },
            day: vec![LevelDay {
                metric: "olt-rx".into(),
                unit: "dBm".into(),
                min: Some(-28.4),
                max: Some(-21.9),
                hourly_min: hourly,
            }],
            traffic: Some(Traffic {
                download_bps: Some(12_300_000.0),
                upload_bps: Some(850_000.0),
                over_seconds: 15.0,
                at: "2026-11-29T01:25:48Z".into(),
            }),
            usage: Some("not measured per line on this device".into()),
        }),
    }
}

#[test]
fn line_show_answers_the_technicians_questions() {
    let text = show(&detail(), now(), Style::PLAIN);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0], "L-00042  fibre  degraded for 3h 11m, since 11-28 22:14Z",
        "{text}"
    );
    assert!(
        text.contains("  reason    OLT rx -28.40 dBm below -27.0\n"),
        "{text}"
    );
    assert!(
        text.contains("  member    M-0042  Foyer Dupont\n"),
        "{text}"
    );
    assert!(
        text.contains("  where     armoire-bordes / olt-bordes / gpon_1/1/3 ONU 12\n"),
        "{text}"
    );
    assert!(
        text.contains("            ifIndex 140, profile zte-c3xx, seen 12s ago\n"),
        "{text}"
    );
    assert!(
        text.contains("  found by  ifalias L-00042 on olt-bordes\n"),
        "{text}"
    );
    assert!(
        text.contains("    OLT rx  -28.40 dBm    -28.40  -21.90  "),
        "{text}"
    );
    assert!(text.contains("            read 12s ago\n"), "{text}");
    assert!(
        text.contains("  traffic   download 12.3 Mb/s, upload 850 kb/s (over 15s, 12s ago)\n"),
        "{text}"
    );
    assert!(
        text.contains("  usage     not measured per line on this device\n"),
        "{text}"
    );
    assert!(
        text.contains("  flaps     1 in the flap window\n"),
        "{text}"
    );
    assert!(
        text.contains("  events    11-28 22:14Z  up → degraded  OLT rx -28.40 dBm below -27.0\n"),
        "{text}"
    );
    assert!(
        text.contains("            11-27 03:02Z  down → up      OLT rx -22.50\n"),
        "{text}"
    );
    // The sparkline: 24 hours, the gap drawn as dots.
    let spark_line = lines
        .iter()
        .find(|l| l.starts_with("    OLT rx"))
        .expect("levels row");
    let spark: String = spark_line.chars().skip(42).collect();
    assert_eq!(spark.chars().count(), 24, "{spark_line}");
    assert_eq!(spark.chars().nth(5), Some('·'), "{spark_line}");
    assert!(
        spark.chars().all(|c| "▁▂▃▄▅▆▇█·".contains(c)),
        "{spark_line}"
    );
    assert!(!text.contains('\x1b'), "no colour codes: {text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
}

#[test]
fn line_show_stays_within_80_columns_whatever_the_data() {
    let mut d = detail();
    d.line.description = Some("x".repeat(300));
    d.member_name = Some("Famille ".repeat(20));
    if let Some(live) = d.live.as_mut() {
        live.reason = Some("reason ".repeat(30));
        live.flapping = true;
        if let Some(loc) = live.location.as_mut() {
            loc.port = Some("p".repeat(100));
            loc.site = Some("Château d'eau de Villiers-le-Haut, accès par la route de Sens".into());
        }
    }
    d.events[0].reason = Some("r".repeat(200));
    let text = show(&d, now(), Style::PLAIN);
    // A long place goes on a line of its own.
    assert!(
        text.contains(
            "  where     Château d'eau de Villiers-le-Haut, accès par la route de Sens / olt…\n"
        ),
        "{text}"
    );
    assert!(text.contains(&format!("\n{INDENT}pppppppp")), "{text}");
    for st in [
        Style::PLAIN,
        Style {
            colour: true,
            unicode: true,
        },
        Style {
            colour: false,
            unicode: false,
        },
    ] {
        let text = show(&d, now(), st);
        assert!(text.lines().all(|l| output::visible_len(l) <= 80), "{text}");
        assert!(text.contains("flapping"), "{text}");
    }
    let ascii = show(
        &d,
        now(),
        Style {
            colour: false,
            unicode: false,
        },
    );
    assert!(
        !ascii.contains('→') && !ascii.contains('▁') && !ascii.contains('·'),
        "{ascii}"
    );
    assert!(ascii.contains("up -> degraded"), "{ascii}");
}

#[test]
fn a_line_not_seen_says_so() {
    let mut d = detail();
    d.line.state = "unknown".into();
    d.events.clear();
    if let Some(live) = d.live.as_mut() {
        live.location = None;
        live.reason = Some("not seen on olt-bordes".into());
        live.levels = Levels::default();
        live.day.clear();
        live.traffic = None;
        live.usage = None;
    }
    let text = show(&d, now(), Style::PLAIN);
    assert!(
        text.contains("  where     armoire-bordes / olt-bordes: not seen there now\n"),
        "{text}"
    );
    assert!(text.contains("  levels    none read\n"), "{text}");
    assert!(text.contains("  events    none recorded\n"), "{text}");
    assert!(!text.contains("traffic"), "{text}");
    // A store-only answer (no live part) still shows the line.
    d.live = None;
    let text = show(&d, now(), Style::PLAIN);
    assert!(
        text.contains("  where     armoire-bordes / olt-bordes\n"),
        "{text}"
    );
}

fn reading(olt_rx: f64, state: &str, reason: Option<&str>) -> WatchReading {
    WatchReading {
        line: "L-00042".into(),
        device: "olt-bordes".into(),
        location: Some("gpon_1/1/3:12".into()),
        state: state.into(),
        reason: reason.map(str::to_string),
        levels: Levels {
            olt_rx_dbm: Some(olt_rx),
            ..Levels::default()
        },
        oper: Some("up".into()),
        values: 3,
        took_ms: 45,
    }
}

#[test]
fn watch_rows_show_the_change_since_the_previous_reading() {
    let d = detail();
    let first = reading(-22.45, "up", None);
    let mut w = Watch::new(watched_metrics(&d, &first));
    assert_eq!(w.header(), "TIME       STATE     OLT RX dBm       GET");
    assert_eq!(
        w.row(&first, "22:14:05Z", Style::PLAIN),
        "22:14:05Z  up        -22.45           45 ms"
    );
    assert_eq!(
        w.row(&reading(-22.14, "up", None), "22:14:07Z", Style::PLAIN),
        "22:14:07Z  up        -22.14 (+0.31)   45 ms"
    );
    assert_eq!(
        w.row(&reading(-22.14, "up", None), "22:14:09Z", Style::PLAIN),
        "22:14:09Z  up        -22.14 (+0.00)   45 ms"
    );
    let bad = w.row(
        &reading(-28.5, "degraded", Some("OLT rx -28.50 dBm below -27.0")),
        "22:14:11Z",
        Style::PLAIN,
    );
    assert_eq!(
        bad,
        "22:14:11Z  degraded  -28.50 (-6.36)   45 ms\n           OLT rx -28.50 dBm below -27.0"
    );
    let coloured = w.row(
        &reading(-22.0, "up", None),
        "22:14:13Z",
        Style {
            colour: true,
            unicode: true,
        },
    );
    assert!(
        coloured.contains("\x1b[32m(+6.50)"),
        "a better level in green: {coloured:?}"
    );
    assert_eq!(
        w.summary(),
        vec!["OLT rx: first -22.45, last -22.00 (+0.45); lowest -28.50, highest -22.00 dBm"]
    );
}

#[test]
fn thresholds_are_checked_and_shown() {
    let ok = ThresholdOverrides {
        optical_rx_min_dbm: Some(-28.0),
        ..Default::default()
    };
    assert_eq!(check_thresholds(&ok), Ok(()));
    let sign = ThresholdOverrides {
        optical_rx_min_dbm: Some(28.0),
        ..Default::default()
    };
    assert!(
        check_thresholds(&sign)
            .expect_err("a forgotten sign")
            .contains("--optical-rx-min 28")
    );
    let upside_down = ThresholdOverrides {
        optical_rx_min_dbm: Some(-8.0),
        optical_rx_max_dbm: Some(-10.0),
        ..Default::default()
    };
    assert!(check_thresholds(&upside_down).is_err());
    let nan = ThresholdOverrides {
        radio_snr_min_db: Some(f64::NAN),
        ..Default::default()
    };
    assert!(check_thresholds(&nan).is_err());
    let text = thresholds_text(&detail(), &ok, Style::PLAIN);
    assert!(
        text.contains("  optical rx min    -28.0 dBm (this line)\n"),
        "{text}"
    );
    assert!(
        text.contains("  optical rx max    as configured\n"),
        "{text}"
    );
    assert!(
        text.contains("  state now         degraded; the next polls judge it with these\n"),
        "{text}"
    );
    let cleared = thresholds_text(&detail(), &ThresholdOverrides::default(), Style::PLAIN);
    assert!(
        cleared.starts_with("L-00042 follows the configured thresholds again"),
        "{cleared}"
    );
}
