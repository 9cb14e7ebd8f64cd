//! The profile file format (TOML) and its validation into a [`Profile`]. Like the config:
//! unknown keys are errors, and validation reports every problem with where it is.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use regex_lite::Regex;
use serde::Deserialize;

mod columns;

use super::model::*;
use crate::collect::snmp::Oid;
use columns::{check_column, resolve_fallbacks};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ProfileFile {
    id: String,
    name: String,
    kind: String,
    extends: Option<String>,
    line_usage: Option<String>,
    notes: Option<String>,
    detect: Option<DetectFile>,
    #[serde(default, rename = "table")]
    tables: Vec<TableFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct DetectFile {
    #[serde(default)]
    sys_object_id: Vec<String>,
    sys_descr: Option<String>,
    probe: Option<String>,
    priority: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct TableFile {
    name: String,
    subject: String,
    index: String,
    schedule: Option<String>,
    port_names: Option<String>,
    key: Option<String>,
    match_name: Option<String>,
    #[serde(default, rename = "column")]
    columns: Vec<ColumnFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ColumnFile {
    name: Option<String>,
    oid: String,
    index_suffix: Option<Vec<u32>>,
    role: String,
    schedule: Option<String>,
    offset: Option<f64>,
    divisor: Option<f64>,
    multiplier: Option<f64>,
    convert: Option<String>,
    pattern: Option<String>,
    no_reading: Option<Vec<i64>>,
    valid_range: Option<[f64; 2]>,
    map: Option<BTreeMap<String, String>>,
    fallback_for: Option<String>,
}

/// One thing wrong with a profile file, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `file: table[1] (onu-optics).column[0].role`
    pub place: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

struct Checker<'a> {
    source: &'a str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, place: impl fmt::Display, message: impl Into<String>) {
        self.problems.push(Problem {
            place: format!("{}: {place}", self.source),
            message: message.into(),
        });
    }

    fn oid(&mut self, place: &str, text: &str) -> Option<Oid> {
        match Oid::parse(text) {
            Ok(o) if o.arcs().len() >= 2 => Some(o),
            Ok(_) => {
                self.problem(
                    place,
                    format!("\"{text}\" is too short to be an object identifier"),
                );
                None
            }
            Err(_) => {
                self.problem(place, format!("\"{text}\" is not an OID (write it numerically, like \"1.3.6.1.2.1.2.2.1.8\")"));
                None
            }
        }
    }

    fn regex(&mut self, place: &str, text: &str) -> Option<Regex> {
        match Regex::new(text) {
            Ok(r) => Some(r),
            Err(e) => {
                self.problem(place, format!("not a valid regular expression: {e}"));
                None
            }
        }
    }
}

/// Parses and checks one profile file. `source` names it in messages ("zte-c3xx.toml").
pub fn parse_profile(text: &str, source: &str) -> Result<Profile, Vec<Problem>> {
    let file: ProfileFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            return Err(vec![Problem {
                place: source.to_string(),
                message: e.to_string().trim_end().to_string(),
            }]);
        }
    };
    let mut c = Checker {
        source,
        problems: Vec::new(),
    };
    let profile = check(&mut c, file);
    if c.problems.is_empty() {
        Ok(profile)
    } else {
        Err(c.problems)
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '_')
}

fn check(c: &mut Checker<'_>, f: ProfileFile) -> Profile {
    if !is_identifier(&f.id) {
        c.problem(
            "id",
            format!(
                "\"{}\" must be lower-case letters, digits, '-' or '_' (at most 64)",
                f.id
            ),
        );
    }
    if f.name.trim().is_empty() {
        c.problem("name", "give the model a name people recognise");
    }
    let kind = match f.kind.as_str() {
        "olt" => ProfileKind::Olt,
        "radio" => ProfileKind::Radio,
        "switch" => ProfileKind::Switch,
        "ups" => ProfileKind::Ups,
        "router" => ProfileKind::Router,
        "host" => ProfileKind::Host,
        other => {
            c.problem(
                "kind",
                format!("\"{other}\" is not one of olt, radio, switch, ups, router, host"),
            );
            ProfileKind::Host
        }
    };
    let line_usage = match f.line_usage.as_deref() {
        None | Some("per-line") => LineUsage::PerLine,
        Some("per-pon-only") => LineUsage::PerPonOnly,
        Some("none") => LineUsage::None,
        Some(other) => {
            c.problem(
                "line-usage",
                format!("\"{other}\" is not one of per-line, per-pon-only, none"),
            );
            LineUsage::None
        }
    };
    let mut detect = Detect::default();
    if let Some(d) = &f.detect {
        for (i, s) in d.sys_object_id.iter().enumerate() {
            if let Some(o) = c.oid(&format!("detect.sys-object-id[{i}]"), s) {
                detect.sys_object_id.push(o);
            }
        }
        if let Some(r) = &d.sys_descr {
            detect.sys_descr = c.regex("detect.sys-descr", r);
        }
        if let Some(p) = &d.probe {
            detect.probe = c.oid("detect.probe", p);
        }
        detect.priority = d.priority.unwrap_or(0);
        if d.sys_object_id.is_empty() && d.sys_descr.is_none() && d.probe.is_none() {
            c.problem("detect", "give at least one of sys-object-id, sys-descr or probe (or leave [detect] out: the profile is then chosen only by config)");
        }
    }
    if f.tables.is_empty() && f.extends.is_none() {
        c.problem(
            "table",
            "a profile needs at least one [[table]] (or extends = \"another-profile\")",
        );
    }
    let mut names = HashSet::new();
    let mut tables = Vec::new();
    for (ti, t) in f.tables.iter().enumerate() {
        let place = format!("table[{ti}] ({})", t.name);
        if !names.insert(t.name.clone()) {
            c.problem(format!("{place}.name"), "two tables have this name");
        }
        tables.push(check_table(c, &place, t));
    }
    if let Some(e) = &f.extends
        && (!is_identifier(e) || *e == f.id)
    {
        c.problem(
            "extends",
            format!("\"{e}\" must be the id of another profile"),
        );
    }
    Profile {
        id: f.id,
        name: f.name,
        kind,
        extends: f.extends,
        line_usage,
        notes: f.notes,
        detect,
        tables,
        source: c.source.to_string(),
    }
}

fn check_table(c: &mut Checker<'_>, place: &str, t: &TableFile) -> TableSpec {
    let subject = subject_kind(c, place, t);
    let index = index_kind(c, place, t);
    let table_schedule = match t.schedule.as_deref() {
        None => Schedule::Status,
        Some(s) => Schedule::parse(s).unwrap_or_else(|| {
            c.problem(
                format!("{place}.schedule"),
                format!("\"{s}\" is not one of status, labels, slow"),
            );
            Schedule::Status
        }),
    };
    let port_names = port_names(c, place, t);
    let key = key_kind(c, place, t, subject);
    let match_name = t
        .match_name
        .as_ref()
        .and_then(|r| c.regex(&format!("{place}.match-name"), r));
    check_fit(c, place, t, subject, index, &port_names);
    let mut columns = Vec::new();
    let mut seen_oids = HashSet::new();
    for (ci, col) in t.columns.iter().enumerate() {
        let cp = format!("{place}.column[{ci}]");
        if let Some(spec) = check_column(c, &cp, col, table_schedule) {
            if !seen_oids.insert((spec.oid.clone(), spec.index_suffix.clone())) {
                c.problem(
                    format!("{cp}.oid"),
                    "this column appears twice in the table",
                );
            }
            columns.push(spec);
        }
    }
    // Fallbacks name columns of this table: resolved once every column is read.
    if columns.len() == t.columns.len() {
        resolve_fallbacks(c, place, t, &mut columns);
    }
    check_roles(c, place, t, (subject, index, key), &columns);
    TableSpec {
        name: t.name.clone(),
        subject,
        index,
        port_names,
        key,
        match_name,
        columns,
    }
}

fn subject_kind(c: &mut Checker<'_>, place: &str, t: &TableFile) -> SubjectKind {
    match t.subject.as_str() {
        "device" => SubjectKind::Device,
        "interface" => SubjectKind::Interface,
        "onu" => SubjectKind::Onu,
        "station" => SubjectKind::Station,
        other => {
            c.problem(
                format!("{place}.subject"),
                format!("\"{other}\" is not one of device, interface, onu, station"),
            );
            SubjectKind::Device
        }
    }
}

fn index_kind(c: &mut Checker<'_>, place: &str, t: &TableFile) -> IndexKind {
    match t.index.as_str() {
        "any" => IndexKind::Any,
        "ifindex" => IndexKind::IfIndex,
        "integer" => IndexKind::Integer,
        "pon-onu" => IndexKind::PonOnu,
        "length-prefixed-string" => IndexKind::LengthPrefixedString,
        "mac" => IndexKind::Mac,
        "path" => IndexKind::Path,
        other => {
            c.problem(
                format!("{place}.index"),
                format!("\"{other}\" is not one of any, ifindex, integer, pon-onu, length-prefixed-string, mac, path"),
            );
            IndexKind::Any
        }
    }
}

fn port_names(c: &mut Checker<'_>, place: &str, t: &TableFile) -> PortNames {
    match t.port_names.as_deref() {
        None | Some("number") => PortNames::Number,
        Some("if-name") => PortNames::IfName,
        Some("huawei-gpon") => PortNames::HuaweiGpon,
        Some(tpl) if tpl.contains("{}") => PortNames::Template(tpl.to_string()),
        Some(other) => {
            c.problem(format!("{place}.port-names"), format!("\"{other}\" is not number, if-name, huawei-gpon, or a template with {{}} (\"EPON0/{{}}\")"));
            PortNames::Number
        }
    }
}

/// The key lines are matched by: the one given, else the subject's usual one.
fn key_kind(
    c: &mut Checker<'_>,
    place: &str,
    t: &TableFile,
    subject: SubjectKind,
) -> Option<KeyKind> {
    match t.key.as_deref() {
        None => match subject {
            SubjectKind::Device => None,
            SubjectKind::Interface => Some(KeyKind::IfName),
            SubjectKind::Onu => Some(KeyKind::Serial),
            SubjectKind::Station => Some(KeyKind::Mac),
        },
        Some(k) => {
            let kk = [
                KeyKind::Serial,
                KeyKind::Mac,
                KeyKind::IfName,
                KeyKind::IfAlias,
                KeyKind::Name,
                KeyKind::OnuId,
            ]
            .into_iter()
            .find(|x| x.as_str() == k);
            if kk.is_none() {
                c.problem(
                    format!("{place}.key"),
                    format!("\"{k}\" is not one of serial, mac, if-name, if-alias, name, onu-id"),
                );
            }
            kk
        }
    }
}

/// Index and subject must fit together; port names only name ports.
fn check_fit(
    c: &mut Checker<'_>,
    place: &str,
    t: &TableFile,
    subject: SubjectKind,
    index: IndexKind,
    port_names: &PortNames,
) {
    match (subject, index) {
        (SubjectKind::Onu | SubjectKind::Station, IndexKind::Path)
        | (SubjectKind::Onu, IndexKind::Mac)
        | (
            SubjectKind::Interface,
            IndexKind::PonOnu | IndexKind::LengthPrefixedString | IndexKind::Mac | IndexKind::Any,
        ) => {
            c.problem(
                format!("{place}.index"),
                format!(
                    "index \"{}\" cannot name a subject \"{}\"",
                    t.index, t.subject
                ),
            );
        }
        _ => {}
    }
    if *port_names != PortNames::Number
        && !matches!(subject, SubjectKind::Onu | SubjectKind::Interface)
    {
        c.problem(
            format!("{place}.port-names"),
            "port-names only applies to ONU and interface tables",
        );
    }
    if t.columns.is_empty() {
        c.problem(
            format!("{place}.column"),
            "a table needs at least one [[table.column]]",
        );
    }
}

/// What the columns' roles say of the table: ENTITY-SENSOR-MIB columns go together on a
/// device, a station needs its MAC, an integer-indexed ONU its id, a key its column.
fn check_roles(
    c: &mut Checker<'_>,
    place: &str,
    t: &TableFile,
    (subject, index, key): (SubjectKind, IndexKind, Option<KeyKind>),
    columns: &[ColumnSpec],
) {
    let has = |r: Role| columns.iter().any(|c: &ColumnSpec| c.role == r);
    if columns.iter().any(|c| c.role.is_entity_sensor()) {
        if subject != SubjectKind::Device {
            c.problem(
                format!("{place}.subject"),
                "ENTITY-SENSOR-MIB roles need subject = \"device\"",
            );
        }
        for r in [
            Role::EntitySensorType,
            Role::EntitySensorScale,
            Role::EntitySensorPrecision,
            Role::EntitySensorValue,
        ] {
            if !has(r) {
                c.problem(
                    place,
                    format!(
                        "ENTITY-SENSOR-MIB roles go together: a column with role \"{}\" is missing",
                        r.as_str()
                    ),
                );
            }
        }
    }
    match subject {
        SubjectKind::Station if index != IndexKind::Mac && !has(Role::Mac) => {
            c.problem(
                place,
                "a station table needs its MAC: index = \"mac\" or a column with role \"mac\"",
            );
        }
        SubjectKind::Onu
            if index == IndexKind::Integer
                && !has(Role::OnuId)
                && !has(Role::Serial)
                && !has(Role::GponSerial) =>
        {
            c.problem(place, "an ONU table with an integer index needs a column with role \"onu-id\" or \"serial\"");
        }
        _ => {}
    }
    if let Some(k) = key {
        let found = match k {
            KeyKind::Serial => {
                index == IndexKind::LengthPrefixedString
                    || has(Role::Serial)
                    || has(Role::GponSerial)
            }
            KeyKind::Mac => index == IndexKind::Mac || has(Role::Mac),
            KeyKind::IfName => true, // ifName is looked up when not in the table
            KeyKind::IfAlias => has(Role::IfAlias),
            KeyKind::Name => has(Role::Name),
            KeyKind::OnuId => has(Role::OnuId) || index == IndexKind::PonOnu,
        };
        // An ONU without serial keys by port and number: allowed, said in the discovery.
        let unkeyed_onu = k == KeyKind::Serial && subject == SubjectKind::Onu && t.key.is_none();
        if !(found || unkeyed_onu) {
            c.problem(
                format!("{place}.key"),
                format!("the key \"{}\" needs a column with that role", k.as_str()),
            );
        }
    }
}
