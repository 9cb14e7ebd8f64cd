//! From walked columns to observations, following a profile. Pure: no I/O, never panics on
//! what an agent sent; a value that is a sentinel, unparsable or an SNMP exception becomes
//! "no reading" (`None`), never a level.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::model::*;
use crate::observe::{Counter, Observation, Sensor, Subject};
use crate::snmp::{Column, Oid, Table, Value};

/// IF-MIB ifName and ifDescr, used to name ports and interfaces a table only numbers.
pub const IF_NAME: &[u32] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1];
pub const IF_DESCR: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 2];

/// What a decode found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    pub observations: Vec<Observation>,
    /// Every line-like subject seen (ONU, station, interface), with its key and labels: what
    /// line matching and the "unassigned" list start from.
    pub discovered: Vec<Discovered>,
    /// Rows that could not be read (a bad index, a missing key), for the log.
    pub problems: Vec<String>,
}

/// A line candidate as the device describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovered {
    pub subject: Subject,
    /// The stable key (serial, MAC, ifName...), when the device gives it.
    pub key: Option<(KeyKind, String)>,
    /// Other labels by role name ("name", "model", "if-alias"...).
    pub labels: Labels,
    /// Which table and row it came from: what `line watch` GETs.
    pub table: String,
    pub index: Vec<u32>,
}

/// A discovered item's labels by role name, in name order. An item has a few and a device
/// thousands of items: one small vector each, where a `BTreeMap` would allocate a node with
/// room for eleven (~460 bytes) per item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels(Vec<(&'static str, String)>);

impl Labels {
    pub fn get(&self, name: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(k, _)| (*k).cmp(name))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// Sets `name` unless it is set already (the first value found wins).
    pub fn insert_new(&mut self, name: &'static str, value: String) {
        if let Err(i) = self.0.binary_search_by(|(k, _)| (*k).cmp(name)) {
            self.0.insert(i, (name, value));
        }
    }

    /// (name, value) in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &String)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(&'static str, String)> for Labels {
    fn from_iter<I: IntoIterator<Item = (&'static str, String)>>(iter: I) -> Labels {
        let mut labels = Labels::default();
        for (k, v) in iter {
            labels.insert_new(k, v);
        }
        labels.0.shrink_to_fit();
        labels
    }
}

impl From<BTreeMap<&'static str, String>> for Labels {
    fn from(map: BTreeMap<&'static str, String>) -> Labels {
        Labels(map.into_iter().collect())
    }
}

/// The parts an index decodes into.
#[derive(Debug, Default)]
struct IndexParts {
    number: Option<u32>,
    port: Option<u32>,
    onu: Option<u32>,
    text: Option<String>,
    mac: Option<String>,
}

fn decode_index(kind: IndexKind, arcs: &[u32]) -> Result<IndexParts, String> {
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
fn text_of(v: &Value) -> Option<String> {
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

fn counter_of(v: &Value, scale: &Scale) -> Option<Counter> {
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

fn mapped_of(v: &Value, map: &BTreeMap<String, Mapped>) -> Option<Mapped> {
    let key = match v {
        Value::Integer(i) => i.to_string(),
        Value::Gauge32(n) | Value::Counter32(n) => n.to_string(),
        Value::Bytes(_) => text_of(v)?,
        _ => return None,
    };
    map.get(&key).copied()
}

/// One column's values by index.
type Rows<'a> = HashMap<&'a [u32], &'a Value>;

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
}

impl Profile {
    /// The columns to walk on `schedule`, each once, in profile order.
    pub fn columns(&self, schedule: Schedule) -> Vec<Oid> {
        let mut out: Vec<Oid> = Vec::new();
        for w in self.walks(schedule) {
            for o in w {
                if !out.contains(&o) {
                    out.push(o);
                }
            }
        }
        out
    }

    /// The same per table: one multi-column walk each (columns of one table end
    /// together, which keeps GETBULK replies full). A column two tables share (ifName) is
    /// walked once, with the first.
    pub fn walks(&self, schedule: Schedule) -> Vec<Vec<Oid>> {
        let mut walks: Vec<Vec<Oid>> = Vec::new();
        let mut seen: Vec<Oid> = Vec::new();
        for t in &self.tables {
            let mut w: Vec<Oid> = t
                .columns
                .iter()
                .filter(|c| c.schedule == schedule)
                .map(|c| c.oid.clone())
                .collect();
            if schedule == Schedule::Labels && needs_if_names(t) {
                w.push(Oid::new(IF_NAME));
            }
            let mut fresh = Vec::new();
            for o in w {
                if !seen.contains(&o) {
                    seen.push(o.clone());
                    fresh.push(o);
                }
            }
            let w = fresh;
            if !w.is_empty() {
                walks.push(w);
            }
        }
        walks
    }

    /// The instance OIDs to GET for one row of one table (for `line watch`): every column
    /// of the table not on the labels schedule, at that index. Decode the answers (see
    /// [`table_from_get`]) together with the cached labels, which name ports and lines.
    pub fn row_oids(&self, table: &str, index: &[u32]) -> Vec<Oid> {
        self.tables
            .iter()
            .filter(|t| t.name == table)
            .flat_map(|t| {
                t.columns
                    .iter()
                    .filter(|c| c.schedule != Schedule::Labels)
                    .map(|c| c.oid.child(index).child(&c.index_suffix))
            })
            .collect()
    }

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

fn needs_if_names(t: &TableSpec) -> bool {
    (t.subject == SubjectKind::Onu && t.port_names == PortNames::IfName)
        || (t.subject == SubjectKind::Interface
            && matches!(t.port_names, PortNames::Number | PortNames::IfName)
            && !t.columns.iter().any(|c| c.role == Role::IfName))
}

/// Builds a `Table` from GET answers (for `line watch`), splitting each answer into the
/// profile column it belongs to and its index. Answers outside every column are left out.
pub fn table_from_get(profile: &Profile, answers: &[(Oid, Value)]) -> Table {
    let mut columns: Vec<Column> = Vec::new();
    for (oid, value) in answers {
        let col = profile
            .tables
            .iter()
            .flat_map(|t| &t.columns)
            .find(|c| oid.starts_with(&c.oid) && oid != &c.oid);
        let Some(col) = col else { continue };
        let Some(idx) = oid.suffix_after(&col.oid) else {
            continue;
        };
        match columns.iter_mut().find(|c| c.oid == col.oid) {
            Some(c) => c.rows.push((idx.to_vec(), value.clone())),
            None => columns.push(Column {
                oid: col.oid.clone(),
                rows: vec![(idx.to_vec(), value.clone())],
                read_at: Vec::new(),
            }),
        }
    }
    Table {
        columns,
        anomalies: Vec::new(),
    }
}

/// The values of one row, by column.
struct Row<'s, 'a> {
    cells: Vec<(&'s ColumnSpec, Option<&'a Value>)>,
    /// The row's index in its table (`None` for a device's rows folded into one).
    index: Option<&'a [u32]>,
}

impl Row<'_, '_> {
    /// When the reply carrying the counter `counter(role)` reads arrived.
    fn counter_read_at(&self, role: Role, data: &Data<'_>) -> Option<jiff::Timestamp> {
        let index = self.index?;
        let (c, _) = self
            .cells
            .iter()
            .find(|(c, v)| c.role == role && v.and_then(|v| counter_of(v, &c.scale)).is_some())?;
        if c.index_suffix.is_empty() {
            data.read_at(&c.oid, index)
        } else {
            data.read_at(&c.oid, &[index, c.index_suffix.as_slice()].concat())
        }
    }

    fn walked(&self, pred: impl Fn(Role) -> bool) -> bool {
        self.cells.iter().any(|(c, _)| pred(c.role))
    }

    fn label(&self, role: Role) -> Option<String> {
        let wanted = |r: Role| r == role || (role == Role::Serial && r == Role::GponSerial);
        self.cells
            .iter()
            .filter(|(c, _)| wanted(c.role))
            .find_map(|(c, v)| {
                let v = (*v)?;
                match c.role {
                    Role::Mac => mac_of(v),
                    Role::GponSerial => gpon_serial_of(v),
                    _ => text_of(v),
                }
            })
    }

    /// Several readings of one level role (two chains, both directions, a device's rows):
    /// the worst counts, which is what line and device state must see: the lowest level,
    /// the highest temperature.
    fn level(&self, role: Role) -> Option<f64> {
        let worst = if role == Role::Sensor(Sensor::TemperatureCelsius) {
            f64::max
        } else {
            f64::min
        };
        self.cells
            .iter()
            .filter(|(c, _)| c.role == role)
            .filter_map(|(c, v)| reading((*v)?, &c.scale))
            .reduce(worst)
    }

    /// Several columns of one counter role: the first with a value (64-bit before 32-bit).
    fn counter(&self, role: Role) -> Option<Counter> {
        self.cells
            .iter()
            .filter(|(c, _)| c.role == role)
            .find_map(|(c, v)| counter_of((*v)?, &c.scale))
    }

    fn mapped(&self, role: Role) -> Option<Mapped> {
        self.cells
            .iter()
            .filter(|(c, _)| c.role == role)
            .find_map(|(c, v)| mapped_of((*v)?, &c.map))
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
            &Row { cells, index: None },
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
        let row = Row {
            cells: present
                .iter()
                .map(|(c, rows)| (*c, rows.get(idx).copied()))
                .collect(),
            index: Some(idx),
        };
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
            in_read_at: row.counter_read_at(Role::InOctets, data),
            out_read_at: row.counter_read_at(Role::OutOctets, data),
        });
    }
    if row.walked(|r| matches!(r, Role::DownloadOctets | Role::UploadOctets)) {
        obs.push(Observation::Usage {
            subject: subject.clone(),
            download: row.counter(Role::DownloadOctets),
            upload: row.counter(Role::UploadOctets),
            download_read_at: row.counter_read_at(Role::DownloadOctets, data),
            upload_read_at: row.counter_read_at(Role::UploadOctets, data),
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
            c.role.is_label() && !matches!(c.role, Role::Serial | Role::GponSerial | Role::Mac)
        })
        .filter_map(|(c, _)| Some((c.role.as_str(), row.label(c.role)?)))
        .collect();
    match seen.get(&subject) {
        Some(&i) => {
            let d = &mut out.discovered[i];
            if d.key.is_none() {
                d.key = key;
            }
            for (k, v) in labels.0 {
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

/// ENTITY-SENSOR-MIB (RFC 3433): each row says its own kind (entPhySensorType), unit scale
/// (entPhySensorScale, 9 = units, 8 = milli, 10 = kilo...) and decimals
/// (entPhySensorPrecision). A device gets one reading per kind, the worst of its sensors:
/// the hottest temperature, the lowest voltage, the highest current. Sensors whose status
/// is not ok(1) give no reading; kinds coopnoc has no use for are left out.
fn entity_sensors(present: &[(&ColumnSpec, Cow<'_, Rows<'_>>)], obs: &mut Vec<Observation>) {
    let col = |r: Role| {
        present
            .iter()
            .find(|(c, _)| c.role == r)
            .map(|(_, rows)| rows)
    };
    let (Some(types), Some(values)) = (col(Role::EntitySensorType), col(Role::EntitySensorValue))
    else {
        return;
    };
    let int = |rows: Option<&Cow<'_, Rows<'_>>>, idx: &[u32]| {
        rows.and_then(|r| r.get(idx)).and_then(|v| v.as_i64())
    };
    let mut worst: Vec<(Sensor, Option<f64>)> = Vec::new();
    let mut idxs: Vec<&&[u32]> = values.keys().collect();
    idxs.sort();
    for idx in idxs {
        let (sensor, factor) = match int(Some(types), idx) {
            Some(3 | 4) => (Sensor::Volts, 1.0),
            Some(5) => (Sensor::Milliamperes, 1000.0),
            Some(8) => (Sensor::TemperatureCelsius, 1.0),
            _ => continue,
        };
        // yocto(1) .. milli(8), units(9), kilo(10) .. tera(13), exa(14), peta(15), zetta(16),
        // yotta(17): the MIB lists exa before peta.
        let exponent = match int(col(Role::EntitySensorScale), idx) {
            Some(14) => 18,
            Some(15) => 15,
            Some(s @ 1..=17) => (s as i32 - 9) * 3,
            _ => 0,
        };
        let precision = int(col(Role::EntitySensorPrecision), idx)
            .unwrap_or(0)
            .clamp(-8, 9) as i32;
        let ok = int(col(Role::EntitySensorStatus), idx).is_none_or(|s| s == 1);
        let value = values
            .get(idx)
            .and_then(|v| v.as_i64())
            .filter(|_| ok)
            .map(|raw| {
                // Divide rather than multiply by a negative power: 12040 / 1000 is 12.04.
                let e = exponent - precision;
                let x = if e >= 0 {
                    raw as f64 * 10f64.powi(e)
                } else {
                    raw as f64 / 10f64.powi(-e)
                };
                x * factor
            })
            .filter(|x| x.is_finite());
        let combine = |a: f64, b: f64| match sensor {
            Sensor::Volts => a.min(b),
            _ => a.max(b),
        };
        match worst.iter_mut().find(|(s, _)| *s == sensor) {
            Some((_, w)) => {
                *w = match (*w, value) {
                    (Some(a), Some(b)) => Some(combine(a, b)),
                    (a, b) => a.or(b),
                }
            }
            None => worst.push((sensor, value)),
        }
    }
    for (sensor, value) in worst {
        obs.push(Observation::Sensor {
            subject: Subject::Device,
            sensor,
            value,
        });
    }
}
