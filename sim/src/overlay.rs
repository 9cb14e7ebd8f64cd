//! What a running scenario changes on one device: rows it serves instead of (or besides) the
//! device's own, and rows it hides (a V-SOL ONU that went down loses its optics rows).

use async_snmp::Oid;

use crate::table::{Entry, MibTable};

/// Rows served over a device's own table, and rows hidden from it.
#[derive(Debug, Default)]
pub(crate) struct Overlay {
    pub(crate) rows: MibTable,
    /// Sorted, without duplicates.
    hidden: Vec<Oid>,
}

impl Overlay {
    /// An overlay serving `rows` (the first of equal OIDs wins) and hiding `hidden`, except
    /// where `rows` serves the same OID.
    pub(crate) fn new(rows: Vec<Entry>, mut hidden: Vec<Oid>) -> Overlay {
        let rows = MibTable::from_rows(rows);
        hidden.sort();
        hidden.dedup();
        hidden.retain(|oid| rows.get(oid).is_none());
        Overlay { rows, hidden }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.hidden.is_empty()
    }

    pub(crate) fn hides(&self, oid: &Oid) -> bool {
        self.hidden.binary_search(oid).is_ok()
    }
}
