//! The served MIB: a frozen, sorted table of cells, shared between agents with `Arc`.
//!
//! A sorted `Vec` with binary search gives the same O(log n) GET/GETNEXT as a `BTreeMap`
//! with less memory and better locality; tables never change after they are built (the
//! moving values are computed from the device clock when a cell is read).

use std::collections::BTreeMap;

use async_snmp::{Oid, Value};

use crate::rng::hash_arcs;

/// `sysUpTime.0`.
pub(crate) const SYS_UPTIME: [u32; 9] = [1, 3, 6, 1, 2, 1, 1, 3, 0];

/// What a cell serves.
#[derive(Debug, Clone)]
pub enum Cell {
    /// A value served as recorded.
    Fixed(Value),
    /// `sysUpTime.0`: the recorded ticks, advancing in real time.
    Uptime(u32),
    /// A Counter32 growing from `base` at `scale` times the device rate, spread by `key`.
    Counter32 { base: u32, key: u32, scale: u32 },
    /// A Counter64 growing from `base` at `scale` times the device rate, spread by `key`.
    Counter64 { base: u64, key: u32, scale: u32 },
}

impl Cell {
    /// The cell for a recorded value: counters and sysUpTime move, the rest is fixed.
    /// The rate spread of a counter is keyed on its OID.
    pub fn from_value(oid: &Oid, value: Value) -> Cell {
        let key = hash_arcs(oid.arcs()) as u32;
        match value {
            Value::Counter32(base) => Cell::Counter32 {
                base,
                key,
                scale: 1,
            },
            Value::Counter64(base) => Cell::Counter64 {
                base,
                key,
                scale: 1,
            },
            Value::TimeTicks(t) if oid.arcs() == SYS_UPTIME => Cell::Uptime(t),
            other => Cell::Fixed(other),
        }
    }
}

/// One row of a table.
#[derive(Debug, Clone)]
pub struct Entry {
    pub oid: Oid,
    pub cell: Cell,
}

/// A sorted, immutable set of cells.
#[derive(Debug, Clone, Default)]
pub struct MibTable {
    entries: Vec<Entry>,
}

impl MibTable {
    /// Build from a parsed recording.
    pub fn from_recording(entries: &BTreeMap<Oid, Value>) -> MibTable {
        MibTable {
            entries: entries
                .iter()
                .map(|(oid, value)| Entry {
                    oid: oid.clone(),
                    cell: Cell::from_value(oid, value.clone()),
                })
                .collect(),
        }
    }

    /// Build from rows in any order; for a duplicated OID the first row wins.
    pub fn from_rows(mut rows: Vec<Entry>) -> MibTable {
        rows.sort_by(|a, b| a.oid.cmp(&b.oid));
        rows.dedup_by(|later, earlier| later.oid == earlier.oid);
        rows.shrink_to_fit();
        MibTable { entries: rows }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry with exactly this OID.
    pub fn get(&self, oid: &Oid) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.oid.cmp(oid))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// The index of the first entry strictly after `oid`.
    pub fn next_index(&self, oid: &Oid) -> usize {
        self.entries.partition_point(|e| &e.oid <= oid)
    }

    /// The first entry strictly after `oid`.
    pub fn next(&self, oid: &Oid) -> Option<&Entry> {
        self.entries.get(self.next_index(oid))
    }
}

/// Something an agent can serve: a materialised table, or columns generated on demand.
pub trait MibView: Send + Sync {
    /// The cell at exactly `oid`.
    fn cell_at(&self, oid: &Oid) -> Option<Cell>;
    /// The first OID strictly after `oid`, with its cell.
    fn next_cell(&self, oid: &Oid) -> Option<(Oid, Cell)>;
    /// Number of OIDs served.
    fn oid_count(&self) -> usize;
}

impl MibView for MibTable {
    fn cell_at(&self, oid: &Oid) -> Option<Cell> {
        self.get(oid).map(|e| e.cell.clone())
    }

    fn next_cell(&self, oid: &Oid) -> Option<(Oid, Cell)> {
        self.next(oid).map(|e| (e.oid.clone(), e.cell.clone()))
    }

    fn oid_count(&self) -> usize {
        self.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_strictly_greater_and_ordered_by_arcs() {
        let rows = [
            "1.3.6.1.2.1.2.2.1.2.10",
            "1.3.6.1.2.1.2.2.1.2.9",
            "1.3.6.1.2.1.2.2.1.2.9",
        ]
        .iter()
        .map(|s| Entry {
            oid: Oid::parse(s).expect("oid"),
            cell: Cell::Fixed(Value::Integer(1)),
        })
        .collect();
        let t = MibTable::from_rows(rows);
        assert_eq!(t.len(), 2);
        let first = t.next(&Oid::parse("1.3").expect("oid")).expect("first");
        assert_eq!(first.oid, Oid::parse("1.3.6.1.2.1.2.2.1.2.9").expect("oid"));
        let second = t.next(&first.oid).expect("second");
        assert_eq!(
            second.oid,
            Oid::parse("1.3.6.1.2.1.2.2.1.2.10").expect("oid")
        );
        assert!(t.next(&second.oid).is_none());
        assert!(
            t.get(&Oid::parse("1.3.6.1.2.1.2.2.1.2").expect("oid"))
                .is_none()
        );
    }
}
