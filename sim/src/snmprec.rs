//! Parser for snmpsim's `.snmprec` recordings: one `OID|tag|value` per line.
//!
//! Tags: 2 Integer32, 4 OCTET STRING, 5 Null, 6 OID, 64 IpAddress, 65 Counter32,
//! 66 Gauge32, 67 TimeTicks, 68 Opaque, 70 Counter64. A tag suffix `x` means the value
//! is hex-encoded, `e` means it is a Python-style escaped string (`\xNN`, `\\`, `\n`...).
//!
//! Recordings are outside input and contain defects (non-numeric Counter64 values,
//! duplicated OIDs, rows out of order). The parser never panics: a bad line becomes a
//! [`Warning`] with its line number and is skipped; duplicates keep the first value.

use std::collections::BTreeMap;
use std::fmt;

use async_snmp::{Oid, Value};

/// A parsed recording: every valid row, sorted by OID, plus what was skipped and why.
#[derive(Debug, Clone, Default)]
pub struct Snmprec {
    /// OID -> value, in lexicographic OID order (the order GETNEXT walks).
    pub entries: BTreeMap<Oid, Value>,
    /// One warning per skipped or suspicious line.
    pub warnings: Vec<Warning>,
}

/// A problem found on one line of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line number in the recording.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parse a whole recording. Never fails: bad lines are reported in `warnings`.
pub fn parse(text: &str) -> Snmprec {
    let mut out = Snmprec::default();
    let mut previous: Option<Oid> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Ok((oid, value)) => {
                if let Some(prev) = &previous
                    && &oid <= prev
                    && !out.entries.contains_key(&oid)
                {
                    out.warnings.push(Warning {
                        line: line_no,
                        message: format!("{oid} is out of order (after {prev}); served sorted"),
                    });
                }
                match out.entries.entry(oid) {
                    std::collections::btree_map::Entry::Occupied(e) => {
                        out.warnings.push(Warning {
                            line: line_no,
                            message: format!("duplicate OID {}; first value kept", e.key()),
                        });
                    }
                    std::collections::btree_map::Entry::Vacant(e) => {
                        previous = Some(e.key().clone());
                        e.insert(value);
                    }
                }
            }
            Err(message) => out.warnings.push(Warning {
                line: line_no,
                message,
            }),
        }
    }
    out
}

/// Parse one `OID|tag|value` line.
pub fn parse_line(line: &str) -> Result<(Oid, Value), String> {
    let mut parts = line.splitn(3, '|');
    let (Some(oid_text), Some(tag_text), Some(value_text)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err("expected OID|tag|value".to_owned());
    };
    let oid = parse_oid(oid_text.trim())?;
    let tag_text = tag_text.trim();
    let (tag, encoding) = match tag_text.as_bytes().last() {
        Some(b'x') => (&tag_text[..tag_text.len() - 1], Encoding::Hex),
        Some(b'e') => (&tag_text[..tag_text.len() - 1], Encoding::Escaped),
        _ => (tag_text, Encoding::Plain),
    };
    let tag: u8 = tag
        .parse()
        .map_err(|_| format!("{oid}: unknown tag {tag_text:?}"))?;
    let bytes = match encoding {
        Encoding::Plain => value_text.as_bytes().to_vec(),
        Encoding::Hex => decode_hex(value_text.trim())
            .ok_or_else(|| format!("{oid}: tag {tag_text}: invalid hex value"))?,
        Encoding::Escaped => unescape(value_text),
    };
    let value =
        make_value(tag, &bytes, encoding).map_err(|why| format!("{oid}: tag {tag_text}: {why}"))?;
    Ok((oid, value))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Plain,
    Hex,
    Escaped,
}

fn parse_oid(text: &str) -> Result<Oid, String> {
    let oid = Oid::parse(text).map_err(|_| format!("invalid OID {text:?}"))?;
    if oid.validate_for_wire().is_err() {
        return Err(format!("OID {text:?} cannot be sent on the wire"));
    }
    Ok(oid)
}

fn make_value(tag: u8, bytes: &[u8], encoding: Encoding) -> Result<Value, String> {
    // Numeric types are written in decimal; a hex encoding of them is the big-endian number.
    let text = || -> Result<&str, String> {
        std::str::from_utf8(bytes)
            .map(str::trim)
            .map_err(|_| "value is not text".to_owned())
    };
    let unsigned = |max: u64| -> Result<u64, String> {
        let n = if encoding == Encoding::Hex {
            if bytes.len() > 8 {
                return Err("number too long".to_owned());
            }
            bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
        } else {
            let t = text()?;
            t.parse::<u64>()
                .map_err(|_| format!("{t:?} is not an unsigned number"))?
        };
        if n > max {
            return Err(format!("{n} out of range"));
        }
        Ok(n)
    };
    let u32_value = || unsigned(u64::from(u32::MAX)).map(|n| n as u32);
    Ok(match tag {
        2 => {
            let t = text()?;
            Value::Integer(
                t.parse::<i32>()
                    .map_err(|_| format!("{t:?} is not an Integer32"))?,
            )
        }
        4 => Value::from(bytes),
        5 => Value::Null,
        6 => {
            let t = text()?;
            Value::ObjectIdentifier(parse_oid(t)?)
        }
        64 => {
            if encoding == Encoding::Hex {
                let ip: [u8; 4] = bytes
                    .try_into()
                    .map_err(|_| "IpAddress needs 4 octets".to_owned())?;
                Value::IpAddress(ip)
            } else {
                let t = text()?;
                let ip: std::net::Ipv4Addr = t
                    .parse()
                    .map_err(|_| format!("{t:?} is not an IPv4 address"))?;
                Value::IpAddress(ip.octets())
            }
        }
        65 => Value::Counter32(u32_value()?),
        66 => Value::Gauge32(u32_value()?),
        67 => Value::TimeTicks(u32_value()?),
        68 => Value::Opaque(bytes.to_vec().into()),
        70 => Value::Counter64(unsigned(u64::MAX)?),
        other => return Err(format!("unsupported tag {other}")),
    })
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

/// Undo snmpsim's escaping (Python string-literal escapes, as written by `repr()`).
/// An unknown escape keeps its backslash, as Python does.
fn unescape(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        let simple = match c {
            b'\\' => Some(b'\\'),
            b'\'' => Some(b'\''),
            b'"' => Some(b'"'),
            b'a' => Some(7),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(11),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            i += 2;
        } else if c == b'x'
            && let Some(hex) = b.get(i + 2..i + 4)
            && let Some(v) = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 4;
        } else if (b'0'..=b'7').contains(&c) {
            let mut v: u32 = 0;
            let mut j = i + 1;
            while j < b.len() && j < i + 4 && (b'0'..=b'7').contains(&b[j]) {
                v = v * 8 + u32::from(b[j] - b'0');
                j += 1;
            }
            out.push((v & 0xff) as u8);
            i = j;
        } else {
            out.push(b'\\');
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(s: &str) -> Oid {
        Oid::parse(s).expect("test OID")
    }

    #[test]
    fn parses_every_tag() {
        let text = "1.3.6.1.2.1.1.1.0|4|Linux box|with pipe\n\
                    1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10\n\
                    1.3.6.1.2.1.1.3.0|67|123456\n\
                    1.3.6.1.2.1.2.1.0|2|-5\n\
                    1.3.6.1.2.1.2.2.1.6.1|4x|00aabb\n\
                    1.3.6.1.2.1.2.2.1.10.1|65|4294967295\n\
                    1.3.6.1.2.1.2.2.1.5.1|66|1000\n\
                    1.3.6.1.2.1.4.20.1.1.10.0.0.1|64|10.0.0.1\n\
                    1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551615\n\
                    1.3.6.1.2.1.33.1.2.6.0|5|\n\
                    1.3.6.1.2.1.1.4.0|4e|\\\\\"a\\x00\\n\n";
        let rec = parse(text);
        // The sample is deliberately not sorted: only order warnings, every row kept.
        assert!(
            rec.warnings
                .iter()
                .all(|w| w.message.contains("out of order")),
            "{:?}",
            rec.warnings
        );
        assert_eq!(rec.entries.len(), 11);
        assert_eq!(
            rec.entries[&oid("1.3.6.1.2.1.1.1.0")],
            Value::from("Linux box|with pipe")
        );
        assert_eq!(rec.entries[&oid("1.3.6.1.2.1.2.1.0")], Value::Integer(-5));
        assert_eq!(
            rec.entries[&oid("1.3.6.1.2.1.2.2.1.6.1")],
            Value::from(&[0u8, 0xaa, 0xbb][..])
        );
        assert_eq!(
            rec.entries[&oid("1.3.6.1.2.1.31.1.1.1.6.1")],
            Value::Counter64(u64::MAX)
        );
        assert_eq!(
            rec.entries[&oid("1.3.6.1.2.1.4.20.1.1.10.0.0.1")],
            Value::IpAddress([10, 0, 0, 1])
        );
        assert_eq!(
            rec.entries[&oid("1.3.6.1.2.1.1.4.0")],
            Value::from(&b"\\\"a\x00\n"[..])
        );
    }

    #[test]
    fn bad_lines_are_reported_with_their_number_and_skipped() {
        let text = "1.3.6.1.2.1.1.5.0|4|ok\n\
                    1.3.6.1.2.1.31.1.1.1.6.1|70|aabbccddeef4\n\
                    garbage\n\
                    1.3.6.1.2.1.1.5.0|4|duplicate\n\
                    1.3.6.1.2.1.1.1.0|4|out of order\n\
                    1.3.6.1.2.1.1.7.0|99|7\n";
        let rec = parse(text);
        assert_eq!(rec.entries.len(), 2);
        assert_eq!(rec.entries[&oid("1.3.6.1.2.1.1.5.0")], Value::from("ok"));
        let lines: Vec<usize> = rec.warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6], "{:?}", rec.warnings);
        // The sorted map serves the out-of-order row before the one recorded earlier.
        let first = rec.entries.keys().next().expect("one entry");
        assert_eq!(first, &oid("1.3.6.1.2.1.1.1.0"));
    }

    #[test]
    fn the_defective_recordings_parse_with_warnings() {
        let epmp = parse(crate::recordings::get("epmp_epmp-ap-connected-sta").expect("bundled"));
        assert!(
            epmp.warnings
                .iter()
                .any(|w| w.message.contains("aabbccddeef4"))
        );
        let zte = parse(crate::recordings::get("zxa10_c320").expect("bundled"));
        assert_eq!(
            zte.warnings
                .iter()
                .filter(|w| w.message.contains("duplicate"))
                .count(),
            3,
            "{:?}",
            zte.warnings
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in "\\PC{0,400}") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_line_shaped_input(
            oid in "[0-9.]{0,30}",
            tag in "[0-9]{0,3}[xe]?",
            value in "[ -~]{0,40}",
        ) {
            let _ = parse(&format!("{oid}|{tag}|{value}\n{oid}|{tag}|{value}"));
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse(&text);
        }
    }
}
