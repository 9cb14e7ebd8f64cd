//! Text output for people: fits an 80-column terminal, colour only on a terminal.

use std::io::IsTerminal;

/// Whether stdout is a terminal that wants colour (NO_COLOR respected).
pub fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Colours a line state word: green up, yellow degraded, red down, dim unknown.
pub fn state(word: &str) -> String {
    if !colour() {
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
fn visible_len(s: &str) -> usize {
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
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", units[u]) }
}

/// A duration for people: 3d 4h, 5h 12m, 42s.
pub fn duration(seconds: u64) -> String {
    let (d, h, m, s) = (seconds / 86400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
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
}
