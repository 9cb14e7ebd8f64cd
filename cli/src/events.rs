//! `coopnoc events`: what changed, newest first, for a line, a device or everything.

use std::fmt::Write as _;

use coopnoc_proto::{Event, Request, Response};

use crate::Session;
use crate::output::{self, Style, WIDTH};

/// `--since`: a duration back from `now` (30m, 24h, 7d), a date (midnight UTC) or an RFC 3339
/// time; as an instant.
pub fn parse_since(text: &str, now: jiff::Timestamp) -> Result<jiff::Timestamp, String> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    if t.parse::<jiff::civil::DateTime>().is_ok() && t.contains(['T', ' ']) {
        return Err(format!(
            "--since {text}: say which time zone: {t}Z for UTC, or its offset ({t}+01:00)"
        ));
    }
    if let Ok(date) = t.parse::<jiff::civil::Date>() {
        return date
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| format!("--since {text}: {e}"));
    }
    if t.starts_with(|c: char| c.is_ascii_digit())
        && t.contains(|c: char| c.is_ascii_alphabetic())
        && !t.contains('-')
    {
        let d = coopnoc_proto::parse_duration(t).map_err(|e| format!("--since {e}"))?;
        let span = jiff::SignedDuration::try_from(d).map_err(|e| format!("--since {text}: {e}"))?;
        return now
            .checked_sub(span)
            .map_err(|e| format!("--since {text}: {e}"));
    }
    Err(format!(
        "--since {text}: give a duration back from now (30m, 24h, 7d), a date (2026-11-28, from midnight UTC) \
         or a time with its offset (2026-11-28T10:00:00Z)"
    ))
}

/// Why an event happened: its reason, else the levels it recorded ("OLT rx -22.14").
pub fn why(e: &Event) -> String {
    if let Some(r) = &e.reason {
        return r.clone();
    }
    let Some(detail) = &e.detail else {
        return String::new();
    };
    let keys = [
        ("rx_dbm", "rx"),
        ("olt_rx_dbm", "OLT rx"),
        ("signal_dbm", "signal"),
        ("snr_db", "SNR"),
    ];
    keys.iter()
        .filter_map(|(k, label)| {
            detail
                .get(k)
                .and_then(|v| v.as_f64())
                .map(|v| format!("{label} {v:.2}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub struct EventsArgs {
    pub since: Option<String>,
    pub line: Option<String>,
    pub device: Option<String>,
    pub limit: u32,
}

pub async fn run(s: &mut Session, a: EventsArgs) -> anyhow::Result<u8> {
    let now = jiff::Timestamp::now();
    let since = a
        .since
        .as_deref()
        .map(|t| parse_since(t, now))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    // A line can be named as `line show` names it (serial, MAC, member...): events know it by
    // its reference.
    let subject = match (a.line, a.device) {
        (Some(line), _) => {
            let Response::Line(d) = s.call(Request::LineShow { line }).await? else {
                anyhow::bail!("unexpected answer to line show")
            };
            Some(d.line.reference)
        }
        (None, device) => device,
    };
    let request = Request::Events {
        since: since.map(|t| t.to_string()),
        subject: subject.clone(),
        limit: a.limit,
    };
    let Response::Events { events } = s.call(request).await? else {
        anyhow::bail!("unexpected answer to events")
    };
    if !s.print_json(&events)? {
        print!(
            "{}",
            text(
                &events,
                since,
                subject.as_deref(),
                a.limit,
                now,
                Style::detect()
            )
        );
    }
    Ok(0)
}

/// The events table and what it covers.
pub fn text(
    events: &[Event],
    since: Option<jiff::Timestamp>,
    subject: Option<&str>,
    limit: u32,
    now: jiff::Timestamp,
    st: Style,
) -> String {
    let mut out = String::new();
    if !events.is_empty() {
        let rows: Vec<Vec<String>> = events
            .iter()
            .map(|e| {
                vec![
                    output::short_time(&e.at, now),
                    st.cut(&e.subject, 24),
                    st.change(e.old_state.as_deref(), &e.new_state),
                    Some(why(e))
                        .filter(|w| !w.is_empty())
                        .unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        out.push_str(&output::table_fit(
            &["TIME", "SUBJECT", "CHANGE", "REASON"],
            &rows,
            WIDTH,
            12,
            st,
        ));
    }
    let mut footer = match events.len() {
        0 => "no events".to_string(),
        1 => "1 event".to_string(),
        n => format!("{n} events"),
    };
    if let Some(s) = subject {
        let _ = write!(footer, " about {s}");
    }
    if let Some(t) = since {
        let _ = write!(footer, " since {}", output::short_time(&t.to_string(), now));
    }
    if events.len() >= limit as usize && limit > 0 {
        let _ = write!(footer, "; the newest {limit} (--limit for more)");
    }
    let _ = writeln!(out, "{footer}");
    output::clip(&out, WIDTH, st)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> jiff::Timestamp {
        "2026-11-29T01:26:00Z".parse().expect("time")
    }

    #[test]
    fn since_takes_durations_dates_and_times() {
        let p = |t: &str| parse_since(t, now()).map(|t| t.to_string());
        assert_eq!(p("24h").as_deref(), Ok("2026-11-28T01:26:00Z"));
        assert_eq!(p("90m").as_deref(), Ok("2026-11-28T23:56:00Z"));
        assert_eq!(p("7d").as_deref(), Ok("2026-11-22T01:26:00Z"));
        assert_eq!(p("2026-11-28").as_deref(), Ok("2026-11-28T00:00:00Z"));
        assert_eq!(
            p("2026-11-28T10:00:00Z").as_deref(),
            Ok("2026-11-28T10:00:00Z")
        );
        assert_eq!(
            p("2026-11-28T11:00:00+01:00").as_deref(),
            Ok("2026-11-28T10:00:00Z")
        );
        assert!(
            p("yesterday")
                .expect_err("not understood")
                .contains("a duration back from now")
        );
        assert!(
            p("2026-11-28T10:00:00")
                .expect_err("no offset")
                .contains("2026-11-28T10:00:00Z for UTC")
        );
        assert!(p("12").is_err());
    }

    fn event(at: &str, subject: &str, old: Option<&str>, new: &str, reason: Option<&str>) -> Event {
        Event {
            at: at.into(),
            subject_kind: "line".into(),
            subject: subject.into(),
            old_state: old.map(str::to_string),
            new_state: new.into(),
            reason: reason.map(str::to_string),
            detail: None,
        }
    }

    #[test]
    fn the_events_table_fits_and_says_what_it_covers() {
        let events = vec![
            event(
                "2026-11-28T22:14:05Z",
                "L-00042",
                Some("up"),
                "down",
                Some("LOS"),
            ),
            event(
                "2026-11-28T21:00:00Z",
                "olt-bordes/gpon_1/1/3",
                None,
                "up",
                Some("link"),
            ),
            event(
                "2026-11-28T20:00:00Z",
                "L-00043",
                Some("up"),
                "degraded",
                Some(&"rx -28.40 dBm below -27.0 ".repeat(5)),
            ),
        ];
        let since = parse_since("24h", now()).ok();
        let text = text(&events, since, None, 3, now(), Style::PLAIN);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0], "TIME          SUBJECT                CHANGE         REASON",
            "{text}"
        );
        assert_eq!(
            lines[1], "11-28 22:14Z  L-00042                up → down      LOS",
            "{text}"
        );
        assert_eq!(
            lines[2], "11-28 21:00Z  olt-bordes/gpon_1/1/3  - → up         link",
            "{text}"
        );
        assert!(lines[3].ends_with('…'), "{text}");
        assert_eq!(
            lines[4],
            "3 events since 11-28 01:26Z; the newest 3 (--limit for more)"
        );
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        let none = super::text(&[], None, Some("L-00042"), 50, now(), Style::PLAIN);
        assert_eq!(none, "no events about L-00042\n");
    }
}
