//! Our own OID and value types: what every reply is turned into, whatever the SNMP crate.

use std::fmt;

/// An object identifier, compared arc by arc (which is SNMP's lexicographic order).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Oid(Vec<u32>);

impl Oid {
    pub fn new(arcs: impl Into<Vec<u32>>) -> Oid {
        Oid(arcs.into())
    }

    /// Parses "1.3.6.1.2.1.1.3.0" (a leading dot is accepted).
    pub fn parse(text: &str) -> Result<Oid, String> {
        let t = text.strip_prefix('.').unwrap_or(text);
        if t.is_empty() {
            return Err(format!("\"{text}\" is not an OID"));
        }
        t.split('.')
            .map(|a| {
                a.parse::<u32>()
                    .map_err(|_| format!("\"{text}\" is not an OID"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Oid)
    }

    pub fn arcs(&self) -> &[u32] {
        &self.0
    }

    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The arcs after `prefix` (a table row's index), if `self` is under it.
    pub fn suffix_after(&self, prefix: &Oid) -> Option<&[u32]> {
        self.0.strip_prefix(prefix.0.as_slice())
    }

    pub fn child(&self, arcs: &[u32]) -> Oid {
        let mut v = Vec::with_capacity(self.0.len() + arcs.len());
        v.extend_from_slice(&self.0);
        v.extend_from_slice(arcs);
        Oid(v)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

/// A value as the agent sent it, in our own terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Integer(i32),
    Bytes(Vec<u8>),
    Oid(Oid),
    IpAddress([u8; 4]),
    Counter32(u32),
    Gauge32(u32),
    TimeTicks(u32),
    Counter64(u64),
    Null,
    /// Opaque, NSAP or a type this engine does not know: kept as a description.
    Other(String),
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
}

impl Value {
    /// Whether this is one of the v2 exceptions rather than a value.
    pub fn is_exception(&self) -> bool {
        matches!(
            self,
            Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView
        )
    }

    /// An unsigned reading of integer-like values.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Integer(v) => u64::try_from(v).ok(),
            Value::Counter32(v) | Value::Gauge32(v) | Value::TimeTicks(v) => Some(v as u64),
            Value::Counter64(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Integer(v) => Some(v as i64),
            Value::Counter32(v) | Value::Gauge32(v) | Value::TimeTicks(v) => Some(v as i64),
            Value::Counter64(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }

    /// Text of an OCTET STRING, invalid UTF-8 replaced (labels are for people).
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Value::Oid(o) => Some(o.to_string()),
            _ => None,
        }
    }
}
