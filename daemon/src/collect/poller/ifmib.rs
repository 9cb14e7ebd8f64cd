//! What the poller reads of every SNMP device itself: the system group (SNMPv2-MIB, which
//! detection and reboot detection need before any profile is chosen) and the interfaces of
//! the generic IF-MIB profile (`daemon/profiles/generic-if-mib.toml`), from which it makes
//! the device's interface observations (`device show`, port lines).
//!
//! The interface columns come from the profile, by role: labels (ifName, ifDescr, ifAlias,
//! ifType) on the labels schedule, status (oper status, counters, speed, discontinuity) every
//! poll. A column with `fallback-for` (32-bit counters, ifSpeed) is walked only once a poll
//! found its primary missing, for every interface or for some.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::collect::observe::{Counter, Observation, Subject};
use crate::collect::profile::{ColumnSpec, Profile, Role, Schedule, SubjectKind, reading};
use crate::collect::snmp::{Oid, Session, SnmpError, Table, Value};

/// SNMPv2-MIB system group scalars.
pub const SYS_DESCR: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 1, 0];
pub const SYS_OBJECT_ID: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 2, 0];
pub const SYS_UPTIME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 3, 0];
pub const SYS_NAME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 5, 0];

/// The interface roles the poller makes observations of.
const LABEL_ROLES: &[Role] = &[Role::IfName, Role::IfDescr, Role::IfAlias, Role::IfType];
const STATUS_ROLES: &[Role] = &[
    Role::OperStatus,
    Role::InOctets,
    Role::OutOctets,
    Role::SpeedBps,
    Role::Discontinuity,
];

/// A column the poller reads: its role, and whether it stands in for the column of that
/// role (a fallback).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Key {
    pub role: Role,
    pub fallback: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Column {
    pub key: Key,
    pub spec: ColumnSpec,
}

/// The IF-MIB columns the poller reads, from the generic profile.
#[derive(Debug, Clone, Default)]
pub struct IfMib {
    pub(super) labels: Vec<Column>,
    pub(super) status: Vec<Column>,
}

impl IfMib {
    /// The interface columns of `generic` (its interface tables, by ifIndex) the poller makes
    /// observations of; each OID once.
    pub fn from_profile(generic: &Profile) -> IfMib {
        let mut plan = IfMib::default();
        let mut seen: HashSet<&Oid> = HashSet::new();
        let tables = generic
            .tables
            .iter()
            .filter(|t| t.subject == SubjectKind::Interface);
        for t in tables {
            for c in &t.columns {
                let (list, roles) = match c.schedule {
                    Schedule::Labels => (&mut plan.labels, LABEL_ROLES),
                    Schedule::Status => (&mut plan.status, STATUS_ROLES),
                    Schedule::Slow => continue,
                };
                if roles.contains(&c.role) && c.index_suffix.is_empty() && seen.insert(&c.oid) {
                    list.push(Column {
                        key: Key {
                            role: c.role,
                            fallback: c.fallback_for.is_some(),
                        },
                        spec: c.clone(),
                    });
                }
            }
        }
        plan
    }

    /// Every OID the poller walks or GETs itself on `schedule`: the vendor profile's walks
    /// leave them out.
    pub fn oids(&self, schedule: Schedule) -> HashSet<Oid> {
        let (columns, scalars): (&[Column], &[&[u32]]) = match schedule {
            Schedule::Labels => (&self.labels, &[SYS_DESCR, SYS_OBJECT_ID, SYS_NAME]),
            Schedule::Status => (&self.status, &[SYS_UPTIME]),
            Schedule::Slow => (&[], &[]),
        };
        columns
            .iter()
            .map(|c| c.spec.oid.clone())
            .chain(scalars.iter().map(|s| Oid::new(*s)))
            .collect()
    }

    /// The primaries that have a fallback column.
    pub(super) fn with_fallback(&self) -> impl Iterator<Item = Role> + '_ {
        self.status
            .iter()
            .filter(|c| c.key.fallback)
            .map(|c| c.key.role)
    }
}

/// The system group's label scalars, as an observation.
pub(super) fn system_observation(values: &HashMap<Oid, Value>) -> Observation {
    let text = |o: &[u32]| values.get(&Oid::new(o)).and_then(Value::as_text);
    Observation::System {
        descr: text(SYS_DESCR),
        object_id: text(SYS_OBJECT_ID),
        name: text(SYS_NAME),
    }
}

/// GETs scalar objects; missing ones are left out. With the time the reply arrived.
pub(super) async fn get_scalars(
    session: &Session,
    oids: &[&[u32]],
) -> Result<(HashMap<Oid, Value>, Option<jiff::Timestamp>), SnmpError> {
    if oids.is_empty() {
        return Ok((HashMap::new(), None));
    }
    let oids: Vec<Oid> = oids.iter().map(|o| Oid::new(*o)).collect();
    let (got, at) = session.get_at(&oids).await?;
    let values = oids
        .into_iter()
        .zip(got)
        .filter(|(_, (_, v))| !v.is_exception())
        .map(|(o, (_, v))| (o, v))
        .collect();
    Ok((values, Some(at)))
}

/// Columns read in walks, by key: the walks as they came (which the vendor profile's decode
/// reads too), looked up in place rather than copied.
#[derive(Default)]
pub(super) struct Walked {
    /// Key → (walk, column) in `tables`, and the column's scale.
    keys: HashMap<Key, (usize, usize, ColumnSpec)>,
    pub anomalies: Vec<String>,
    pub tables: Vec<Table>,
    /// How many of `tables` are the poller's own (before the vendor profile adds its own).
    pub own_tables: usize,
}

impl Walked {
    pub fn rows(&self, key: Key) -> &[(Vec<u32>, Value)] {
        let column = self
            .keys
            .get(&key)
            .and_then(|(t, c, _)| self.tables.get(*t)?.columns.get(*c));
        column.map_or(&[], |c| &c.rows)
    }

    /// The primary column's rows of `role`.
    pub fn primary_rows(&self, role: Role) -> &[(Vec<u32>, Value)] {
        self.rows(Key {
            role,
            fallback: false,
        })
    }

    /// The value of `key` at ifIndex `index`. A walk's rows are in increasing index order.
    fn value(&self, key: Key, index: u32) -> Option<&Value> {
        let rows = self.rows(key);
        rows.binary_search_by(|(i, _)| i.as_slice().cmp(&[index]))
            .ok()
            .map(|at| &rows[at].1)
    }

    /// When the reply carrying the value of `key` at ifIndex `index` arrived.
    fn read_at(&self, key: Key, index: u32) -> Option<jiff::Timestamp> {
        let column = self
            .keys
            .get(&key)
            .and_then(|(t, c, _)| self.tables.get(*t)?.columns.get(*c))?;
        let at = column
            .rows
            .binary_search_by(|(i, _)| i.as_slice().cmp(&[index]))
            .ok()?;
        column.read_at(at)
    }

    fn scale_of(&self, key: Key) -> Option<&ColumnSpec> {
        self.keys.get(&key).map(|(_, _, c)| c)
    }

    /// Every ifIndex of the walked columns, in order. IF-MIB tables have one-arc indexes;
    /// rows with more are not this profile's table.
    pub fn indexes(&self) -> Vec<u32> {
        let mut all: Vec<u32> = self
            .keys
            .keys()
            .flat_map(|k| self.rows(*k))
            .filter_map(|(i, _)| match i.as_slice() {
                [i] => Some(*i),
                _ => None,
            })
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Takes in another walk (fallback columns): its columns come in addition.
    pub fn add(&mut self, more: Walked) {
        let offset = self.tables.len();
        self.keys.extend(
            more.keys
                .into_iter()
                .map(|(key, (t, c, spec))| (key, (t + offset, c, spec))),
        );
        self.anomalies.extend(more.anomalies);
        self.tables.extend(more.tables);
        self.own_tables = self.tables.len();
    }

    /// The text of a label column at `index`.
    pub fn text(&self, role: Role, index: u32) -> Option<String> {
        self.value(
            Key {
                role,
                fallback: false,
            },
            index,
        )
        .and_then(Value::as_text)
    }

    /// ifType at `index`.
    pub fn if_type(&self, index: u32) -> Option<i32> {
        match self.value(
            Key {
                role: Role::IfType,
                fallback: false,
            },
            index,
        ) {
            Some(Value::Integer(i)) => Some(*i),
            _ => None,
        }
    }

    /// The interface observation of `index`: 64-bit counters where the port has them, else
    /// 32-bit ones, each with the arrival of the reply that carried it; the speed from
    /// ifHighSpeed unless it says 0 and ifSpeed knows.
    pub fn interface(&self, index: u32, name: Arc<str>) -> Observation {
        let primary = |role| Key {
            role,
            fallback: false,
        };
        let fallback = |role| Key {
            role,
            fallback: true,
        };
        let value = |key: Key| self.value(key, index);
        let counter = |role| match (value(primary(role)), value(fallback(role))) {
            (Some(Value::Counter64(v)), _) => {
                (Some(Counter::C64(*v)), self.read_at(primary(role), index))
            }
            (_, Some(Value::Counter32(v))) => {
                (Some(Counter::C32(*v)), self.read_at(fallback(role), index))
            }
            _ => (None, None),
        };
        let (in_octets, in_read_at) = counter(Role::InOctets);
        let (out_octets, out_read_at) = counter(Role::OutOctets);
        let speed_of = |key: Key| {
            let v = value(key)?;
            let x = reading(v, &self.scale_of(key)?.scale)?;
            (x >= 0.0).then(|| x.round() as u64)
        };
        let speed_bps = match (
            speed_of(primary(Role::SpeedBps)),
            speed_of(fallback(Role::SpeedBps)),
        ) {
            (Some(high), _) if high > 0 => Some(high),
            (_, Some(low)) => Some(low),
            (high, None) => high,
        };
        Observation::Interface {
            subject: Subject::Interface { index, name },
            oper_up: value(primary(Role::OperStatus))
                .and_then(|v| v.as_i64())
                .map(|s| s == 1),
            in_octets,
            out_octets,
            speed_bps,
            discontinuity: match value(primary(Role::Discontinuity)) {
                Some(Value::TimeTicks(t)) => Some(*t),
                _ => None,
            },
            in_read_at,
            out_read_at,
        }
    }
}

/// Walks `columns` together (one multi-column walk).
pub(super) async fn walk_columns(
    session: &Session,
    columns: &[&Column],
) -> Result<Walked, SnmpError> {
    let mut out = Walked::default();
    if columns.is_empty() {
        return Ok(out);
    }
    let oids: Vec<Oid> = columns.iter().map(|c| c.spec.oid.clone()).collect();
    let table: Table = session.walk(&oids).await?;
    out.anomalies = table.anomalies.iter().map(|a| a.to_string()).collect();
    for (i, (c, column)) in columns.iter().zip(&table.columns).enumerate() {
        for (index, value) in &column.rows {
            if let ([n], Value::Counter64(v)) = (index.as_slice(), value)
                && *v >= 1 << 63
            {
                out.anomalies
                    .push(format!("implausible Counter64 {v} at {}.{n}", c.spec.oid));
            }
        }
        out.keys.insert(c.key, (0, i, c.spec.clone()));
    }
    out.tables.push(table);
    out.own_tables = out.tables.len();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::profile::ProfileSet;

    #[test]
    fn the_generic_profile_has_what_the_poller_needs() {
        let plan = IfMib::from_profile(&ProfileSet::builtin().generic());
        let roles = |cols: &[Column]| cols.iter().map(|c| c.key.role).collect::<Vec<_>>();
        for r in [Role::IfName, Role::IfDescr, Role::IfAlias, Role::IfType] {
            assert!(roles(&plan.labels).contains(&r), "{r:?}");
        }
        for r in [Role::OperStatus, Role::InOctets, Role::OutOctets] {
            assert!(roles(&plan.status).contains(&r), "{r:?}");
        }
        assert!(plan.oids(Schedule::Status).contains(&Oid::new(SYS_UPTIME)));
        assert!(plan.oids(Schedule::Slow).is_empty());
    }

    #[test]
    fn the_status_columns_of_the_generic_profile_prefer_64_bit_counters() {
        let plan = IfMib::from_profile(&ProfileSet::builtin().generic());
        let in_octets: Vec<(&Oid, bool)> = plan
            .status
            .iter()
            .filter(|c| c.key.role == Role::InOctets)
            .map(|c| (&c.spec.oid, c.key.fallback))
            .collect();
        // ifHCInOctets first; ifInOctets only as the fallback.
        assert_eq!(
            in_octets,
            vec![
                (&Oid::new([1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6]), false),
                (&Oid::new([1, 3, 6, 1, 2, 1, 2, 2, 1, 10]), true)
            ]
        );
        assert!(
            plan.with_fallback()
                .any(|r| r == Role::InOctets || r == Role::SpeedBps)
        );
    }
}
