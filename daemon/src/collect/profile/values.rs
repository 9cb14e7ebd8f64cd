//! Reading raw SNMP values and row indexes: text, MACs, GPON serials, numbers through a
//! column's scale, counters, value maps. Pure: a sentinel, an unparsable value or an SNMP
//! exception is "no reading" (`None`), never a level; nothing here panics on what an agent
//! sent.

use std::collections::BTreeMap;

use super::model::*;
use crate::collect::observe::Counter;
use crate::collect::snmp::Value;

/// The parts an index decodes into.
#[derive(Debug, Default)]
pub(super) struct IndexParts {
    pub number: Option<u32>,
    pub port: Option<u32>,
    pub onu: Option<u32>,
    pub text: Option<String>,
    pub mac: Option<String>,
}

pub(super) fn decode_index(kind: IndexKind, arcs: &[u32]) -> Result<IndexParts, String> {
    let mut p = IndexParts::default();
    match kind {
        IndexKind::Any => {}
        IndexKind::IfIndex | IndexKind::Integer => match arcs {
            [n] => p.number = Some(*n),
            _ => return Err("expected one arc".into()),
        },
        IndexKind::PonOnu => match arcs {
            [port, onu] => {
                p.port = Some(*port);
                p.onu = Some(*onu);
            }
            _ => return Err("expected two arcs (port.onu)".into()),
        },
        IndexKind::LengthPrefixedString => {
            let (len, rest) = arcs.split_first().ok_or("empty index")?;
            if *len as usize != rest.len() {
                return Err(format!("length {len} but {} characters", rest.len()));
            }
            let bytes: Option<Vec<u8>> = rest.iter().map(|a| u8::try_from(*a).ok()).collect();
            let bytes = bytes.ok_or("an arc above 255 in a string index")?;
            p.text = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        IndexKind::Mac => {
            if arcs.len() < 6 {
                return Err("expected six arcs (a MAC address)".into());
            }
            let bytes: Option<Vec<u8>> = arcs[..6].iter().map(|a| u8::try_from(*a).ok()).collect();
            p.mac = Some(format_mac(&bytes.ok_or("an arc above 255 in a MAC index")?));
        }
        IndexKind::Path => {
            if arcs.is_empty() {
                return Err("empty index".into());
            }
            p.text = Some(
                arcs.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        }
    }
    Ok(p)
}

pub fn format_mac(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A MAC from a value: six raw octets, or text such as "AA:BB:CC:DD:EE:F1" / "aabb.ccdd.eef1".
pub fn mac_of(v: &Value) -> Option<String> {
    let Value::Bytes(b) = v else { return None };
    if b.len() == 6 {
        return Some(format_mac(b));
    }
    let text = std::str::from_utf8(b).ok()?;
    let hex: String = text.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let separators_ok = text
        .chars()
        .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '-' | '.' | ' '));
    if hex.len() != 12 || !separators_ok {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..6)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect();
    bytes.map(|b| format_mac(&b))
}

/// A GPON serial: 4 vendor letters then 4 binary octets ("HWTC" 1A 2B 3C 4D), shown as
/// OLT CLIs show it, "HWTC1A2B3C4D"; anything else as text.
pub fn gpon_serial_of(v: &Value) -> Option<String> {
    if let Value::Bytes(b) = v
        && b.len() == 8
        && b[..4].iter().all(u8::is_ascii_alphanumeric)
    {
        let vendor: String = b[..4].iter().map(|c| *c as char).collect();
        let tail: String = b[4..].iter().map(|x| format!("{x:02X}")).collect();
        return Some(format!("{vendor}{tail}"));
    }
    text_of(v)
}

/// A label's text: printable, trimmed; empty means none.
pub(super) fn text_of(v: &Value) -> Option<String> {
    let t = match v {
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Integer(i) => i.to_string(),
        Value::Counter32(n) | Value::Gauge32(n) | Value::TimeTicks(n) => n.to_string(),
        Value::Counter64(n) => n.to_string(),
        Value::IpAddress(a) => format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]),
        Value::Oid(o) => o.to_string(),
        _ => return None,
    };
    let t: String = t.chars().filter(|c| !c.is_control()).collect();
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The raw number in a value, before scaling: integers as they are, strings through the
/// column's pattern (or whole, when they are a plain number).
fn raw_number(v: &Value, scale: &Scale) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Counter32(n) | Value::Gauge32(n) | Value::TimeTicks(n) => Some(*n as f64),
        Value::Counter64(n) => Some(*n as f64),
        Value::Bytes(b) => {
            let text = std::str::from_utf8(b).ok()?;
            let number = match &scale.pattern {
                Some(re) => re.captures(text)?.get(1)?.as_str(),
                None => text.trim(),
            };
            number.trim().parse::<f64>().ok().filter(|x| x.is_finite())
        }
        _ => None,
    }
}

/// A reading after sentinels, range, scale and conversion; `None` = no reading.
pub fn reading(v: &Value, scale: &Scale) -> Option<f64> {
    let raw = raw_number(v, scale)?;
    if raw.fract() == 0.0 && scale.no_reading.iter().any(|s| *s as f64 == raw) {
        return None;
    }
    if let Some((lo, hi)) = scale.valid_range
        && (raw < lo || raw > hi)
    {
        return None;
    }
    let x = (raw + scale.offset) / scale.divisor * scale.multiplier;
    let x = match scale.convert {
        Convert::None => x,
        Convert::MwToDbm if x > 0.0 => 10.0 * x.log10(),
        Convert::UwToDbm if x > 0.0 => 10.0 * (x / 1000.0).log10(),
        _ => return None,
    };
    x.is_finite().then_some(x)
}

pub(super) fn counter_of(v: &Value, scale: &Scale) -> Option<Counter> {
    let c = match v {
        Value::Counter64(n) => Counter::C64(*n),
        Value::Counter32(n) | Value::Gauge32(n) => Counter::C32(*n),
        Value::Integer(i) => Counter::C32(u32::try_from(*i).ok()?),
        _ => return None,
    };
    if scale
        .no_reading
        .iter()
        .any(|s| u64::try_from(*s).ok() == Some(c.value()))
    {
        return None;
    }
    Some(c)
}

pub(super) fn mapped_of(v: &Value, map: &BTreeMap<String, Mapped>) -> Option<Mapped> {
    let key = match v {
        Value::Integer(i) => i.to_string(),
        Value::Gauge32(n) | Value::Counter32(n) => n.to_string(),
        Value::Bytes(_) => text_of(v)?,
        _ => return None,
    };
    map.get(&key).copied()
}
