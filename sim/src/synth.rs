//! Synthetic OLTs with thousands of ONUs: real recordings carry at most a few hundred.
//!
//! An OLT is built from a *base* (the system group of a real recording, or a generic one)
//! plus rows generated per ONU. IF-MIB rows come from the built-in shapes; vendor tables
//! (ZTE `zxAnPonRxOpticalPower`, UFiber `ubntOnusTable`, ...) can be added by implementing
//! [`OnuRows`] and pushing the generator into [`SyntheticOlt::extra`].

use std::fmt;
use std::sync::Arc;

use async_snmp::{Oid, Value};

use crate::rng::{Rng, mix2, unit};
use crate::table::{Cell, Entry, MibTable};

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
    /// Exactly the columns, names and value shapes of the peer benchmark's
    /// `bench/peers/gen_snmprec.py` (ifDescr `GPON 0/s/p ONU n`, ifOperStatus,
    /// ifName `gpon-onu_0/s/p:n`, ifHCIn/OutOctets below 2^50, ifHighSpeed, and one
    /// `entPhysicalDescr.1` after ifXTable), so coopnoc's benchmark compares with the peers'.
    PeerBench,
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
    /// The subscriber line label (ifAlias), unique across the network if `first_line` is.
    pub line_label: String,
    /// Whether the ONU is up (about 95 %, deterministic).
    pub up: bool,
    /// A per-ONU seed for generators that need more randomness.
    pub seed: u64,
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
    /// at the same rate, e.g. a 32-bit counter and its 64-bit twin).
    pub fn push_counter(&mut self, oid: Oid, base: u64, key: u32, bits64: bool) {
        let cell = if bits64 {
            Cell::Counter64 { base, key }
        } else {
            Cell::Counter32 {
                base: base as u32,
                key,
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

    /// The ONU at position `n` (1-based).
    pub fn onu(&self, n: u32) -> Onu {
        let seed = mix2(self.seed, u64::from(n));
        let (card, port, onu_id, if_name) = match self.shape {
            OltShape::Standard => {
                let (card, port, onu_id) = (
                    1 + (n - 1) / 1024,
                    1 + ((n - 1) / 64) % 16,
                    1 + (n - 1) % 64,
                );
                (
                    card,
                    port,
                    onu_id,
                    format!("gpon-onu_1/{card}/{port}:{onu_id}"),
                )
            }
            OltShape::PeerBench => {
                let (slot, port, onu_id) = (
                    1 + (n - 1) / 2048,
                    1 + ((n - 1) / 128) % 16,
                    1 + (n - 1) % 128,
                );
                (
                    slot,
                    port,
                    onu_id,
                    format!("gpon-onu_0/{slot}/{port}:{onu_id}"),
                )
            }
        };
        Onu {
            n,
            if_index: n,
            card,
            port,
            onu_id,
            if_name,
            line_label: format!("L-{:05}", self.first_line + n - 1),
            up: unit(mix2(seed, 1)) < 0.95,
            seed,
        }
    }

    /// Generate the table.
    pub fn build(&self) -> MibTable {
        let mut sink = RowSink::default();
        self.system_group(&mut sink);
        sink.push(Oid::from(IF_NUMBER), Value::Integer(self.onus as i32));
        let mut rng = Rng::new(self.seed);
        for n in 1..=self.onus {
            let onu = self.onu(n);
            match self.shape {
                OltShape::Standard => standard_rows(&onu, &mut sink),
                OltShape::PeerBench => peer_rows(&onu, &mut rng, &mut sink),
            }
            for generator in &self.extra {
                generator.rows(&onu, &mut sink);
            }
        }
        if self.shape == OltShape::PeerBench {
            sink.push(
                Oid::from([1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 2, 1]),
                Value::from("Synthetic OLT chassis"),
            );
        }
        MibTable::from_rows(sink.rows)
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
                    OltShape::Standard => {
                        format!(
                            "coopnoc-sim synthetic GPON OLT, {} ONU interfaces",
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
        // sysName last: the row pushed first wins, so put ours before the base's.
        let name = Entry {
            oid: Oid::from([1, 3, 6, 1, 2, 1, 1, 5, 0]),
            cell: Cell::Fixed(Value::from(self.sys_name.as_str())),
        };
        sink.rows.insert(0, name);
    }
}

fn column(prefix: &[u32], col: u32, index: u32) -> Oid {
    let mut arcs = Vec::with_capacity(prefix.len() + 2);
    arcs.extend_from_slice(prefix);
    arcs.push(col);
    arcs.push(index);
    Oid::from(arcs)
}

fn standard_rows(onu: &Onu, sink: &mut RowSink) {
    let i = onu.if_index;
    // GPON: 2.5 Gbit/s down; ifSpeed saturates at 2^32-1 as RFC 2863 says.
    let high_speed: u32 = 2500;
    sink.push(column(&IF_ENTRY, 2, i), Value::from(onu.if_name.as_str()));
    sink.push(column(&IF_ENTRY, 5, i), Value::Gauge32(u32::MAX));
    sink.push(
        column(&IF_ENTRY, 8, i),
        Value::Integer(if onu.up { 1 } else { 2 }),
    );
    let key_in = mix2(onu.seed, 2) as u32;
    let key_out = mix2(onu.seed, 3) as u32;
    let in_base = mix2(onu.seed, 4) >> 24; // < 2^40: a few hundred GB already counted
    let out_base = mix2(onu.seed, 5) >> 26;
    sink.push_counter(column(&IF_ENTRY, 10, i), in_base, key_in, false);
    sink.push_counter(column(&IF_ENTRY, 16, i), out_base, key_out, false);
    sink.push(column(&IFX_ENTRY, 1, i), Value::from(onu.if_name.as_str()));
    sink.push_counter(column(&IFX_ENTRY, 6, i), in_base, key_in, true);
    sink.push_counter(column(&IFX_ENTRY, 10, i), out_base, key_out, true);
    sink.push(column(&IFX_ENTRY, 15, i), Value::Gauge32(high_speed));
    sink.push(
        column(&IFX_ENTRY, 18, i),
        Value::from(onu.line_label.as_str()),
    );
}

fn peer_rows(onu: &Onu, rng: &mut Rng, sink: &mut RowSink) {
    let i = onu.if_index;
    sink.push(
        column(&IF_ENTRY, 2, i),
        Value::from(format!(
            "GPON 0/{}/{} ONU {}",
            onu.card, onu.port, onu.onu_id
        )),
    );
    let up = rng.next_f64() < 0.95;
    sink.push(
        column(&IF_ENTRY, 8, i),
        Value::Integer(if up { 1 } else { 2 }),
    );
    sink.push(column(&IFX_ENTRY, 1, i), Value::from(onu.if_name.as_str()));
    sink.push(
        column(&IFX_ENTRY, 6, i),
        Value::Counter64(rng.below(1 << 50)),
    );
    sink.push(
        column(&IFX_ENTRY, 10, i),
        Value::Counter64(rng.below(1 << 50)),
    );
    let speed = [1000, 2500, 10000][rng.below(3) as usize];
    sink.push(column(&IFX_ENTRY, 15, i), Value::Gauge32(speed));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_olt_has_every_column_for_every_onu() {
        let olt = SyntheticOlt::new(100, "olt-test").build();
        // 10 columns per ONU + sysName/sysDescr/sysObjectID/sysUpTime + ifNumber.
        assert_eq!(olt.len(), 100 * 10 + 5);
        let name = olt
            .get(&Oid::parse("1.3.6.1.2.1.31.1.1.1.1.65").expect("oid"))
            .expect("ifName.65");
        assert!(matches!(&name.cell, Cell::Fixed(v) if *v == Value::from("gpon-onu_1/1/2:1")));
        let alias = olt
            .get(&Oid::parse("1.3.6.1.2.1.31.1.1.1.18.42").expect("oid"))
            .expect("ifAlias.42");
        assert!(matches!(&alias.cell, Cell::Fixed(v) if *v == Value::from("L-00042")));
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
        let descr = olt
            .get(&Oid::from([1, 3, 6, 1, 2, 1, 1, 1, 0]))
            .expect("sysDescr");
        assert!(
            matches!(&descr.cell, Cell::Fixed(Value::OctetString(s)) if s.starts_with(b"C320")),
            "{descr:?}"
        );
        let name = olt
            .get(&Oid::from([1, 3, 6, 1, 2, 1, 1, 5, 0]))
            .expect("sysName");
        assert!(matches!(&name.cell, Cell::Fixed(v) if *v == Value::from("olt-bordes")));
    }
}
