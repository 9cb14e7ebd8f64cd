//! What to walk and GET for a profile: its columns by schedule, one walk per table, the
//! instances of one row (`line watch`), and GET answers back into a table to decode.

use super::decode::IF_NAME;
use super::model::*;
use crate::collect::snmp::{Column, Oid, Table, Value};

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
            // Fallback columns are walked only when their primary turns out to be missing
            // (the poller decides, see `crate::collect::poller::ifmib`).
            let mut w: Vec<Oid> = t
                .columns
                .iter()
                .filter(|c| c.schedule == schedule && c.fallback_for.is_none())
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
    /// of the table not on the labels schedule and not a fallback, at that index. Decode the
    /// answers (see
    /// [`table_from_get`]) together with the cached labels, which name ports and lines.
    pub fn row_oids(&self, table: &str, index: &[u32]) -> Vec<Oid> {
        self.tables
            .iter()
            .filter(|t| t.name == table)
            .flat_map(|t| {
                t.columns
                    .iter()
                    .filter(|c| c.schedule != Schedule::Labels && c.fallback_for.is_none())
                    .map(|c| c.oid.child(index).child(&c.index_suffix))
            })
            .collect()
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
