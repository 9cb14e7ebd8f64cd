//! The multi-column table walk: with `values.rs` (our own OID and value types), the part of
//! the engine that does not depend on the SNMP crate, so it can be tested (and
//! property-tested) without a network.
//!
//! A walk of several columns of one table asks for all of them in one GETBULK (or GETNEXT for
//! v1), like snmp_exporter and LibreNMS do, and drops each column from the request once it has
//! left its subtree. Agents are not trusted: every reply either moves a column strictly forward
//! or ends it, and a walk has a ceiling on the values it keeps, so it always terminates.

use std::fmt;

pub use super::values::{Oid, Value};

/// Something wrong with what an agent answered during a walk. The walk goes on (or ends
/// cleanly) and reports these; the poller counts and logs them.
#[derive(Debug, Clone, PartialEq)]
pub enum Anomaly {
    /// The agent answered an OID that is not after the one asked for: the column is ended
    /// there, or the walk would loop.
    NotIncreasing { column: Oid, asked: Oid, got: Oid },
    /// A column ended with endOfMibView although the same walk saw objects after it: the
    /// agent's view does not end there. (endOfMibView after the last row of a table that is
    /// the last thing in the agent's MIB is the normal end of a walk, not this.)
    EndOfMibViewMidTable { column: Oid, after: Oid },
    /// noSuchObject/noSuchInstance where a walk expects a value or the end of the subtree.
    Exception {
        column: Oid,
        oid: Oid,
        value: String,
    },
    /// A reply with no variable bindings at all.
    EmptyReply,
    /// The walk hit its ceiling of values and stopped.
    TooManyValues { limit: usize },
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anomaly::NotIncreasing { column, asked, got } => {
                write!(
                    f,
                    "OID not increasing in column {column}: asked after {asked}, got {got}"
                )
            }
            Anomaly::EndOfMibViewMidTable { column, after } => {
                write!(
                    f,
                    "endOfMibView in the middle of a table: column {column} after {after}"
                )
            }
            Anomaly::Exception { column, oid, value } => {
                write!(f, "{value} at {oid} in a walk of {column}")
            }
            Anomaly::EmptyReply => f.write_str("a reply with no variable bindings"),
            Anomaly::TooManyValues { limit } => {
                write!(f, "walk stopped at its limit of {limit} values")
            }
        }
    }
}

/// One column's rows: (index after the column OID, value), in increasing index order.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub oid: Oid,
    pub rows: Vec<(Vec<u32>, Value)>,
    /// When the replies carrying the rows arrived: (position of the first row of a reply,
    /// its arrival), in row order. Empty when unknown (a column built from elsewhere).
    pub read_at: Vec<(usize, jiff::Timestamp)>,
}

impl Column {
    /// When the reply that carried the row at `position` (in `rows`) arrived.
    pub fn read_at(&self, position: usize) -> Option<jiff::Timestamp> {
        let after = self
            .read_at
            .partition_point(|(first, _)| *first <= position);
        after.checked_sub(1).map(|i| self.read_at[i].1)
    }
}

/// The outcome of a walk: every column asked, in the order asked, plus what went wrong.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub anomalies: Vec<Anomaly>,
}

impl Table {
    pub fn values(&self) -> usize {
        self.columns.iter().map(|c| c.rows.len()).sum()
    }

    pub fn column(&self, oid: &Oid) -> Option<&Column> {
        self.columns.iter().find(|c| &c.oid == oid)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Running,
    /// Left its subtree: the normal end.
    Left,
    EndOfMibView,
    Aborted,
}

struct ColumnState {
    column: Column,
    /// The OID to ask after next (the last one received, or the column itself).
    next: Oid,
    ending: Ending,
    /// The OID past the column that ended it (`Ending::Left`): proof that the agent's MIB
    /// goes on at least that far.
    left_at: Option<Oid>,
}

/// The state of a walk of several columns. Feed it replies with [`TableWalk::absorb`] until
/// [`TableWalk::is_done`].
pub struct TableWalk {
    columns: Vec<ColumnState>,
    anomalies: Vec<Anomaly>,
    values: usize,
    limit: usize,
}

impl TableWalk {
    /// A walk of `columns`, keeping at most `limit` values in all.
    pub fn new(columns: &[Oid], limit: usize) -> TableWalk {
        TableWalk {
            columns: columns
                .iter()
                .map(|c| ColumnState {
                    column: Column {
                        oid: c.clone(),
                        rows: Vec::new(),
                        read_at: Vec::new(),
                    },
                    next: c.clone(),
                    ending: Ending::Running,
                    left_at: None,
                })
                .collect(),
            anomalies: Vec::new(),
            values: 0,
            limit,
        }
    }

    /// The columns still running (their positions), and the OIDs to ask after, in order.
    pub fn pending(&self) -> (Vec<usize>, Vec<Oid>) {
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.ending == Ending::Running)
            .map(|(i, c)| (i, c.next.clone()))
            .unzip()
    }

    pub fn is_done(&self) -> bool {
        self.columns.iter().all(|c| c.ending != Ending::Running)
    }

    /// Ends one column without an anomaly (v1's noSuchName at the end of the MIB).
    pub fn end_column(&mut self, position: usize) {
        if let Some(c) = self.columns.get_mut(position) {
            c.ending = Ending::Left;
        }
    }

    /// Ends every column: the caller gave up (an error); what was read so far is kept.
    pub fn abort(&mut self) {
        for c in &mut self.columns {
            if c.ending == Ending::Running {
                c.ending = Ending::Aborted;
            }
        }
    }

    /// Takes in one GETBULK (or GETNEXT) reply to a request for `asked` (positions as given by
    /// `pending`): bindings come row by row, one per asked column. Every binding moves its
    /// column strictly forward or ends it, so repeated calls always terminate.
    pub fn absorb(&mut self, asked: &[usize], bindings: impl IntoIterator<Item = (Oid, Value)>) {
        self.absorb_at(asked, bindings, None)
    }

    /// [`TableWalk::absorb`] of a reply that arrived at `at`: its rows are stamped with it.
    pub fn absorb_at(
        &mut self,
        asked: &[usize],
        bindings: impl IntoIterator<Item = (Oid, Value)>,
        at: Option<jiff::Timestamp>,
    ) {
        let mut any = false;
        if !asked.is_empty() {
            for (i, (oid, value)) in bindings.into_iter().enumerate() {
                any = true;
                let Some(col) = self.columns.get_mut(asked[i % asked.len()]) else {
                    continue;
                };
                if col.ending != Ending::Running {
                    continue;
                }
                if value == Value::EndOfMibView {
                    col.ending = Ending::EndOfMibView;
                    continue;
                }
                let Some(index) = oid.suffix_after(&col.column.oid) else {
                    col.ending = Ending::Left;
                    col.left_at = Some(oid);
                    continue;
                };
                if oid <= col.next {
                    self.anomalies.push(Anomaly::NotIncreasing {
                        column: col.column.oid.clone(),
                        asked: col.next.clone(),
                        got: oid,
                    });
                    col.ending = Ending::Aborted;
                    continue;
                }
                if matches!(value, Value::NoSuchObject | Value::NoSuchInstance) {
                    self.anomalies.push(Anomaly::Exception {
                        column: col.column.oid.clone(),
                        oid: oid.clone(),
                        value: format!("{value:?}"),
                    });
                    col.ending = Ending::Aborted;
                    continue;
                }
                if self.values >= self.limit {
                    self.anomalies
                        .push(Anomaly::TooManyValues { limit: self.limit });
                    for c in &mut self.columns {
                        if c.ending == Ending::Running {
                            c.ending = Ending::Aborted;
                        }
                    }
                    break;
                }
                let index = index.to_vec();
                if let Some(at) = at
                    && col.column.read_at.last().is_none_or(|(_, t)| *t != at)
                {
                    col.column.read_at.push((col.column.rows.len(), at));
                }
                col.column.rows.push((index, value));
                col.next = oid;
                self.values += 1;
            }
        }
        if !any {
            self.anomalies.push(Anomaly::EmptyReply);
            self.abort();
        }
    }

    pub fn finish(self) -> Table {
        let mut anomalies = self.anomalies;
        // The furthest the agent's MIB is known to go: an endOfMibView before that is a lie
        // (or a broken view); at or after it, the MIB really ends there.
        let furthest = self
            .columns
            .iter()
            .flat_map(|c| {
                // A column's own OID (nothing received yet) proves nothing.
                let received = (!c.column.rows.is_empty()).then_some(&c.next);
                [received, c.left_at.as_ref()]
            })
            .flatten()
            .max();
        // An empty column that ends the view while others of its table have rows is a lie too
        // (an agent that cannot encode the column's values, say).
        let any_rows = self.columns.iter().any(|c| !c.column.rows.is_empty());
        for c in &self.columns {
            let lied =
                furthest.is_some_and(|f| *f > c.next) || (c.column.rows.is_empty() && any_rows);
            if c.ending == Ending::EndOfMibView && lied {
                anomalies.push(Anomaly::EndOfMibViewMidTable {
                    column: c.column.oid.clone(),
                    after: c.next.clone(),
                });
            }
        }
        // A column's rows are kept as long as the walk (labels: until the next labels poll):
        // without the room they grew into.
        let columns = self
            .columns
            .into_iter()
            .map(|mut c| {
                c.column.rows.shrink_to_fit();
                c.column.read_at.shrink_to_fit();
                c.column
            })
            .collect();
        Table { columns, anomalies }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn oid(s: &str) -> Oid {
        Oid::parse(s).expect("test OID")
    }

    #[test]
    fn oids_parse_print_and_order() {
        assert_eq!(oid(".1.3.6.1").to_string(), "1.3.6.1");
        assert!(Oid::parse("1..3").is_err());
        assert!(Oid::parse("").is_err());
        assert!(Oid::parse("1.x").is_err());
        assert!(oid("1.3.6.1.2") < oid("1.3.6.1.10"));
        assert!(oid("1.3.6") < oid("1.3.6.0"));
        assert_eq!(
            oid("1.3.6.1.5").suffix_after(&oid("1.3.6")),
            Some(&[1, 5][..])
        );
    }

    #[test]
    fn two_columns_of_different_lengths_in_one_walk() {
        let (a, b) = (oid("1.1"), oid("1.2"));
        let mut w = TableWalk::new(&[a.clone(), b.clone()], 100);
        let (pos, _) = w.pending();
        // Row by row: a.1 b.1, a.2 b.2, then a has ended (1.2.1 is in b) while b goes on.
        w.absorb(
            &pos,
            vec![
                (oid("1.1.1"), Value::Integer(1)),
                (oid("1.2.1"), Value::Integer(10)),
                (oid("1.1.2"), Value::Integer(2)),
                (oid("1.2.2"), Value::Integer(20)),
                (oid("1.2.1"), Value::Integer(10)),
                (oid("1.2.3"), Value::Integer(30)),
            ],
        );
        let (pos, next) = w.pending();
        assert_eq!(pos, vec![1]);
        assert_eq!(next, vec![oid("1.2.3")]);
        w.absorb(&pos, vec![(oid("1.3.1"), Value::Integer(0))]);
        assert!(w.is_done());
        let t = w.finish();
        assert!(t.anomalies.is_empty(), "{:?}", t.anomalies);
        assert_eq!(t.columns[0].rows.len(), 2);
        assert_eq!(t.columns[1].rows.len(), 3);
    }

    #[test]
    fn an_oid_going_backwards_ends_the_column_with_an_anomaly() {
        let c = oid("1.1");
        let mut w = TableWalk::new(std::slice::from_ref(&c), 100);
        w.absorb(
            &[0],
            vec![
                (oid("1.1.60"), Value::Integer(1)),
                (oid("1.1.59"), Value::Integer(2)),
            ],
        );
        assert!(w.is_done());
        let t = w.finish();
        assert_eq!(t.columns[0].rows.len(), 1);
        assert!(matches!(t.anomalies[0], Anomaly::NotIncreasing { .. }));
    }

    #[test]
    fn end_of_mib_view_mid_table_is_reported() {
        let mut w = TableWalk::new(&[oid("1.1"), oid("1.2")], 100);
        w.absorb(
            &[0, 1],
            vec![
                (oid("1.1.1"), Value::Integer(1)),
                (oid("1.2.1"), Value::EndOfMibView),
            ],
        );
        w.absorb(&[0], vec![(oid("1.2.1"), Value::Integer(1))]);
        let t = w.finish();
        assert!(
            matches!(t.anomalies[0], Anomaly::EndOfMibViewMidTable { .. }),
            "{:?}",
            t.anomalies
        );
    }

    #[test]
    fn rows_carry_the_arrival_of_their_reply() {
        let t0 = jiff::Timestamp::from_second(1_700_000_000).expect("time");
        let t1 = t0 + jiff::SignedDuration::from_secs(3);
        let mut w = TableWalk::new(&[oid("1.1"), oid("1.2")], 100);
        w.absorb_at(
            &[0, 1],
            vec![
                (oid("1.1.1"), Value::Integer(1)),
                (oid("1.2.1"), Value::Integer(10)),
                (oid("1.1.2"), Value::Integer(2)),
            ],
            Some(t0),
        );
        let (pos, _) = w.pending();
        w.absorb_at(
            &pos,
            vec![
                (oid("1.1.3"), Value::Integer(3)),
                (oid("1.2.2"), Value::Integer(20)),
                (oid("1.3.1"), Value::Integer(0)),
                (oid("1.3.1"), Value::Integer(0)),
            ],
            Some(t1),
        );
        assert!(w.is_done());
        let t = w.finish();
        let times = |c: usize| -> Vec<_> {
            (0..t.columns[c].rows.len())
                .map(|i| t.columns[c].read_at(i))
                .collect()
        };
        assert_eq!(times(0), vec![Some(t0), Some(t0), Some(t1)]);
        assert_eq!(times(1), vec![Some(t0), Some(t1)]);
        assert_eq!(t.columns[0].read_at(9), Some(t1));
    }

    #[test]
    fn a_table_that_ends_the_mib_ends_the_walk_normally() {
        // The last column of the last table meets endOfMibView after its last row, while
        // the columns before it leave into the next column: the normal end of a walk.
        let mut w = TableWalk::new(&[oid("1.1"), oid("1.2")], 100);
        w.absorb(
            &[0, 1],
            vec![
                (oid("1.1.1"), Value::Integer(1)),
                (oid("1.2.1"), Value::Integer(10)),
                (oid("1.1.2"), Value::Integer(2)),
                (oid("1.2.2"), Value::Integer(20)),
                (oid("1.2.1"), Value::Integer(10)),
                (oid("1.2.2"), Value::EndOfMibView),
                (oid("1.2.2"), Value::Integer(20)),
                (oid("1.2.2"), Value::EndOfMibView),
            ],
        );
        assert!(w.is_done());
        let t = w.finish();
        assert!(t.anomalies.is_empty(), "{:?}", t.anomalies);
        assert_eq!(t.values(), 4);
        // Every column at the end of the MIB at once (a one-column walk, or all columns
        // empty): normal too.
        let mut w = TableWalk::new(&[oid("1.1"), oid("1.2")], 100);
        w.absorb(
            &[0, 1],
            vec![
                (oid("1.1"), Value::EndOfMibView),
                (oid("1.2"), Value::EndOfMibView),
            ],
        );
        assert!(w.finish().anomalies.is_empty());
    }

    fn arb_reply() -> impl Strategy<Value = Vec<(Vec<u32>, u8)>> {
        prop::collection::vec((prop::collection::vec(0u32..4, 0..5), 0u8..6), 0..12)
    }

    proptest! {
        /// Whatever an agent answers, a walk ends within a bounded number of replies, and what
        /// it keeps is in its column and strictly increasing.
        #[test]
        fn any_replies_end_the_walk_with_sane_rows(replies in prop::collection::vec(arb_reply(), 1..200)) {
            let columns = [oid("1.1"), oid("1.2"), oid("1.3")];
            let limit = 50;
            let mut w = TableWalk::new(&columns, limit);
            let mut steps = 0;
            for reply in replies.iter().cycle() {
                if w.is_done() { break; }
                steps += 1;
                // Each reply moves a column or ends one; with the limit that bounds the steps.
                prop_assert!(steps <= limit + columns.len() + 1, "walk did not terminate");
                let (pos, _) = w.pending();
                let bindings = reply.iter().map(|(arcs, kind)| {
                    let value = match kind {
                        0 => Value::EndOfMibView,
                        1 => Value::NoSuchObject,
                        _ => Value::Integer(*kind as i32),
                    };
                    (Oid::new([vec![1], arcs.clone()].concat()), value)
                });
                w.absorb(&pos, bindings);
            }
            let t = w.finish();
            prop_assert!(t.values() <= limit);
            for c in &t.columns {
                for pair in c.rows.windows(2) {
                    prop_assert!(pair[0].0 < pair[1].0);
                }
            }
        }
    }
}
