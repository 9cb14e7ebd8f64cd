//! Helpers for the sim's tests: run net-snmp's tools (a real, independent SNMP
//! implementation) against the simulated agents and parse what they print.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use async_snmp::Value;

/// A value as net-snmp prints it with `-On -Oe -Ot -Ox`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Printed {
    Integer(i64),
    Octets(Vec<u8>),
    Oid(String),
    Ip([u8; 4]),
    Counter32(u64),
    Gauge32(u64),
    TimeTicks(u64),
    Counter64(u64),
    Null,
    Other(String),
}

impl Printed {
    pub fn from_value(v: &Value) -> Printed {
        match v {
            Value::Integer(i) => Printed::Integer(i64::from(*i)),
            Value::OctetString(b) => Printed::Octets(b.to_vec()),
            Value::ObjectIdentifier(o) => Printed::Oid(format!(".{o}")),
            Value::IpAddress(ip) => Printed::Ip(*ip),
            Value::Counter32(n) => Printed::Counter32(u64::from(*n)),
            Value::Gauge32(n) => Printed::Gauge32(u64::from(*n)),
            Value::TimeTicks(n) => Printed::TimeTicks(u64::from(*n)),
            Value::Counter64(n) => Printed::Counter64(*n),
            Value::Null => Printed::Null,
            other => Printed::Other(format!("{other:?}")),
        }
    }

    pub fn number(&self) -> Option<u64> {
        match self {
            Printed::Counter32(n)
            | Printed::Gauge32(n)
            | Printed::TimeTicks(n)
            | Printed::Counter64(n) => Some(*n),
            Printed::Integer(i) => u64::try_from(*i).ok(),
            _ => None,
        }
    }

    pub fn text(&self) -> Option<String> {
        match self {
            Printed::Octets(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

/// Whether net-snmp's tools are installed; tests print why they skip if not.
pub fn have_net_snmp() -> bool {
    let ok = Path::new("/usr/bin/snmpbulkwalk").exists() && Path::new("/usr/bin/snmpget").exists();
    if !ok {
        eprintln!(
            "SKIPPED: net-snmp tools (/usr/bin/snmpbulkwalk, snmpget; Debian package `snmp`) are not installed"
        );
    }
    ok
}

const FORMAT: [&str; 6] = ["-m", "", "-On", "-Oe", "-Ot", "-Ox"];

/// `snmpbulkwalk -v2c` of `root`; returns the rows and stderr.
pub fn bulkwalk(
    addr: SocketAddr,
    community: &str,
    root: &str,
    reps: u32,
) -> (Vec<(String, Printed)>, String) {
    let out = Command::new("snmpbulkwalk")
        .args(FORMAT)
        .args(["-v2c", "-c", community, "-t", "5", "-r", "1"])
        .arg(format!("-Cr{reps}"))
        .arg(addr.to_string())
        .arg(root)
        .output()
        .expect("run snmpbulkwalk");
    (
        parse_output(&String::from_utf8_lossy(&out.stdout)),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `snmpget` with extra arguments (version, credentials, timeouts); `None` on timeout or error.
pub fn get_with(addr: SocketAddr, args: &[&str], oids: &[&str]) -> Option<Vec<(String, Printed)>> {
    let out = Command::new("snmpget")
        .args(FORMAT)
        .args(args)
        .arg(addr.to_string())
        .args(oids)
        .output()
        .expect("run snmpget");
    if !out.status.success() {
        return None;
    }
    Some(parse_output(&String::from_utf8_lossy(&out.stdout)))
}

/// `snmpget -v2c`, panicking if there is no answer.
pub fn get(addr: SocketAddr, community: &str, oids: &[&str]) -> Vec<Printed> {
    get_with(addr, &["-v2c", "-c", community, "-t", "2", "-r", "1"], oids)
        .unwrap_or_else(|| panic!("no answer from {addr} for {oids:?}"))
        .into_iter()
        .map(|(_, v)| v)
        .collect()
}

/// Parse `OID = TYPE: value` lines; hex strings may continue on the following lines.
pub fn parse_output(text: &str) -> Vec<(String, Printed)> {
    let mut rows: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with('.') && line.contains(" = ") {
            let (oid, value) = line.split_once(" = ").expect("checked");
            rows.push((oid.to_owned(), value.to_owned()));
        } else if let Some(last) = rows.last_mut()
            && last.1.starts_with("Hex-STRING:")
            && line
                .split_whitespace()
                .all(|t| t.len() == 2 && u8::from_str_radix(t, 16).is_ok())
        {
            // A long hex string continues on the next lines; anything else (an error
            // report at the end of a v1 walk) is not part of a value.
            last.1.push(' ');
            last.1.push_str(line);
        }
    }
    rows.into_iter()
        .filter(|(_, v)| !v.starts_with("No more variables") && !v.starts_with("No Such"))
        .map(|(oid, v)| (oid, parse_value(&v)))
        .collect()
}

fn parse_value(v: &str) -> Printed {
    let v = v.trim();
    let num = |s: &str| s.trim().parse::<u64>().ok();
    if v == "\"\"" {
        return Printed::Octets(Vec::new());
    }
    if let Some(hex) = v.strip_prefix("Hex-STRING:") {
        return Printed::Octets(
            hex.split_whitespace()
                .map(|h| u8::from_str_radix(h, 16).expect("hex byte"))
                .collect(),
        );
    }
    if let Some(s) = v.strip_prefix("STRING:") {
        let s = s.trim();
        let s = s
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(s);
        return Printed::Octets(s.as_bytes().to_vec());
    }
    if let Some(s) = v.strip_prefix("INTEGER:") {
        return s
            .trim()
            .parse()
            .map_or_else(|_| Printed::Other(v.to_owned()), Printed::Integer);
    }
    if let Some(s) = v.strip_prefix("OID:") {
        return Printed::Oid(s.trim().to_owned());
    }
    if let Some(s) = v.strip_prefix("IpAddress:") {
        let ip: std::net::Ipv4Addr = s.trim().parse().expect("ip");
        return Printed::Ip(ip.octets());
    }
    for (prefix, make) in [
        ("Counter32:", Printed::Counter32 as fn(u64) -> Printed),
        ("Gauge32:", Printed::Gauge32),
        ("Counter64:", Printed::Counter64),
        ("Timeticks:", Printed::TimeTicks),
    ] {
        if let Some(s) = v.strip_prefix(prefix) {
            return num(s).map_or_else(|| Printed::Other(v.to_owned()), make);
        }
    }
    if v == "NULL" {
        return Printed::Null;
    }
    // With -Ot, TimeTicks print as a bare number.
    num(v).map_or_else(|| Printed::Other(v.to_owned()), Printed::TimeTicks)
}
