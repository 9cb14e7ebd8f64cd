//! Which line is which ONU, station or port: discovered items matched to lines by a stable
//! key (ONU serial, station MAC, ifName, ifAlias, ONU id), never by ifIndex alone.
//!
//! An ONU often shows in several tables of its OLT: its own IF-MIB interface
//! (`gpon-onu_1/1/3:12`) and rows of vendor tables indexed by PON port and ONU id
//! (`gpon_1/1/3`, ONU 12). They are one line: a match found on one of them takes the others,
//! so that a line known by its ifAlias also gets the levels of its optics row.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::collect::observe::Subject;
use crate::collect::profile::{Discovered, KeyKind};
use crate::model::inventory::normalise_key;
use crate::model::view::Unassigned;
use coopnoc_proto::MatchKind;

/// Where on a device an observation belongs, as stable within one poll as the device makes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Pos {
    Interface(u32),
    /// A port named by its path, without an ifIndex of its own.
    Port(Arc<str>),
    Onu(Arc<str>, u32),
    /// An ONU known by its serial only (tables indexed by serial).
    OnuSerial(Arc<str>),
    Station(Arc<str>),
}

pub(super) fn pos_of(subject: &Subject) -> Option<Pos> {
    Some(match subject {
        Subject::Device => return None,
        Subject::Interface { index: 0, name } => Pos::Port(name.clone()),
        Subject::Interface { index, .. } => Pos::Interface(*index),
        Subject::Onu { port, onu, serial } => {
            if *onu == 0 && port.is_empty() {
                Pos::OnuSerial(serial.clone()?)
            } else {
                Pos::Onu(port.clone(), *onu)
            }
        }
        Subject::Station { mac, .. } => Pos::Station(mac.clone()),
    })
}

/// The numeric tail of a port path ("gpon_1/1/3" -> "1/1/3", "EPON0/2" -> "0/2").
fn port_path(port: &str) -> Option<&str> {
    let start = port
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit() || *c == '/')
        .last()
        .map(|(i, _)| i)?;
    let path = port[start..].trim_start_matches('/');
    (!path.is_empty()).then_some(path)
}

/// "1/1/3:12" for an ONU interface name ("gpon-onu_1/1/3:12"), or for an ONU's port and id.
pub(super) fn onu_path(subject: &Subject) -> Option<String> {
    match subject {
        Subject::Interface { name, .. } => {
            let (port, onu) = name.rsplit_once(':')?;
            if onu.is_empty() || !onu.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some(format!(
                "{}:{}",
                port_path(port)?,
                onu.trim_start_matches('0')
            ))
        }
        // ONU ids start at 0 on some OLTs (Huawei): a port makes the id meaningful.
        Subject::Onu { port, onu, .. } if !port.is_empty() => {
            Some(format!("{}:{onu}", port_path(port)?))
        }
        _ => None,
    }
}

/// Every key a discovered item can be matched by, normalised as lines' keys are.
pub(super) fn keys(d: &Discovered) -> Vec<(MatchKind, String)> {
    let mut out: Vec<(MatchKind, String)> = Vec::new();
    let mut push = |kind: MatchKind, value: &str| {
        if value.trim().is_empty() {
            return;
        }
        let k = (kind, normalise_key(kind, value));
        if !out.contains(&k) {
            out.push(k);
        }
    };
    if let Some((kind, value)) = &d.key {
        let kind = match kind {
            KeyKind::Serial => Some(MatchKind::Serial),
            KeyKind::Mac => Some(MatchKind::Mac),
            KeyKind::IfName => Some(MatchKind::Ifname),
            KeyKind::IfAlias => Some(MatchKind::Ifalias),
            KeyKind::OnuId => Some(MatchKind::Onu),
            KeyKind::Name => None,
        };
        if let Some(kind) = kind {
            push(kind, value);
        }
    }
    match &d.subject {
        Subject::Onu { port, onu, serial } => {
            if let Some(s) = serial {
                push(MatchKind::Serial, s);
            }
            if !port.is_empty() {
                push(MatchKind::Onu, &format!("{port}:{onu}"));
            }
        }
        Subject::Station { mac, .. } => push(MatchKind::Mac, mac),
        Subject::Interface { name, index } if *index != 0 => push(MatchKind::Ifname, name),
        _ => {}
    }
    for (label, kind) in [
        ("if-name", MatchKind::Ifname),
        ("if-alias", MatchKind::Ifalias),
        ("onu-id", MatchKind::Onu),
    ] {
        if let Some(v) = d.labels.get(label) {
            push(kind, v);
        }
    }
    out
}

/// One matched line on a device: where it hangs and the rows that are it (what `line watch`
/// re-reads).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub(crate) positions: Vec<Pos>,
    /// (table, index) of each row.
    pub rows: Vec<(String, Vec<u32>)>,
    pub port: Option<String>,
    pub onu: Option<u32>,
    pub if_index: Option<u32>,
    pub serial: Option<String>,
    pub mac: Option<String>,
}

impl Found {
    fn take(&mut self, d: &Discovered, pos: Pos) {
        if self.positions.contains(&pos) {
            return;
        }
        self.positions.push(pos);
        self.rows.push((d.table.clone(), d.index.clone()));
        match &d.subject {
            Subject::Onu { port, onu, serial } => {
                // The PON port and ONU id beat the name of the ONU's interface.
                if self.onu.is_none() && !port.is_empty() {
                    self.port = Some(port.to_string());
                    self.onu = Some(*onu);
                }
                if let Some(s) = serial {
                    self.serial.get_or_insert_with(|| s.to_string());
                }
            }
            Subject::Station { mac, .. } => {
                self.mac.get_or_insert_with(|| mac.to_string());
            }
            Subject::Interface { index, name } => {
                if *index != 0 {
                    self.if_index.get_or_insert(*index);
                }
                // An ONU's own port name beats its interface's.
                if self.onu.is_none() {
                    self.port = Some(name.to_string());
                }
            }
            Subject::Device => {}
        }
    }
}

/// The outcome of matching one device's discovered items.
#[derive(Debug, Default)]
pub(super) struct DeviceMatch {
    /// Line slot by position.
    pub by_pos: HashMap<Pos, usize>,
    /// Each matched line's rows.
    pub found: BTreeMap<usize, Found>,
    /// ONUs and stations no line matches.
    pub unassigned: Vec<Unassigned>,
}

/// Matches `discovered` (one device's) to lines; `lookup` answers the line slot that has a
/// key on this device, if any.
pub(super) fn match_device(
    device: &Arc<str>,
    site: Option<&str>,
    discovered: &[Discovered],
    lookup: impl Fn(MatchKind, &str) -> Option<usize>,
) -> DeviceMatch {
    let mut m = DeviceMatch::default();
    let mut by_path: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, d) in discovered.iter().enumerate() {
        if let Some(p) = onu_path(&d.subject) {
            by_path.entry(p).or_default().push(i);
        }
    }
    let mut taken: HashSet<usize> = HashSet::new();
    for (i, d) in discovered.iter().enumerate() {
        let Some(pos) = pos_of(&d.subject) else {
            continue;
        };
        if m.by_pos.contains_key(&pos) {
            continue;
        }
        let Some(slot) = keys(d).iter().find_map(|(k, v)| lookup(*k, v)) else {
            continue;
        };
        // The item, then every other row of the same ONU.
        let mut members = vec![i];
        if let Some(p) = onu_path(&d.subject) {
            members.extend(
                by_path
                    .get(&p)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|&j| j != i),
            );
        }
        for j in members {
            let dj = &discovered[j];
            let Some(pj) = pos_of(&dj.subject) else {
                continue;
            };
            if m.by_pos.contains_key(&pj) {
                continue;
            }
            m.by_pos.insert(pj.clone(), slot);
            m.found.entry(slot).or_default().take(dj, pj);
            taken.insert(j);
        }
    }
    for (i, d) in discovered.iter().enumerate() {
        if taken.contains(&i) {
            continue;
        }
        let kind = match &d.subject {
            Subject::Onu { .. } => "onu",
            Subject::Station { .. } => "station",
            _ => continue,
        };
        // The key a line would be given: serial or MAC first, the OLT's ONU id last.
        let mut ks = keys(d);
        ks.sort_by_key(|(k, _)| match k {
            MatchKind::Serial | MatchKind::Mac => 0,
            MatchKind::Onu => 2,
            _ => 1,
        });
        let (port, onu) = match &d.subject {
            Subject::Onu { port, onu, .. } => (
                (!port.is_empty()).then(|| port.to_string()),
                (!port.is_empty()).then_some(*onu),
            ),
            _ => (None, None),
        };
        m.unassigned.push(Unassigned {
            device: device.clone(),
            site: site.map(str::to_string),
            kind,
            port,
            onu,
            match_kind: ks.first().map(|(k, _)| *k),
            key: ks.first().map(|(_, v)| v.clone()),
            labels: d.labels.clone(),
        });
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn onu(port: &str, n: u32, serial: Option<&str>, table: &str) -> Discovered {
        Discovered {
            subject: Subject::Onu {
                port: Arc::from(port),
                onu: n,
                serial: serial.map(Arc::from),
            },
            key: serial.map(|s| (KeyKind::Serial, s.to_string())),
            labels: BTreeMap::new().into(),
            table: table.to_string(),
            index: vec![1, n],
        }
    }

    fn interface(index: u32, name: &str, alias: &str) -> Discovered {
        let mut labels = BTreeMap::new();
        labels.insert("if-alias", alias.to_string());
        Discovered {
            subject: Subject::Interface {
                index,
                name: Arc::from(name),
            },
            key: Some((KeyKind::IfName, name.to_string())),
            labels: labels.into(),
            table: "interfaces".to_string(),
            index: vec![index],
        }
    }

    #[test]
    fn onu_paths_tie_an_onu_interface_to_its_vendor_rows() {
        let i = Subject::Interface {
            index: 7,
            name: Arc::from("gpon-onu_1/1/3:12"),
        };
        let o = Subject::Onu {
            port: Arc::from("gpon_1/1/3"),
            onu: 12,
            serial: None,
        };
        assert_eq!(onu_path(&i).as_deref(), Some("1/1/3:12"));
        assert_eq!(onu_path(&o), onu_path(&i));
        let v = Subject::Interface {
            index: 9,
            name: Arc::from("EPON0/2:5"),
        };
        assert_eq!(onu_path(&v).as_deref(), Some("0/2:5"));
        assert_eq!(
            onu_path(&Subject::Interface {
                index: 1,
                name: Arc::from("eth0")
            }),
            None
        );
        assert_eq!(
            onu_path(&Subject::Interface {
                index: 1,
                name: Arc::from("fe80::1")
            }),
            None
        );
    }

    #[test]
    fn lines_match_by_key_and_take_the_onus_other_rows() {
        let discovered = vec![
            interface(1001, "gpon-onu_1/1/3:12", "L-00042"),
            onu("gpon_1/1/3", 12, None, "onu-optics"),
            onu("gpon_1/1/3", 13, Some("ZTEG12345678"), "onu-optics"),
            onu("gpon_1/1/3", 14, None, "onu-optics"),
        ];
        let lookup = |k: MatchKind, v: &str| match (k, v) {
            (MatchKind::Ifalias, "L-00042") => Some(0),
            (MatchKind::Serial, "ZTEG12345678") => Some(1),
            _ => None,
        };
        let m = match_device(&Arc::from("olt-1"), Some("bourg"), &discovered, lookup);
        assert_eq!(m.by_pos.get(&Pos::Interface(1001)), Some(&0));
        assert_eq!(
            m.by_pos.get(&Pos::Onu(Arc::from("gpon_1/1/3"), 12)),
            Some(&0)
        );
        assert_eq!(
            m.by_pos.get(&Pos::Onu(Arc::from("gpon_1/1/3"), 13)),
            Some(&1)
        );
        let f = &m.found[&0];
        assert_eq!(
            (f.port.as_deref(), f.onu, f.if_index),
            (Some("gpon_1/1/3"), Some(12), Some(1001))
        );
        assert_eq!(f.rows.len(), 2);
        // ONU 14 is nobody's: listed, with the key a line would take.
        assert_eq!(m.unassigned.len(), 1);
        assert_eq!(m.unassigned[0].match_kind, Some(MatchKind::Onu));
        assert_eq!(m.unassigned[0].key.as_deref(), Some("gpon_1/1/3:14"));
    }

    #[test]
    fn a_renumbered_interface_is_still_the_same_line() {
        let lookup = |k: MatchKind, v: &str| (k == MatchKind::Ifalias && v == "L-7").then_some(3);
        let sw: Arc<str> = Arc::from("sw");
        let before = match_device(&sw, None, &[interface(5, "ge-0/0/5", "L-7")], lookup);
        let after = match_device(&sw, None, &[interface(17, "ge-0/0/5", "L-7")], lookup);
        assert_eq!(before.by_pos.get(&Pos::Interface(5)), Some(&3));
        assert_eq!(after.by_pos.get(&Pos::Interface(17)), Some(&3));
        assert!(!after.by_pos.contains_key(&Pos::Interface(5)));
    }
}
