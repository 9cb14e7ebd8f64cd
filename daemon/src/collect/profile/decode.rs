//! From walked columns to observations, following a profile. Pure: no I/O, never panics on
//! what an agent sent; a value that is a sentinel, unparsable or an SNMP exception becomes
//! "no reading" (`None`), never a level.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::entity::entity_sensors;
use super::found::{Decoded, Discovered, Labels};
use super::model::*;
use super::row::{Row, Rows};
use super::values::{IndexParts, decode_index, text_of};
use crate::collect::observe::{Observation, Sensor, Subject};
use crate::collect::snmp::{Column, Oid, Table, Value};

/// IF-MIB ifName and ifDescr, used to name ports and interfaces a table only numbers.
pub const IF_NAME: &[u32] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1];
pub const IF_DESCR: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 2];

/// The columns a set of walks returned, by OID, with each column's rows by index.
struct Data<'a> {
    columns: HashMap<&'a Oid, Rows<'a>>,
    if_names: HashMap<u32, String>,
    /// The walked columns themselves, for when their rows were read.
    walked: HashMap<&'a Oid, &'a Column>,
}

impl<'a> Data<'a> {
    fn new(tables: &[&'a Table]) -> Data<'a> {
        let mut columns: HashMap<&'a Oid, HashMap<&'a [u32], &'a Value>> = HashMap::new();
        let mut walked: HashMap<&'a Oid, &'a Column> = HashMap::new();
        for t in tables {
            for c in &t.columns {
                walked.entry(&c.oid).or_insert(c);
                let rows = columns.entry(&c.oid).or_default();
                for (idx, v) in &c.rows {
                    rows.entry(idx.as_slice()).or_insert(v);
                }
            }
        }
        let mut if_names = HashMap::new();
        for base in [IF_DESCR, IF_NAME] {
            // ifName overrides ifDescr where both are there.
            if let Some(rows) = columns.get(&Oid::new(base)) {
                for (idx, v) in rows {
                    if let ([i], Some(t)) = (*idx, text_of(v)) {
                        if_names.insert(*i, t);
                    }
                }
            }
        }
        Data {
            columns,
            if_names,
            walked,
        }
    }

    /// When the reply carrying `column`'s value at `index` (its full index) arrived.
    fn read_at(&self, column: &Oid, index: &[u32]) -> Option<jiff::Timestamp> {
        let c = self.walked.get(column)?;
        let at = c
            .rows
            .binary_search_by(|(i, _)| i.as_slice().cmp(index))
            .ok()?;
        c.read_at(at)
    }

    /// When the reply carrying the counter `row.counter(role)` reads arrived.
    fn counter_read_at(&self, row: &Row<'_, '_>, role: Role) -> Option<jiff::Timestamp> {
        let index = row.index?;
        let c = row.counter_cell(role)?;
        if c.index_suffix.is_empty() {
            self.read_at(&c.oid, index)
        } else {
            self.read_at(&c.oid, &[index, c.index_suffix.as_slice()].concat())
        }
    }
}

impl Profile {
    /// Decodes whatever columns of this profile `tables` hold (a status walk together with
    /// the cached labels, say). Observations are made for the kinds whose columns were
    /// walked: a walked optical column with a placeholder gives `Optical { rx_dbm: None }`.
    pub fn decode(&self, tables: &[&Table]) -> Decoded {
        let data = Data::new(tables);
        let mut out = Decoded::default();
        let mut seen: HashMap<Subject, usize> = HashMap::new();
        for spec in &self.tables {
            decode_table(spec, &data, &mut out, &mut seen);
        }
        out
    }
}

fn port_name(spec: &TableSpec, data: &Data<'_>, n: u32) -> String {
    match &spec.port_names {
        PortNames::Number => n.to_string(),
        PortNames::IfName => data
            .if_names
            .get(&n)
            .cloned()
            .unwrap_or_else(|| n.to_string()),
        PortNames::Template(t) => t.replace("{}", &n.to_string()),
        PortNames::HuaweiGpon => match n.checked_sub(0xFA00_0000) {
            Some(rest) => format!(
                "{}/{}/{}",
                rest >> 18,
                (rest >> 13) & 0x1F,
                (rest >> 8) & 0x1F
            ),
            None => n.to_string(),
        },
    }
}

fn decode_table(
    spec: &TableSpec,
    data: &Data<'_>,
    out: &mut Decoded,
    seen: &mut HashMap<Subject, usize>,
) {
    let present: Vec<(&ColumnSpec, Cow<'_, Rows<'_>>)> = spec
        .columns
        .iter()
        .filter_map(|c| {
            let rows = data.columns.get(&c.oid)?;
            if c.index_suffix.is_empty() {
                return Some((c, Cow::Borrowed(rows)));
            }
            let selected = rows
                .iter()
                .filter_map(|(idx, v)| idx.strip_suffix(c.index_suffix.as_slice()).map(|i| (i, *v)))
                .collect();
            Some((c, Cow::Owned(selected)))
        })
        .collect();
    if present.is_empty() {
        return;
    }
    // Rows come from the value columns walked; from the labels alone when only they were.
    let values_walked = present.iter().any(|(c, _)| !c.role.is_label());
    let mut indexes: BTreeSet<&[u32]> = BTreeSet::new();
    for (c, rows) in &present {
        if c.role.is_label() != values_walked {
            indexes.extend(rows.keys().copied());
        }
    }
    if spec.subject == SubjectKind::Device {
        // One device, one reading: every row (chains, carriers of a PtP link) is folded into
        // one, the worst reading winning as within a row.
        let mut cells: Vec<(&ColumnSpec, Option<&Value>)> = Vec::new();
        for (c, rows) in &present {
            let mut idxs: Vec<&&[u32]> = rows.keys().collect();
            idxs.sort();
            if idxs.is_empty() {
                cells.push((*c, None));
            }
            for i in idxs {
                cells.push((*c, rows.get(*i).copied()));
            }
        }
        observe_row(
            spec,
            &Row::new(spec, cells, None),
            data,
            &Subject::Device,
            &mut out.observations,
        );
        entity_sensors(&present, &mut out.observations);
        return;
    }
    for idx in indexes {
        let parts = match decode_index(spec.index, idx) {
            Ok(p) => p,
            Err(e) => {
                out.problems
                    .push(format!("table {}: row {}: {e}", spec.name, Oid::new(idx)));
                continue;
            }
        };
        let row = Row::new(
            spec,
            present
                .iter()
                .map(|(c, rows)| (*c, rows.get(idx).copied()))
                .collect(),
            Some(idx),
        );
        let Some(subject) = subject_of(spec, data, &parts, &row, idx, &mut out.problems) else {
            continue;
        };
        if let Some(re) = &spec.match_name {
            let name = match &subject {
                Subject::Interface { name, .. } => name.to_string(),
                Subject::Station { name, .. } => name.as_deref().unwrap_or("").to_string(),
                Subject::Onu { port, onu, .. } => format!("{port}:{onu}"),
                Subject::Device => String::new(),
            };
            if !re.is_match(&name) {
                continue;
            }
        }
        observe_row(spec, &row, data, &subject, &mut out.observations);
        discover(spec, &row, &parts, subject, idx, out, seen);
    }
}

fn subject_of(
    spec: &TableSpec,
    data: &Data<'_>,
    parts: &IndexParts,
    row: &Row<'_, '_>,
    idx: &[u32],
    problems: &mut Vec<String>,
) -> Option<Subject> {
    Some(match spec.subject {
        SubjectKind::Device => Subject::Device,
        SubjectKind::Interface => {
            if let (None, Some(path)) = (parts.number, &parts.text) {
                // A port named by its path has no ifIndex of its own.
                let name = row.label(Role::Name).unwrap_or_else(|| path.clone());
                return Some(Subject::Interface {
                    index: 0,
                    name: Arc::from(name),
                });
            }
            let Some(index) = parts.number else {
                problems.push(format!(
                    "table {}: row {}: no interface number",
                    spec.name,
                    Oid::new(idx)
                ));
                return None;
            };
            let named = (!matches!(spec.port_names, PortNames::Number | PortNames::IfName))
                .then(|| port_name(spec, data, index));
            let name = row
                .label(Role::IfName)
                .or(named)
                .or_else(|| row.label(Role::Name))
                .or_else(|| data.if_names.get(&index).cloned())
                .or_else(|| row.label(Role::IfDescr))
                .unwrap_or_else(|| index.to_string());
            Subject::Interface {
                index,
                name: Arc::from(name),
            }
        }
        SubjectKind::Onu => {
            let port = match parts.port {
                Some(p) => port_name(spec, data, p),
                None => match row.label(Role::PortName) {
                    Some(p) => match p.parse::<u32>() {
                        Ok(n) => port_name(spec, data, n),
                        Err(_) => p,
                    },
                    None => String::new(),
                },
            };
            let onu = parts
                .onu
                .or_else(|| row.label(Role::OnuId).and_then(|s| s.parse().ok()))
                .or(if spec.index == IndexKind::Integer {
                    parts.number
                } else {
                    None
                })
                .unwrap_or(0);
            let serial = parts.text.clone().or_else(|| row.label(Role::Serial));
            Subject::Onu {
                port: Arc::from(port),
                onu,
                serial: serial.map(Arc::from),
            }
        }
        SubjectKind::Station => {
            let Some(mac) = parts.mac.clone().or_else(|| row.label(Role::Mac)) else {
                problems.push(format!(
                    "table {}: row {}: no MAC address (walk the labels with the status)",
                    spec.name,
                    Oid::new(idx)
                ));
                return None;
            };
            Subject::Station {
                mac: Arc::from(mac),
                name: row.label(Role::Name).map(Arc::from),
            }
        }
    })
}

fn observe_row(
    spec: &TableSpec,
    row: &Row<'_, '_>,
    data: &Data<'_>,
    subject: &Subject,
    obs: &mut Vec<Observation>,
) {
    let is_line = matches!(spec.subject, SubjectKind::Onu | SubjectKind::Station);
    let oper = row.mapped(Role::OperStatus);
    let admin = row.mapped(Role::AdminStatus);
    // An administratively disabled line is down for that reason, whatever else it says.
    // A down line's last down cause, where the device gives one, is the better reason.
    let cause = match row.mapped(Role::DownCause) {
        Some(Mapped::Down(r)) => Some(r),
        _ => None,
    };
    let state = match (admin, oper) {
        (Some(Mapped::Down(r)), _) => Some((false, Some(r))),
        (_, Some(Mapped::Up)) => Some((true, None)),
        (_, Some(Mapped::Down(r))) => Some((false, Some(cause.unwrap_or(r)))),
        _ => None,
    };
    if is_line && let Some((up, reason)) = state {
        obs.push(Observation::LineState {
            subject: subject.clone(),
            up,
            reason,
        });
    }
    if row.walked(|r| matches!(r, Role::RxDbm | Role::TxDbm | Role::OltRxDbm)) {
        obs.push(Observation::Optical {
            subject: subject.clone(),
            rx_dbm: row.level(Role::RxDbm),
            tx_dbm: row.level(Role::TxDbm),
            olt_rx_dbm: row.level(Role::OltRxDbm),
        });
    }
    if row.walked(|r| {
        matches!(
            r,
            Role::SignalDbm | Role::SnrDb | Role::CcqPercent | Role::CapacityBps
        )
    }) {
        obs.push(Observation::Radio {
            subject: subject.clone(),
            signal_dbm: row.level(Role::SignalDbm),
            snr_db: row.level(Role::SnrDb),
            ccq_percent: row.level(Role::CcqPercent),
            capacity_bps: row
                .level(Role::CapacityBps)
                .filter(|x| *x >= 0.0)
                .map(|x| x.round() as u64),
        });
    }
    let interface_walked = row.walked(|r| {
        matches!(
            r,
            Role::InOctets | Role::OutOctets | Role::SpeedBps | Role::Discontinuity
        )
    }) || (spec.subject == SubjectKind::Interface && oper.is_some());
    if interface_walked {
        obs.push(Observation::Interface {
            subject: subject.clone(),
            oper_up: state.map(|(up, _)| up),
            in_octets: row.counter(Role::InOctets),
            out_octets: row.counter(Role::OutOctets),
            speed_bps: row
                .level(Role::SpeedBps)
                .filter(|x| *x >= 0.0)
                .map(|x| x.round() as u64),
            discontinuity: row
                .cells
                .iter()
                .filter(|(c, _)| c.role == Role::Discontinuity)
                .find_map(|(_, v)| match v {
                    Some(Value::TimeTicks(t)) => Some(*t),
                    _ => None,
                }),
            in_read_at: data.counter_read_at(row, Role::InOctets),
            out_read_at: data.counter_read_at(row, Role::OutOctets),
        });
    }
    if row.walked(|r| matches!(r, Role::DownloadOctets | Role::UploadOctets)) {
        obs.push(Observation::Usage {
            subject: subject.clone(),
            download: row.counter(Role::DownloadOctets),
            upload: row.counter(Role::UploadOctets),
            download_read_at: data.counter_read_at(row, Role::DownloadOctets),
            upload_read_at: data.counter_read_at(row, Role::UploadOctets),
        });
    }
    let mut sensors: Vec<Sensor> = Vec::new();
    for (c, _) in &row.cells {
        if let Role::Sensor(s) = c.role
            && !sensors.contains(&s)
        {
            sensors.push(s);
        }
    }
    for s in sensors {
        obs.push(Observation::Sensor {
            subject: subject.clone(),
            sensor: s,
            value: row.level(Role::Sensor(s)),
        });
    }
    if row.walked(|r| matches!(r, Role::BatteryStatus | Role::OutputSource)) {
        let battery = match row.mapped(Role::BatteryStatus) {
            Some(Mapped::Battery(b)) => Some(b),
            _ => None,
        };
        let on_battery = match row.mapped(Role::OutputSource) {
            Some(Mapped::OnBattery(b)) => Some(b),
            _ => None,
        };
        obs.push(Observation::Power {
            subject: subject.clone(),
            on_battery,
            battery,
        });
    }
}

fn discover(
    spec: &TableSpec,
    row: &Row<'_, '_>,
    parts: &IndexParts,
    subject: Subject,
    idx: &[u32],
    out: &mut Decoded,
    seen: &mut HashMap<Subject, usize>,
) {
    let key = spec.key.and_then(|k| {
        let v = match k {
            KeyKind::Serial => parts.text.clone().or_else(|| row.label(Role::Serial)),
            KeyKind::Mac => parts.mac.clone().or_else(|| row.label(Role::Mac)),
            KeyKind::IfName => match &subject {
                Subject::Interface { name, .. } => Some(name.to_string()),
                _ => row.label(Role::IfName),
            },
            KeyKind::IfAlias => row.label(Role::IfAlias),
            KeyKind::Name => row.label(Role::Name),
            KeyKind::OnuId => match &subject {
                Subject::Onu { port, onu, .. } if parts.port.is_some() => {
                    Some(format!("{port}:{onu}"))
                }
                _ => row.label(Role::OnuId),
            },
        };
        v.map(|v| (k, v))
    });
    // Cells of one role all give the role's first value (`Row::label`): the first one wins.
    let labels: Labels = row
        .cells
        .iter()
        .filter(|(c, _)| {
            c.role.is_label()
                && !matches!(
                    c.role,
                    Role::Serial | Role::GponSerial | Role::Mac | Role::IfType
                )
        })
        .filter_map(|(c, _)| Some((c.role.as_str(), row.label(c.role)?)))
        .collect();
    match seen.get(&subject) {
        Some(&i) => {
            let d = &mut out.discovered[i];
            if d.key.is_none() {
                d.key = key;
            }
            for (k, v) in labels.into_pairs() {
                d.labels.insert_new(k, v);
            }
        }
        None => {
            seen.insert(subject.clone(), out.discovered.len());
            out.discovered.push(Discovered {
                subject,
                key,
                labels,
                table: spec.name.clone(),
                index: idx.to_vec(),
            });
        }
    }
}
