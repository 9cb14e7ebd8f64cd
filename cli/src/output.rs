//! Text output for people: fits an 80-column terminal, colour only on a terminal.

use std::io::IsTerminal;

/// Whether stdout is a terminal that wants colour (NO_COLOR respected).
pub fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Whether the terminal takes UTF-8: false only when the locale (LC_ALL, LC_CTYPE, LANG, the
/// first one set) names another character set, e.g. `LANG=C`.
pub fn unicode() -> bool {
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty());
    match locale {
        None => true,
        Some(l) => {
            let l = l.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        }
    }
}

/// How to print for people: colour or not, UTF-8 or plain ASCII. Rendering functions take
/// it as a value, so that their output can be tested whatever the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub colour: bool,
    pub unicode: bool,
}

impl Style {
    /// No colour, UTF-8: what the tests compare against.
    pub const PLAIN: Style = Style {
        colour: false,
        unicode: true,
    };

    /// What stdout and the locale allow.
    pub fn detect() -> Style {
        Style {
            colour: colour(),
            unicode: unicode(),
        }
    }

    /// Colours a state word: green up, yellow degraded or flapping, red down, dim unknown.
    pub fn state(self, word: &str) -> String {
        if !self.colour {
            return word.to_string();
        }
        let code = match word {
            "up" | "reachable" => "32",
            "degraded" | "flapping" => "33",
            "down" | "unreachable" => "31",
            _ => "2",
        };
        format!("\x1b[{code}m{word}\x1b[0m")
    }

    /// Green for better, red for worse; plain without colour.
    pub fn better_worse(self, text: &str, better: Option<bool>) -> String {
        match (self.colour, better) {
            (true, Some(true)) => format!("\x1b[32m{text}\x1b[0m"),
            (true, Some(false)) => format!("\x1b[31m{text}\x1b[0m"),
            _ => text.to_string(),
        }
    }

    /// "old → new", each state coloured.
    pub fn change(self, old: Option<&str>, new: &str) -> String {
        format!(
            "{} {} {}",
            self.state(old.unwrap_or("-")),
            self.arrow(),
            self.state(new)
        )
    }

    pub fn arrow(self) -> &'static str {
        if self.unicode { "→" } else { "->" }
    }

    /// Cuts text to `max` characters in its middle, keeping its end (where an ONU id is).
    pub fn cut_middle(self, s: &str, max: usize) -> String {
        let n = s.chars().count();
        if n <= max {
            return s.to_string();
        }
        let mark = if self.unicode { "…" } else { "~" };
        let keep = max.saturating_sub(1);
        let head = keep / 3;
        let tail = keep - head;
        let mut out: String = s.chars().take(head).collect();
        out.push_str(mark);
        out.extend(s.chars().skip(n - tail));
        out
    }

    /// Cuts text to `max` characters, marking the cut.
    pub fn cut(self, s: &str, max: usize) -> String {
        if s.chars().count() <= max {
            return s.to_string();
        }
        let mark = if self.unicode { "…" } else { "~" };
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push_str(mark);
        out
    }
}

/// Colours a line state word for stdout: green up, yellow degraded, red down, dim unknown.
pub fn state(word: &str) -> String {
    Style::detect().state(word)
}

/// Cuts a cell to `max` characters (an ellipsis marks the cut): tables stay within 80 columns.
pub fn cut(s: &str, max: usize) -> String {
    Style::PLAIN.cut(s, max)
}

/// The terminal width the text output is made for.
pub const WIDTH: usize = 80;

/// Cuts every line of `text` to `width` visible characters (colour codes kept and closed).
pub fn clip(text: &str, width: usize, style: Style) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        if visible_len(body) <= width {
            out.push_str(body);
        } else {
            let mut shown = 0;
            let mut in_escape = false;
            let mut coloured = false;
            for c in body.chars() {
                match (in_escape, c) {
                    (false, '\x1b') => {
                        in_escape = true;
                        coloured = true;
                        out.push(c);
                    }
                    (true, 'm') => {
                        in_escape = false;
                        out.push(c);
                    }
                    (true, _) => out.push(c),
                    (false, _) => {
                        if shown + 1 >= width {
                            break;
                        }
                        out.push(c);
                        shown += 1;
                    }
                }
            }
            out.push_str(if style.unicode { "…" } else { "~" });
            if coloured {
                out.push_str("\x1b[0m");
            }
        }
        out.push_str(nl);
    }
    out
}

/// A plain table: columns padded to their widest cell, the last column left free.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let n = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(n) {
            widths[i] = widths[i].max(visible_len(cell));
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: Vec<String>| {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 < n {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[i] - visible_len(cell) + 2));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(headers.iter().map(|h| h.to_string()).collect());
    for row in rows {
        push_row(row.clone());
    }
    out
}

/// Length without ANSI colour codes.
pub fn visible_len(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

/// Bytes for people: 1.2 MiB.
pub fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// A duration for people: 3d 4h, 5h 12m, 42s.
pub fn duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

/// Pads `s` with spaces to `width` visible characters (colour codes do not count).
pub fn pad(s: &str, width: usize) -> String {
    let n = visible_len(s);
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

/// A table cut to `width` columns: the last column (a free text) gets what the others leave,
/// at least `min_last` characters; a line still too long is cut at the edge.
pub fn table_fit(
    headers: &[&str],
    rows: &[Vec<String>],
    width: usize,
    min_last: usize,
    style: Style,
) -> String {
    let n = headers.len();
    if n == 0 {
        return String::new();
    }
    let used: usize = headers[..n - 1]
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let w = rows
                .iter()
                .filter_map(|r| r.get(i))
                .map(|c| visible_len(c))
                .chain([h.chars().count()])
                .max();
            w.unwrap_or(0) + 2
        })
        .sum();
    let room = width.saturating_sub(used).max(min_last);
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if let Some(last) = r.get_mut(n - 1) {
                *last = style.cut(last, room);
            }
            r
        })
        .collect();
    clip(&table(headers, &rows), width, style)
}

/// A text sparkline of `values` (oldest first) scaled between `min` and `max`: ▁ at the
/// minimum, █ at the maximum; `·` for a slot without a value. A range under `min_span` is
/// drawn around its middle, so that noise of a few hundredths does not look like a cliff.
/// ASCII (`_.-=+*#@`, a space for no value) when the terminal is not UTF-8.
pub fn sparkline(
    values: &[Option<f64>],
    min: f64,
    max: f64,
    min_span: f64,
    style: Style,
) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    const ASCII: [char; 8] = ['_', '.', '-', '=', '+', '*', '#', '@'];
    let (lo, hi) = if max - min < min_span {
        let mid = (min + max) / 2.0;
        (mid - min_span / 2.0, mid + min_span / 2.0)
    } else {
        (min, max)
    };
    values
        .iter()
        .map(|v| match v {
            Some(v) if v.is_finite() && hi > lo => {
                let i = (((v - lo) / (hi - lo)) * 7.0).round().clamp(0.0, 7.0) as usize;
                if style.unicode { BARS[i] } else { ASCII[i] }
            }
            Some(_) => {
                if style.unicode {
                    BARS[3]
                } else {
                    ASCII[3]
                }
            }
            None => {
                if style.unicode {
                    '·'
                } else {
                    ' '
                }
            }
        })
        .collect()
}

/// Bits per second for people: 850 b/s, 12.3 kb/s, 123 Mb/s, 1.25 Gb/s (decimal units).
pub fn rate(bps: f64) -> String {
    if !bps.is_finite() || bps < 0.0 {
        return "-".to_string();
    }
    let units = [("b/s", 1.0), ("kb/s", 1e3), ("Mb/s", 1e6), ("Gb/s", 1e9)];
    let (unit, scale) = units
        .iter()
        .rev()
        .find(|(_, s)| bps >= *s)
        .copied()
        .unwrap_or(units[0]);
    let v = bps / scale;
    if scale == 1.0 {
        format!("{v:.0} {unit}")
    } else if v < 10.0 {
        format!("{v:.2} {unit}")
    } else if v < 100.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.0} {unit}")
    }
}

/// An RFC 3339 time, short, in UTC: "11-28 22:14Z" within the year of `now`, else
/// "2025-11-28 22:14Z". Text that is not a time is given back as it is.
pub fn short_time(at: &str, now: jiff::Timestamp) -> String {
    let Ok(t) = at.parse::<jiff::Timestamp>() else {
        return at.to_string();
    };
    let utc = jiff::tz::TimeZone::UTC;
    let year = |t: jiff::Timestamp| t.to_zoned_datetime(utc.clone()).year();
    if year(t) == year(now) {
        t.strftime("%m-%d %H:%MZ").to_string()
    } else {
        t.strftime("%Y-%m-%d %H:%MZ").to_string()
    }
}

/// Seconds from an RFC 3339 time to `now` (0 for a time in the future).
pub fn seconds_since(at: &str, now: jiff::Timestamp) -> Option<u64> {
    let t = at.parse::<jiff::Timestamp>().ok()?;
    Some((now.as_second() - t.as_second()).max(0) as u64)
}

/// "12s ago" from an RFC 3339 time; "never" without one.
pub fn ago(at: Option<&str>, now: jiff::Timestamp) -> String {
    match at.and_then(|a| seconds_since(a, now)) {
        Some(s) => format!("{} ago", duration(s)),
        None => "never".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_columns() {
        let t = table(&["A", "BB"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(t, "A    BB\nxxx  y\n");
    }

    #[test]
    fn human_units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(duration(93784), "1d 2h");
        assert_eq!(duration(42), "42s");
    }

    #[test]
    fn sparkline_scales_between_min_and_max() {
        let v = [Some(-25.0), Some(-21.0), None, Some(-23.0)];
        assert_eq!(sparkline(&v, -25.0, -21.0, 1.0, Style::PLAIN), "▁█·▅");
        let ascii = Style {
            colour: false,
            unicode: false,
        };
        assert_eq!(sparkline(&v, -25.0, -21.0, 1.0, ascii), "_@ +");
        // A flat day is drawn flat, in the middle.
        let flat = [Some(-22.01), Some(-22.0), Some(-22.02)];
        let s = sparkline(&flat, -22.02, -22.0, 1.0, Style::PLAIN);
        assert!(s.chars().all(|c| c == '▄' || c == '▅'), "{s}");
        assert_eq!(
            sparkline(&[None; 24], 0.0, 0.0, 1.0, Style::PLAIN)
                .chars()
                .count(),
            24
        );
    }

    #[test]
    fn rates_in_decimal_units() {
        assert_eq!(rate(850.0), "850 b/s");
        assert_eq!(rate(12_345.0), "12.3 kb/s");
        assert_eq!(rate(1_234_567.0), "1.23 Mb/s");
        assert_eq!(rate(123_456_789.0), "123 Mb/s");
        assert_eq!(rate(2_500_000_000.0), "2.50 Gb/s");
        assert_eq!(rate(0.0), "0 b/s");
    }

    #[test]
    fn short_times_and_ages() {
        let now: jiff::Timestamp = "2026-11-29T01:26:00Z".parse().expect("time");
        assert_eq!(short_time("2026-11-28T22:14:05Z", now), "11-28 22:14Z");
        assert_eq!(short_time("2025-11-28T22:14:05Z", now), "2025-11-28 22:14Z");
        assert_eq!(short_time("garbage", now), "garbage");
        assert_eq!(ago(Some("2026-11-28T22:14:00Z"), now), "3h 12m ago");
        assert_eq!(ago(None, now), "never");
    }

    #[test]
    fn durations_typed_by_people() {
        // The one grammar of config and command line (`coopnoc_proto::duration`).
        use coopnoc_proto::parse_duration;
        use std::time::Duration;
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert!(
            parse_duration("12")
                .expect_err("no unit")
                .contains("add a unit")
        );
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
        // Weeks, as the config always read them (one grammar for both since issue 10).
        assert_eq!(parse_duration("3w"), Ok(Duration::from_secs(21 * 86400)));
    }

    #[test]
    fn clip_cuts_long_lines_and_keeps_colour_closed() {
        let st = Style {
            colour: true,
            unicode: true,
        };
        let long = format!("{} {}", st.state("down"), "x".repeat(100));
        let out = clip(&format!("{long}\nshort\n"), 20, st);
        let first = out.lines().next().expect("a line");
        assert_eq!(visible_len(first), 20, "{first:?}");
        assert!(first.ends_with("…\x1b[0m"), "{first:?}");
        assert!(out.ends_with("short\n"));
    }

    #[test]
    fn a_fitted_table_cuts_its_last_column() {
        let rows = vec![vec!["L-1".to_string(), "r".repeat(200)]];
        let t = table_fit(&["LINE", "REASON"], &rows, 30, 10, Style::PLAIN);
        assert!(t.lines().all(|l| l.chars().count() <= 30), "{t}");
        assert!(t.contains('…'));
    }

    #[test]
    fn no_colour_codes_without_colour() {
        let st = Style::PLAIN;
        assert_eq!(st.state("down"), "down");
        assert_eq!(st.change(Some("up"), "down"), "up → down");
        assert_eq!(
            Style {
                colour: false,
                unicode: false
            }
            .change(None, "up"),
            "- -> up"
        );
        assert!(
            Style {
                colour: true,
                unicode: true
            }
            .state("down")
            .contains('\x1b')
        );
        assert_eq!(
            st.cut_middle("olt-forge-nord gpon-onu_1/1/3:12", 24),
            "olt-for…pon-onu_1/1/3:12"
        );
        assert_eq!(st.cut_middle("short", 24), "short");
    }
}
