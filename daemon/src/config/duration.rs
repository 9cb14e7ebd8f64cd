//! Durations as people write them in a config file: `500ms`, `30s`, `5m`, `6h`, `35d`, `2w`, `1y`.

use std::time::Duration;

/// Parses a duration such as `90s` or `6h`. A year is 365 days (retention periods only).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("\"{text}\" has no unit: write it as 30s, 5m, 6h, 35d..."))?;
    let (number, unit) = t.split_at(split);
    if number.is_empty() {
        return Err(format!(
            "\"{text}\" does not start with a number: write it as 30s, 5m, 6h..."
        ));
    }
    let n: u64 = number
        .parse()
        .map_err(|_| format!("\"{text}\": {number} is too large"))?;
    let unit_ms: u64 = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        "y" => 365 * 86_400_000,
        other => {
            return Err(format!(
                "\"{text}\": unknown unit \"{other}\" (use ms, s, m, h, d, w or y)"
            ));
        }
    };
    n.checked_mul(unit_ms)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("\"{text}\" is too large"))
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
