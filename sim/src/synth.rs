//! Synthetic OLTs with thousands of ONUs: real recordings carry at most a few hundred.
//!
//! An OLT is built from a *base* (the system group of a real recording, or a generic one)
//! plus rows generated per ONU. IF-MIB rows come from the built-in shapes; vendor tables
//! (ZTE `zxAnPonRxOpticalPower`, UFiber `ubntOnusTable`, ...) can be added by implementing
//! [`OnuRows`] and pushing the generator into [`SyntheticOlt::extra`].

use std::fmt;
use std::sync::Arc;

use async_snmp::{Oid, Value};

use crate::rng::{mix2, unit};
use crate::table::{Cell, Entry, MibTable, MibView};

const IF_NUMBER: [u32; 9] = [1, 3, 6, 1, 2, 1, 2, 1, 0];
const IF_ENTRY: [u32; 9] = [1, 3, 6, 1, 2, 1, 2, 2, 1];
const IFX_ENTRY: [u32; 10] = [1, 3, 6, 1, 2, 1, 31, 1, 1, 1];
const SYSTEM: [u32; 7] = [1, 3, 6, 1, 2, 1, 1];

/// Which IF-MIB columns a synthetic OLT serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OltShape {
    /// ifDescr, ifName (`gpon-onu_1/<card>/<port>:<onu>`), ifAlias (line label `L-00042`),
    /// ifSpeed, ifOperStatus, ifInOctets/ifOutOctets (Counter32), ifHCInOctets/
    /// ifHCOutOctets (Counter64, consistent with the 32-bit ones), ifHighSpeed.
    /// 64 ONUs per PON port, 16 ports per card.
    Standard,
    /// As `Standard`, but named like a V-SOL EPON OLT: `EPON0/<pon>:<onu>`, 64 ONUs per
    /// PON port, ifHighSpeed 1000.
    VsolEpon,
    /// Exactly the columns, names and value shapes of the peer benchmark's
    /// `bench/peers/gen_snmprec.py` (ifDescr `GPON 0/s/p ONU n`, ifOperStatus,
    /// ifName `gpon-onu_0/s/p:n`, ifHCIn/OutOctets below 2^50, ifHighSpeed, and one
    /// `entPhysicalDescr.1` after ifXTable), so coopnoc's benchmark compares with the peers'.
    PeerBench,
}

/// Why an ONU is down, as OLTs report it (the words are those of coopnoc's profiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DownCause {
    /// Loss of signal: the OLT no longer hears the ONU (a cut or dirty fibre).
    Los,
    /// The ONU said it was losing power before it went (its member switched it off, or a
    /// power cut).
    DyingGasp,
    /// Deregistered for another reason (timeout, OLT decision) or never came back.
    Offline,
}

impl DownCause {
    pub const ALL: [DownCause; 3] = [DownCause::Los, DownCause::DyingGasp, DownCause::Offline];

    pub fn as_str(self) -> &'static str {
        match self {
            DownCause::Los => "los",
            DownCause::DyingGasp => "dying-gasp",
            DownCause::Offline => "offline",
        }
    }

    /// The cause named `word` (`los`, `dying-gasp`, `offline`).
    pub fn parse(word: &str) -> Option<DownCause> {
        Self::ALL.into_iter().find(|c| c.as_str() == word)
    }
}

impl fmt::Display for DownCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One ONU of a synthetic OLT, as given to [`OnuRows`] generators.
#[derive(Debug, Clone)]
pub struct Onu {
    /// 1-based position on the OLT; also its IF-MIB ifIndex.
    pub n: u32,
    pub if_index: u32,
    pub card: u32,
    pub port: u32,
    /// ONU id on its PON port (1-based).
    pub onu_id: u32,
    pub if_name: String,
    /// The PON port as the OLT names it in the ONU's ifName (`1/1/3` for `gpon-onu_1/1/3:7`,
    /// `0/2` for `EPON0/2:5`).
    pub pon: String,
    /// The splitter the ONU hangs from, unique on its OLT: `SPL-<pon>-<k>`, the k-th group
    /// of [`SyntheticOlt::onus_per_splitter`] ONUs of the PON in ONU-id order.
    pub splitter: String,
    /// The subscriber line label (ifAlias), unique across the network if `first_line` is.
    pub line_label: String,
    /// Whether the ONU is up (about 95 %, deterministic; a scenario may take it down).
    pub up: bool,
    /// Why it is down (`None` when up): for the ONUs down from the start, a deterministic
    /// mix of about 55 % dying gasp, 30 % LOS and 15 % offline.
    pub cause: Option<DownCause>,
    /// Added to every optical level the ONU shows, in dB (0 unless a scenario moves it).
    pub rx_offset_db: f64,
    /// A per-ONU seed for generators that need more randomness.
    pub seed: u64,
}

impl Onu {
    /// This ONU as a scenario leaves it: down for `cause` (an ONU already down keeps its
    /// own cause), and its optical levels moved by `rx_offset_db`.
    pub fn with_condition(mut self, cause: Option<DownCause>, rx_offset_db: f64) -> Onu {
        if self.up
            && let Some(cause) = cause
        {
            self.up = false;
            self.cause = Some(cause);
        }
        self.rx_offset_db += rx_offset_db;
        self
    }
}

/// Adds vendor-specific per-ONU rows (e.g. optical levels) to a synthetic OLT.
pub trait OnuRows: Send + Sync {
    /// Push the rows of one ONU. Counter32/Counter64 values move like recorded ones.
    fn rows(&self, onu: &Onu, out: &mut RowSink);
}

/// Collects generated rows.
#[derive(Default)]
pub struct RowSink {
    rows: Vec<Entry>,
}

impl RowSink {
    /// A row served as given (counters move, keyed on the OID).
    pub fn push(&mut self, oid: Oid, value: Value) {
        let cell = Cell::from_value(&oid, value);
        self.rows.push(Entry { oid, cell });
    }

    /// A moving counter whose rate spread is chosen by `key` (rows with the same key grow
    /// at the same rate, e.g. a 32-bit counter and its 64-bit twin) and which grows
    /// `scale` times faster than one line (e.g. a PON port carrying 64 ONUs).
    pub fn push_counter(&mut self, oid: Oid, base: u64, key: u32, scale: u32, bits64: bool) {
        let cell = if bits64 {
            Cell::Counter64 { base, key, scale }
        } else {
            Cell::Counter32 {
                base: base as u32,
                key,
                scale,
            }
        };
        self.rows.push(Entry { oid, cell });
    }
}

/// A synthetic OLT.
#[derive(Clone)]
pub struct SyntheticOlt {
    /// Number of ONU interfaces.
    pub onus: u32,
    /// sysName.
    pub sys_name: String,
    /// Line number of the first ONU's label (`L-00001` if 1).
    pub first_line: u32,
    /// A bundled recording whose system group (sysDescr, sysObjectID, sysUpTime...) is
    /// reused, e.g. `"zxa10_c320"` or `"vsolution_v1600d"`; `None` for a generic one.
    pub base: Option<&'static str>,
    pub shape: OltShape,
    /// Seed of every generated value.
    pub seed: u64,
    /// Vendor per-ONU tables added after the IF-MIB rows.
    pub extra: Vec<Arc<dyn OnuRows>>,
    /// ONUs per splitter on a PON port; `None`: 16 (GPON shapes), 8 (`VsolEpon`).
    pub splitter_size: Option<u32>,
}

impl fmt::Debug for SyntheticOlt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyntheticOlt")
            .field("onus", &self.onus)
            .field("sys_name", &self.sys_name)
            .field("first_line", &self.first_line)
            .field("base", &self.base)
            .field("shape", &self.shape)
            .field("seed", &self.seed)
            .field("extra", &self.extra.len())
            .field("splitter_size", &self.splitter_size)
            .finish()
    }
}

impl SyntheticOlt {
    /// A standard-shape OLT with a generic system group.
    pub fn new(onus: u32, sys_name: impl Into<String>) -> SyntheticOlt {
        SyntheticOlt {
            onus,
            sys_name: sys_name.into(),
            first_line: 1,
            base: None,
            shape: OltShape::Standard,
            seed: 42,
            extra: Vec::new(),
            splitter_size: None,
        }
    }

    /// The peer benchmark's `olt10k`: 10,000 ONUs in [`OltShape::PeerBench`].
    pub fn olt10k() -> SyntheticOlt {
        SyntheticOlt {
            shape: OltShape::PeerBench,
            ..SyntheticOlt::new(10_000, "olt-bench-1")
        }
    }

    /// A short description for listings.
    pub fn describe(&self) -> String {
        match self.base {
            Some(base) => format!("synthetic OLT, {} ONUs, system group of {base}", self.onus),
            None => format!("synthetic OLT, {} ONUs", self.onus),
        }
    }

    /// Card (slot), PON port and ONU id of the ONU at position `n` (1-based).
    fn position(&self, n: u32) -> (u32, u32, u32) {
        match self.shape {
            OltShape::Standard => (
                1 + (n - 1) / 1024,
                1 + ((n - 1) / 64) % 16,
                1 + (n - 1) % 64,
            ),
            OltShape::VsolEpon => (0, 1 + (n - 1) / 64, 1 + (n - 1) % 64),
            OltShape::PeerBench => (
                1 + (n - 1) / 2048,
                1 + ((n - 1) / 128) % 16,
                1 + (n - 1) % 128,
            ),
        }
    }

    /// ONUs per splitter (see [`Onu::splitter`]).
    pub fn onus_per_splitter(&self) -> u32 {
        self.splitter_size
            .filter(|&s| s > 0)
            .unwrap_or(match self.shape {
                OltShape::Standard | OltShape::PeerBench => 16,
                OltShape::VsolEpon => 8,
            })
    }

    /// The PON port of ONU `n` as the OLT names it (`1/1/3`, `0/2`).
    pub fn pon_name(&self, n: u32) -> String {
        let (card, port, _) = self.position(n);
        match self.shape {
            OltShape::Standard => format!("1/{card}/{port}"),
            OltShape::VsolEpon => format!("{card}/{port}"),
            OltShape::PeerBench => format!("0/{card}/{port}"),
        }
    }

    /// The splitter ONU `n` hangs from: `SPL-<pon>-<k>`, unique on this OLT.
    pub fn splitter_name(&self, n: u32) -> String {
        let (_, _, onu_id) = self.position(n);
        let k = 1 + (onu_id - 1) / self.onus_per_splitter();
        format!("SPL-{}-{k}", self.pon_name(n))
    }

    fn if_name(&self, n: u32) -> String {
        let (card, port, onu_id) = self.position(n);
        match self.shape {
            OltShape::Standard => format!("gpon-onu_1/{card}/{port}:{onu_id}"),
            OltShape::VsolEpon => format!("EPON{card}/{port}:{onu_id}"),
            OltShape::PeerBench => format!("gpon-onu_0/{card}/{port}:{onu_id}"),
        }
    }

    /// The subscriber line label (ifAlias) of ONU `n` (1-based).
    pub fn line_label(&self, n: u32) -> String {
        format!("L-{:05}", self.first_line + n - 1)
    }

    fn onu_seed(&self, n: u32) -> u64 {
        mix2(self.seed, u64::from(n))
    }

    fn is_up(&self, n: u32) -> bool {
        let salt = match self.shape {
            OltShape::Standard | OltShape::VsolEpon => 1,
            OltShape::PeerBench => 11,
        };
        unit(mix2(self.onu_seed(n), salt)) < 0.95
    }

    /// Why ONU `n` is down from the start (`None` if it is up).
    pub fn baseline_cause(&self, n: u32) -> Option<DownCause> {
        if self.is_up(n) {
            return None;
        }
        let draw = unit(mix2(self.onu_seed(n), 7));
        Some(if draw < 0.55 {
            DownCause::DyingGasp
        } else if draw < 0.85 {
            DownCause::Los
        } else {
            DownCause::Offline
        })
    }

    /// The ONU at position `n` (1-based), as it is when the network starts.
    pub fn onu(&self, n: u32) -> Onu {
        let (card, port, onu_id) = self.position(n);
        Onu {
            n,
            if_index: n,
            card,
            port,
            onu_id,
            if_name: self.if_name(n),
            pon: self.pon_name(n),
            splitter: self.splitter_name(n),
            line_label: self.line_label(n),
            up: self.is_up(n),
            cause: self.baseline_cause(n),
            rx_offset_db: 0.0,
            seed: self.onu_seed(n),
        }
    }

    /// The rows ONU `onu` serves (IF-MIB status and the vendor tables of [`Self::extra`]),
    /// for a scenario that changes its condition; PON-port rows its generators add come too.
    pub fn onu_rows(&self, onu: &Onu) -> Vec<Entry> {
        let mut sink = RowSink::default();
        sink.push(
            Oid::from([1, 3, 6, 1, 2, 1, 2, 2, 1, 8, onu.n]),
            Value::Integer(if onu.up { 1 } else { 2 }),
        );
        for generator in &self.extra {
            generator.rows(onu, &mut sink);
        }
        sink.rows
    }

    /// Generate the table. The IF-MIB columns are computed on demand (a few bytes per
    /// OLT, whatever its size); the system group and the rows of [`Self::extra`]
    /// generators are stored.
    pub fn build(&self) -> OltTable {
        let mut sink = RowSink::default();
        self.system_group(&mut sink);
        if !self.extra.is_empty() {
            for n in 1..=self.onus {
                let onu = self.onu(n);
                for generator in &self.extra {
                    generator.rows(&onu, &mut sink);
                }
            }
        }
        // ifNumber counts the ONU interfaces and those generators added (PON ports).
        let if_descr = Oid::from([1, 3, 6, 1, 2, 1, 2, 2, 1, 2]);
        let added = sink
            .rows
            .iter()
            .filter(|e| e.oid.starts_with(&if_descr))
            .count();
        sink.push(
            Oid::from(IF_NUMBER),
            Value::Integer((self.onus as usize + added) as i32),
        );
        // Something after ifXTable and after the vendor tables, as on a real device: a walk of
        // a table's last column then ends on an out-of-subtree varbind, not on endOfMibView
        // (which a poller rightly flags when other columns go on).
        sink.push(
            Oid::from([1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 2, 1]),
            Value::from("Synthetic OLT chassis"),
        );
        if self.shape != OltShape::PeerBench {
            // snmpEngineBoots.0 (SNMP-FRAMEWORK-MIB), the last object a net-snmp agent shows.
            sink.push(
                Oid::from([1, 3, 6, 1, 6, 3, 10, 2, 1, 2, 0]),
                Value::Integer(1),
            );
        }
        let columns = match self.shape {
            OltShape::Standard | OltShape::VsolEpon => vec![
                (column_prefix(&IF_ENTRY, 2), Column::Descr),
                (column_prefix(&IF_ENTRY, 5), Column::Speed),
                (column_prefix(&IF_ENTRY, 8), Column::OperStatus),
                (column_prefix(&IF_ENTRY, 10), Column::InOctets),
                (column_prefix(&IF_ENTRY, 16), Column::OutOctets),
                (column_prefix(&IFX_ENTRY, 1), Column::Name),
                (column_prefix(&IFX_ENTRY, 6), Column::HcInOctets),
                (column_prefix(&IFX_ENTRY, 10), Column::HcOutOctets),
                (column_prefix(&IFX_ENTRY, 15), Column::HighSpeed),
                (column_prefix(&IFX_ENTRY, 18), Column::Alias),
            ],
            OltShape::PeerBench => vec![
                (column_prefix(&IF_ENTRY, 2), Column::Descr),
                (column_prefix(&IF_ENTRY, 8), Column::OperStatus),
                (column_prefix(&IFX_ENTRY, 1), Column::Name),
                (column_prefix(&IFX_ENTRY, 6), Column::HcInOctets),
                (column_prefix(&IFX_ENTRY, 10), Column::HcOutOctets),
                (column_prefix(&IFX_ENTRY, 15), Column::HighSpeed),
            ],
        };
        OltTable {
            stored: MibTable::from_rows(sink.rows),
            olt: SyntheticOlt {
                extra: Vec::new(),
                ..self.clone()
            },
            columns,
        }
    }

    /// The cell of IF-MIB column `column` for ONU `n`.
    fn cell(&self, column: Column, n: u32) -> Cell {
        let seed = self.onu_seed(n);
        let peer = self.shape == OltShape::PeerBench;
        // Standard: a 32-bit counter and its 64-bit twin share base and rate.
        let (in_base, out_base) = if peer {
            (mix2(seed, 12) >> 14, mix2(seed, 13) >> 14) // below 2^50, as the peer's file
        } else {
            (mix2(seed, 4) >> 24, mix2(seed, 5) >> 26) // a few hundred GB already counted
        };
        let (key_in, key_out) = (mix2(seed, 2) as u32, mix2(seed, 3) as u32);
        match column {
            Column::Descr => Cell::Fixed(Value::from(if peer {
                let (slot, port, onu_id) = self.position(n);
                format!("GPON 0/{slot}/{port} ONU {onu_id}")
            } else {
                self.if_name(n)
            })),
            // GPON is 2.5 Gbit/s: ifSpeed saturates at 2^32-1, as RFC 2863 says.
            Column::Speed => Cell::Fixed(Value::Gauge32(u32::MAX)),
            Column::OperStatus => Cell::Fixed(Value::Integer(if self.is_up(n) { 1 } else { 2 })),
            Column::InOctets => Cell::Counter32 {
                base: in_base as u32,
                key: key_in,
                scale: 1,
            },
            Column::OutOctets => Cell::Counter32 {
                base: out_base as u32,
                key: key_out,
                scale: 1,
            },
            Column::Name => Cell::Fixed(Value::from(self.if_name(n))),
            Column::HcInOctets => Cell::Counter64 {
                base: in_base,
                key: key_in,
                scale: 1,
            },
            Column::HcOutOctets => Cell::Counter64 {
                base: out_base,
                key: key_out,
                scale: 1,
            },
            Column::HighSpeed => Cell::Fixed(Value::Gauge32(if peer {
                [1000, 2500, 10000][(mix2(seed, 14) % 3) as usize]
            } else if self.shape == OltShape::VsolEpon {
                1000
            } else {
                2500
            })),
            Column::Alias => Cell::Fixed(Value::from(self.line_label(n))),
        }
    }

    fn system_group(&self, sink: &mut RowSink) {
        let system = Oid::from(SYSTEM);
        let base = self.base.and_then(crate::recordings::table);
        match &base {
            Some(table) => {
                for entry in table
                    .entries()
                    .iter()
                    .filter(|e| e.oid.starts_with(&system))
                {
                    sink.rows.push(entry.clone());
                }
            }
            None => {
                let descr = match self.shape {
                    OltShape::PeerBench => {
                        format!("Synthetic OLT, 10G-GPON, {} ONU interfaces", self.onus)
                    }
                    OltShape::Standard | OltShape::VsolEpon => {
                        format!(
                            "coopnoc-sim synthetic PON OLT, {} ONU interfaces",
                            self.onus
                        )
                    }
                };
                sink.push(Oid::from([1, 3, 6, 1, 2, 1, 1, 1, 0]), Value::from(descr));
                sink.push(
                    Oid::from([1, 3, 6, 1, 2, 1, 1, 2, 0]),
                    Value::ObjectIdentifier(Oid::from([1, 3, 6, 1, 4, 1, 99999, 1, 1])),
                );
                sink.push(
                    Oid::from([1, 3, 6, 1, 2, 1, 1, 3, 0]),
                    Value::TimeTicks(123_456_789),
                );
            }
        }
        // The row pushed first wins, so our sysName goes before the base's.
        let name = Entry {
            oid: Oid::from([1, 3, 6, 1, 2, 1, 1, 5, 0]),
            cell: Cell::Fixed(Value::from(self.sys_name.as_str())),
        };
        sink.rows.insert(0, name);
    }
}

/// The IF-MIB columns a synthetic OLT generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Descr,
    Speed,
    OperStatus,
    InOctets,
    OutOctets,
    Name,
    HcInOctets,
    HcOutOctets,
    HighSpeed,
    Alias,
}

fn column_prefix(entry: &[u32], col: u32) -> Vec<u32> {
    let mut arcs = entry.to_vec();
    arcs.push(col);
    arcs
}

/// A built synthetic OLT: stored rows plus IF-MIB columns indexed 1..=onus, computed
/// when read.
pub struct OltTable {
    stored: MibTable,
    olt: SyntheticOlt,
    /// Column prefixes, in OID order, none a prefix of another.
    columns: Vec<(Vec<u32>, Column)>,
}

impl OltTable {
    fn column_oid(prefix: &[u32], n: u32) -> Oid {
        let mut arcs = Vec::with_capacity(prefix.len() + 1);
        arcs.extend_from_slice(prefix);
        arcs.push(n);
        Oid::from(arcs)
    }

    fn generated_at(&self, oid: &Oid) -> Option<Cell> {
        let arcs = oid.arcs();
        let (_, column) = self
            .columns
            .iter()
            .find(|(prefix, _)| arcs.len() == prefix.len() + 1 && arcs.starts_with(prefix))?;
        let n = *arcs.last()?;
        (1..=self.olt.onus)
            .contains(&n)
            .then(|| self.olt.cell(*column, n))
    }

    fn generated_after(&self, oid: &Oid) -> Option<(Oid, Cell)> {
        if self.olt.onus == 0 {
            return None;
        }
        let arcs = oid.arcs();
        for (prefix, column) in &self.columns {
            let n = if arcs.starts_with(prefix) {
                // Within the column: the next index after the first index arc.
                match arcs.get(prefix.len()) {
                    None => 1,
                    Some(&a) => match a.checked_add(1) {
                        Some(n) => n,
                        None => continue,
                    },
                }
            } else if arcs < prefix.as_slice() {
                1
            } else {
                continue;
            };
            if n <= self.olt.onus {
                return Some((Self::column_oid(prefix, n), self.olt.cell(*column, n)));
            }
        }
        None
    }
}

impl MibView for OltTable {
    fn cell_at(&self, oid: &Oid) -> Option<Cell> {
        self.stored.cell_at(oid).or_else(|| self.generated_at(oid))
    }

    fn next_cell(&self, oid: &Oid) -> Option<(Oid, Cell)> {
        match (self.stored.next_cell(oid), self.generated_after(oid)) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    fn oid_count(&self) -> usize {
        self.stored.len() + self.columns.len() * self.olt.onus as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(s: &str) -> Oid {
        Oid::parse(s).expect("oid")
    }

    fn fixed(cell: Option<Cell>) -> Value {
        match cell {
            Some(Cell::Fixed(v)) => v,
            other => panic!("not a fixed value: {other:?}"),
        }
    }

    #[test]
    fn standard_olt_has_every_column_for_every_onu() {
        let olt = SyntheticOlt::new(100, "olt-test").build();
        // 10 columns per ONU + sysName/sysDescr/sysObjectID/sysUpTime + ifNumber + chassis
        // + snmpEngineBoots.
        assert_eq!(olt.oid_count(), 100 * 10 + 7);
        assert_eq!(
            fixed(olt.cell_at(&oid("1.3.6.1.2.1.31.1.1.1.1.65"))),
            Value::from("gpon-onu_1/1/2:1")
        );
        assert_eq!(
            fixed(olt.cell_at(&oid("1.3.6.1.2.1.31.1.1.1.18.42"))),
            Value::from("L-00042")
        );
        assert!(olt.cell_at(&oid("1.3.6.1.2.1.31.1.1.1.18.101")).is_none());
        assert!(olt.cell_at(&oid("1.3.6.1.2.1.31.1.1.1.18.0")).is_none());
        assert!(olt.cell_at(&oid("1.3.6.1.2.1.31.1.1.1.18")).is_none());
        assert!(olt.cell_at(&oid("1.3.6.1.2.1.31.1.1.1.18.1.1")).is_none());
    }

    #[test]
    fn a_full_walk_visits_every_oid_once_in_order() {
        for shape in [OltShape::Standard, OltShape::PeerBench] {
            let mut spec = SyntheticOlt::new(37, "walk");
            spec.shape = shape;
            let olt = spec.build();
            let mut at = oid("0.0");
            let mut count = 0;
            while let Some((next, cell)) = olt.next_cell(&at) {
                assert!(next > at, "{next} after {at}");
                let again = olt.cell_at(&next).expect("GET of a walked OID");
                assert_eq!(format!("{again:?}"), format!("{cell:?}"));
                at = next;
                count += 1;
            }
            assert_eq!(count, olt.oid_count(), "{shape:?}");
        }
    }

    #[test]
    fn getnext_inside_a_column_finds_the_next_index() {
        let olt = SyntheticOlt::new(10, "olt").build();
        let next = |s: &str| olt.next_cell(&oid(s)).expect("next").0.to_string();
        assert_eq!(next("1.3.6.1.2.1.2.2.1.2"), "1.3.6.1.2.1.2.2.1.2.1");
        assert_eq!(next("1.3.6.1.2.1.2.2.1.2.0"), "1.3.6.1.2.1.2.2.1.2.1");
        assert_eq!(next("1.3.6.1.2.1.2.2.1.2.5.3"), "1.3.6.1.2.1.2.2.1.2.6");
        assert_eq!(next("1.3.6.1.2.1.2.2.1.2.10"), "1.3.6.1.2.1.2.2.1.5.1");
        assert_eq!(next("1.3.6.1.2.1.2.2.1.3"), "1.3.6.1.2.1.2.2.1.5.1");
        assert_eq!(
            next("1.3.6.1.2.1.2.2.1.2.4294967295"),
            "1.3.6.1.2.1.2.2.1.5.1"
        );
        assert_eq!(next("1.3.6.1.2.1.2.1.0"), "1.3.6.1.2.1.2.2.1.2.1");
        // After the last ifAlias comes the chassis description, as on a real device.
        assert_eq!(
            next("1.3.6.1.2.1.31.1.1.1.18.10"),
            "1.3.6.1.2.1.47.1.1.1.1.2.1"
        );
        assert_eq!(next("1.3.6.1.2.1.47.1.1.1.1.2.1"), "1.3.6.1.6.3.10.2.1.2.0");
        assert!(olt.next_cell(&oid("1.3.6.1.6.3.10.2.1.2.0")).is_none());
    }

    #[test]
    fn about_95_percent_of_onus_are_up() {
        let olt = SyntheticOlt::new(2000, "olt");
        let up = (1..=2000).filter(|&n| olt.onu(n).up).count();
        assert!((1850..=1950).contains(&up), "{up} up");
    }

    #[test]
    fn base_recording_provides_the_system_group_and_sysname_is_ours() {
        let mut spec = SyntheticOlt::new(10, "olt-bordes");
        spec.base = Some("zxa10_c320");
        let olt = spec.build();
        let Value::OctetString(descr) = fixed(olt.cell_at(&Oid::from([1, 3, 6, 1, 2, 1, 1, 1, 0])))
        else {
            panic!("sysDescr")
        };
        assert!(descr.starts_with(b"C320"));
        assert_eq!(
            fixed(olt.cell_at(&Oid::from([1, 3, 6, 1, 2, 1, 1, 5, 0]))),
            Value::from("olt-bordes")
        );
    }

    #[test]
    fn extra_generators_add_vendor_rows() {
        struct RxPower;
        impl OnuRows for RxPower {
            fn rows(&self, onu: &Onu, out: &mut RowSink) {
                let oid = Oid::from([
                    1, 3, 6, 1, 4, 1, 3902, 1082, 500, 1, 2, 4, 2, 1, 2, onu.port, onu.onu_id,
                ]);
                out.push(oid, Value::Integer(-20_000 - onu.n as i32));
            }
        }
        let mut spec = SyntheticOlt::new(70, "olt");
        spec.extra.push(Arc::new(RxPower));
        let olt = spec.build();
        assert_eq!(olt.oid_count(), 70 * 11 + 7);
        let rx = Oid::from([1, 3, 6, 1, 4, 1, 3902, 1082, 500, 1, 2, 4, 2, 1, 2, 2, 1]);
        assert_eq!(fixed(olt.cell_at(&rx)), Value::Integer(-20_065));
    }
}
