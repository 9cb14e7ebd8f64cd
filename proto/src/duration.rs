//! Durations as people write them, in the config file and on the command line: `500ms`,
//! `30s`, `5m`, `6h`, `35d`, `2w`, `1y`, and compounds such as `1h30m`. One grammar for both.

use std::time::Duration;

/// The units, their names and their size in milliseconds. A year is 365 days (retention
/// periods only).
const UNITS: &[(&[&str], u64)] = &[
    (&["ms"], 1),
    (&["s", "sec"], 1_000),
    (&["m", "min"], 60_000),
    (&["h"], 3_600_000),
    (&["d"], 86_400_000),
    (&["w"], 7 * 86_400_000),
    (&["y"], 365 * 86_400_000),
];

/// Parses a duration such as `90s`, `6h` or `1h30m`: numbers each followed by a unit (ms, s,
/// m, h, d, w, y), added up. Every mistake says what to write instead.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(format!(
            "\"{text}\" is not a duration: write it as 30s, 5m, 6h, 35d..."
        ));
    }
    let mut total: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "\"{text}\" does not start with a number: write it as 30s, 5m, 6h..."
            ));
        }
        let number = &rest[..digits];
        let n: u64 = number
            .parse()
            .map_err(|_| format!("\"{text}\": {number} is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        rest = rest[unit_len..].trim_start();
        let size = match UNITS.iter().find(|(names, _)| names.contains(&unit)) {
            Some((_, size)) => *size,
            None if unit.is_empty() => {
                return Err(format!(
                    "\"{text}\" has no unit: add a unit (ms, s, m, h, d, w or y), e.g. {n}s"
                ));
            }
            None => {
                return Err(format!(
                    "\"{text}\": unknown unit \"{unit}\" (use ms, s, m, h, d, w or y)"
                ));
            }
        };
        total = n
            .checked_mul(size)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| format!("\"{text}\" is too large"))?;
    }
    Ok(Duration::from_millis(total))
}

/// Formats a duration the way `parse_duration` reads it, with the largest exact unit.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    for (unit, size) in [
        ("d", 86_400_000u128),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_usual_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("6h"), Ok(Duration::from_secs(6 * 3600)));
        assert_eq!(parse_duration("35d"), Ok(Duration::from_secs(35 * 86400)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(14 * 86400)));
        assert_eq!(parse_duration("1y"), Ok(Duration::from_secs(365 * 86400)));
        assert!(
            parse_duration("30")
                .expect_err("must fail")
                .contains("no unit")
        );
        assert!(
            parse_duration("s")
                .expect_err("must fail")
                .contains("number")
        );
        assert!(
            parse_duration("3 fortnights")
                .expect_err("must fail")
                .contains("unknown unit")
        );
        assert!(parse_duration("99999999999999999999s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn reads_compounds_as_the_cli_always_did() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(
            parse_duration("1m30s500ms"),
            Ok(Duration::from_millis(90_500))
        );
        assert!(
            parse_duration("1h30")
                .expect_err("must fail")
                .contains("no unit")
        );
        assert!(parse_duration("18446744073709551615d1s").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,20}") {
            let _ = parse_duration(&s);
        }

        #[test]
        fn format_then_parse_is_identity(ms in 0u64..10_000_000_000) {
            let d = Duration::from_millis(ms);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}
