//! `coopnoc lines`: every line in trouble, or what the devices show that no line matches.

use std::fmt::Write as _;

use coopnoc_proto::{LinesQuery, ProblemList, Request, Response, UnassignedItem};

use crate::Session;
use crate::escape::shell_word;
use crate::output::{self, Style, WIDTH};

pub async fn run(s: &mut Session, unassigned: bool) -> anyhow::Result<u8> {
    let st = Style::detect();
    let now = jiff::Timestamp::now();
    if unassigned {
        let Response::Unassigned { items } = s
            .call(Request::Lines {
                query: LinesQuery::Unassigned,
            })
            .await?
        else {
            anyhow::bail!("unexpected answer to lines --unassigned")
        };
        if !s.print_json(&items)? {
            print!("{}", unassigned_text(&items, st));
        }
    } else {
        let Response::Problems(list) = s
            .call(Request::Lines {
                query: LinesQuery::Problems,
            })
            .await?
        else {
            anyhow::bail!("unexpected answer to lines --problems")
        };
        if !s.print_json(&list)? {
            print!("{}", problems_text(&list, now, st));
        }
    }
    Ok(0)
}

/// The problems table: worst first, as the daemon sorted it.
pub fn problems_text(list: &ProblemList, now: jiff::Timestamp, st: Style) -> String {
    let mut out = String::new();
    if !list.lines.is_empty() {
        let rows: Vec<Vec<String>> = list
            .lines
            .iter()
            .map(|p| {
                let state = if p.flapping && p.state == "up" {
                    "flapping"
                } else {
                    p.state.as_str()
                };
                let mut why = p.reason.clone().unwrap_or_default();
                if p.flapping {
                    why = if why.is_empty() {
                        format!("{} flaps", p.flaps)
                    } else {
                        format!("{} flaps; {why}", p.flaps)
                    };
                }
                vec![
                    st.cut(&p.reference, 12),
                    st.state(state),
                    p.since
                        .as_deref()
                        .and_then(|t| output::seconds_since(t, now))
                        .map(output::duration)
                        .unwrap_or_else(|| "-".into()),
                    st.cut(p.member.as_deref().unwrap_or("-"), 10),
                    st.cut_middle(p.location.as_deref().unwrap_or("-"), 28),
                    if why.is_empty() { "-".into() } else { why },
                ]
            })
            .collect();
        out.push_str(&output::table_fit(
            &["LINE", "STATE", "SINCE", "MEMBER", "WHERE", "REASON"],
            &rows,
            WIDTH,
            12,
            st,
        ));
    }
    let _ = writeln!(
        out,
        "{} of {} lines in trouble; {} unknown (device unreachable or not seen)",
        list.lines.len(),
        list.total,
        list.unknown
    );
    out
}

fn line_kind(item: &UnassignedItem) -> &'static str {
    if item.kind == "station" {
        "radio"
    } else {
        "fibre"
    }
}

/// ONUs and stations no line matches, and how to make a line of one.
pub fn unassigned_text(items: &[UnassignedItem], st: Style) -> String {
    let mut out = String::new();
    if items.is_empty() {
        out.push_str("every ONU and station the devices show belongs to a line\n");
        return out;
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            let at = match (&i.port, i.onu) {
                (Some(p), Some(o)) => format!("{p}:{o}"),
                (Some(p), None) => p.clone(),
                (None, Some(o)) => format!("ONU {o}"),
                (None, None) => "-".into(),
            };
            let key = match (&i.match_kind, &i.key) {
                (Some(k), Some(v)) => format!("{} {v}", k.as_str()),
                _ => "- (no stable key)".into(),
            };
            let labels: Vec<String> = i.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            vec![
                st.cut(&i.device, 24),
                i.kind.clone(),
                st.cut_middle(&at, 18),
                st.cut(&key, 30),
                labels.join(" "),
            ]
        })
        .collect();
    out.push_str(&output::table_fit(
        &["DEVICE", "KIND", "PORT/ONU", "KEY", "LABELS"],
        &rows,
        WIDTH,
        10,
        st,
    ));
    let onus = items.iter().filter(|i| i.kind == "onu").count();
    let stations = items.len() - onus;
    let _ = writeln!(
        out,
        "{onus} ONU{} and {stations} station{} belong to no line.",
        if onus == 1 { "" } else { "s" },
        if stations == 1 { "" } else { "s" }
    );
    if let Some(i) = items
        .iter()
        .find(|i| i.match_kind.is_some() && i.key.is_some())
    {
        let (Some(k), Some(key)) = (i.match_kind, i.key.as_deref()) else {
            return out;
        };
        let _ = writeln!(out, "To make a line of one, e.g. the first:");
        let _ = writeln!(
            out,
            "  coopnoc line add --ref REF --kind {} --match {} --key {} \\",
            line_kind(i),
            k.as_str(),
            shell_word(key)
        );
        let _ = writeln!(
            out,
            "      --device {} --member MEMBER",
            shell_word(&i.device)
        );
    }
    output::clip(&out, WIDTH, st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use coopnoc_proto::{LineProblem, MatchKind};

    fn problem(reference: &str, state: &str, flapping: bool, reason: Option<&str>) -> LineProblem {
        LineProblem {
            reference: reference.into(),
            member: Some("M-0042".into()),
            state: state.into(),
            since: Some("2026-11-28T22:14:00Z".into()),
            reason: reason.map(str::to_string),
            flaps: if flapping { 6 } else { 0 },
            flapping,
            location: Some("olt-bordes gpon_1/1/3:12".into()),
            site: Some("armoire-bordes".into()),
        }
    }

    #[test]
    fn problems_fit_in_80_columns_with_a_footer() {
        let now: jiff::Timestamp = "2026-11-29T01:26:00Z".parse().expect("time");
        let list = ProblemList {
            lines: vec![
                problem("L-00042", "down", false, Some("LOS")),
                problem(
                    "L-00043",
                    "degraded",
                    false,
                    Some(&"OLT rx -28.40 dBm below -27.0, rx -29.10 dBm below -27.0".repeat(2)),
                ),
                problem("L-00044", "up", true, None),
            ],
            total: 2000,
            unknown: 3,
        };
        let text = problems_text(&list, now, Style::PLAIN);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0], "LINE     STATE     SINCE   MEMBER  WHERE                     REASON",
            "{text}"
        );
        assert_eq!(
            lines[1], "L-00042  down      3h 12m  M-0042  olt-bordes gpon_1/1/3:12  LOS",
            "{text}"
        );
        assert!(
            lines[2].starts_with("L-00043  degraded") && lines[2].ends_with('…'),
            "{text}"
        );
        assert!(
            lines[3].starts_with("L-00044  flapping") && lines[3].ends_with("6 flaps"),
            "{text}"
        );
        assert_eq!(
            lines[4],
            "3 of 2000 lines in trouble; 3 unknown (device unreachable or not seen)"
        );
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        let calm = problems_text(
            &ProblemList {
                lines: vec![],
                total: 10,
                unknown: 0,
            },
            now,
            Style::PLAIN,
        );
        assert_eq!(
            calm,
            "0 of 10 lines in trouble; 0 unknown (device unreachable or not seen)\n"
        );
    }

    #[test]
    fn unassigned_items_come_with_the_command_that_makes_a_line() {
        let mut labels = std::collections::BTreeMap::new();
        labels.insert("name".to_string(), "ONU-12".to_string());
        let items = vec![
            UnassignedItem {
                device: "olt-bordes".into(),
                site: None,
                kind: "onu".into(),
                port: Some("gpon_1/1/3".into()),
                onu: Some(12),
                match_kind: Some(MatchKind::Onu),
                key: Some("gpon_1/1/3:12".into()),
                labels,
            },
            UnassignedItem {
                device: "ap-clocher".into(),
                site: None,
                kind: "station".into(),
                port: None,
                onu: None,
                match_kind: Some(MatchKind::Mac),
                key: Some("00:11:22:33:44:55".into()),
                labels: Default::default(),
            },
        ];
        let text = unassigned_text(&items, Style::PLAIN);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0], "DEVICE      KIND     PORT/ONU       KEY                    LABELS",
            "{text}"
        );
        assert_eq!(
            lines[1], "olt-bordes  onu      gpon_1/1/3:12  onu gpon_1/1/3:12      name=ONU-12",
            "{text}"
        );
        assert_eq!(
            lines[2], "ap-clocher  station  -              mac 00:11:22:33:44:55",
            "{text}"
        );
        assert!(
            text.contains("1 ONU and 1 station belong to no line."),
            "{text}"
        );
        assert!(
            text.contains("  coopnoc line add --ref REF --kind fibre --match onu --key gpon_1/1/3:12 \\\n      --device olt-bordes --member MEMBER\n"),
            "{text}"
        );
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        assert_eq!(
            unassigned_text(&[], Style::PLAIN),
            "every ONU and station the devices show belongs to a line\n"
        );
    }
}
