//! Vendor tables for synthetic OLTs, shaped like the recordings of the real devices (see
//! `snmprec/INDEX.md`), so coopnoc's device profiles find what they look for.

use async_snmp::{Oid, Value};

use crate::rng::{mix2, unit};
use crate::synth::{DownCause, Onu, OnuRows, RowSink};

const IF_ENTRY: [u32; 9] = [1, 3, 6, 1, 2, 1, 2, 2, 1];
const IFX_ENTRY: [u32; 10] = [1, 3, 6, 1, 2, 1, 31, 1, 1, 1];

fn oid(prefix: &[u32], rest: &[u32]) -> Oid {
    let mut arcs = Vec::with_capacity(prefix.len() + rest.len());
    arcs.extend_from_slice(prefix);
    arcs.extend_from_slice(rest);
    Oid::from(arcs)
}

/// IF-MIB rows of a PON port carrying `onus_per_port` ONUs (its counters grow that much
/// faster than one line's).
fn pon_port(
    out: &mut RowSink,
    if_index: u32,
    name: &str,
    high_speed: u32,
    onus_per_port: u32,
    seed: u64,
) {
    out.push(oid(&IF_ENTRY, &[2, if_index]), Value::from(name));
    out.push(oid(&IF_ENTRY, &[8, if_index]), Value::Integer(1));
    out.push(oid(&IFX_ENTRY, &[1, if_index]), Value::from(name));
    let (key_in, key_out) = (mix2(seed, 21) as u32, mix2(seed, 22) as u32);
    out.push_counter(
        oid(&IFX_ENTRY, &[6, if_index]),
        mix2(seed, 23) >> 20,
        key_in,
        onus_per_port,
        true,
    );
    out.push_counter(
        oid(&IFX_ENTRY, &[10, if_index]),
        mix2(seed, 24) >> 20,
        key_out,
        onus_per_port,
        true,
    );
    out.push(oid(&IFX_ENTRY, &[15, if_index]), Value::Gauge32(high_speed));
    out.push(oid(&IFX_ENTRY, &[18, if_index]), Value::from(""));
}

/// A level in dBm around `centre` ± `spread`, deterministic per ONU and salt.
fn level(onu: &Onu, salt: u64, centre: f64, spread: f64) -> f64 {
    centre + spread * (2.0 * unit(mix2(onu.seed, salt)) - 1.0)
}

/// ZTE ZXA10 C3xx: PON ports `gpon_1/<card>/<port>` (ifIndex 0x1101CCPP, as in the
/// `zxa10_c320v2` recording), ZTE-AN-PON-BASE-MIB zxAnPonRxOpticalPower
/// `1.3.6.1.4.1.3902.1082.500.1.2.4.2.1.2.<PON ifIndex>.<ONU id>` in 0.001 dBm
/// (-80000 when the ONU is down) and the ONU phase state
/// `1.3.6.1.4.1.3902.1082.500.10.2.3.8.1.4.<PON ifIndex>.<ONU id>` ([`ZteC3xx::PHASE_STATE`]:
/// 4 working, 2 LOS, 5 dying gasp, 7 offline). Use with [`crate::OltShape::Standard`].
///
/// The phase-state column and its values are those a third party read on a real ZXA10
/// C600 and matched against the CLI's `show gpon onu detail-info` (same ZTE-AN tree and
/// index as zxAnPonRxOpticalPower); that a C320 serves it there is not verified. The older
/// C300/C320 tree's zxGponOntPhaseState (`1.3.6.1.4.1.3902.1012.3.28.2.1.4`, another PON
/// index) is decoded differently by different public tools, so the sim does not serve it.
pub struct ZteC3xx;

impl ZteC3xx {
    /// zxAnPonRxOpticalPower, `.<PON ifIndex>.<ONU id>`, 0.001 dBm.
    pub const RX_POWER: [u32; 15] = [1, 3, 6, 1, 4, 1, 3902, 1082, 500, 1, 2, 4, 2, 1, 2];
    /// The ONU phase state, `.<PON ifIndex>.<ONU id>`.
    pub const PHASE_STATE: [u32; 15] = [1, 3, 6, 1, 4, 1, 3902, 1082, 500, 10, 2, 3, 8, 1, 4];

    pub fn pon_if_index(card: u32, port: u32) -> u32 {
        0x1101_0000 | (card << 8) | port
    }

    /// The phase-state value of an ONU: 4 working, 2 LOS, 5 dying gasp, 7 offline.
    pub fn phase_state(onu: &Onu) -> i32 {
        match onu.cause {
            _ if onu.up => 4,
            Some(DownCause::Los) => 2,
            Some(DownCause::DyingGasp) => 5,
            Some(DownCause::Offline) | None => 7,
        }
    }

    /// What zxAnPonRxOpticalPower serves for an ONU (0.001 dBm; -80000 when down).
    pub fn rx_power(onu: &Onu) -> i32 {
        if onu.up {
            ((level(onu, 30, -22.5, 5.5) - onu.rx_offset_db) * 1000.0).round() as i32
        } else {
            -80_000
        }
    }
}

impl OnuRows for ZteC3xx {
    fn rows(&self, onu: &Onu, out: &mut RowSink) {
        let pon = Self::pon_if_index(onu.card, onu.port);
        if onu.onu_id == 1 {
            let name = format!("gpon_1/{}/{}", onu.card, onu.port);
            pon_port(out, pon, &name, 2500, 64, mix2(onu.seed, 20));
        }
        out.push(
            oid(&Self::RX_POWER, &[pon, onu.onu_id]),
            Value::Integer(Self::rx_power(onu)),
        );
        out.push(
            oid(&Self::PHASE_STATE, &[pon, onu.onu_id]),
            Value::Integer(Self::phase_state(onu)),
        );
    }
}

/// V-SOL V1600D: PON ports `EPON0/<pon>` (ifIndex 100000 + pon) and, indexed `<pon>.<onu>`:
/// onuAuthInfo2's status ([`VsolV1600d::STATUS`], 1 online, 2 offline), last deregistration
/// reason ([`VsolV1600d::DEREG_REASON`]: 0 wire down (LOS), 1 power off (dying gasp), 3 for
/// another reason; an ONU that is up shows why it last went) and description (the line
/// label); and, for ONUs that are up, the opmDiagInfo strings (`"0.03 mW (-14.61 dBm)"`,
/// `"30.67 C"`, `"3.27 V"`, `"11.65 mA"`). Use with [`crate::OltShape::VsolEpon`].
///
/// The status and reason columns are not in the recording; their codes are those public
/// tools decode on V1600D OLTs (Ubilling reads 0 "wire down" and 1 "power off" and nothing
/// else), so 3 stands for a code a decoder does not know.
pub struct VsolV1600d;

impl VsolV1600d {
    /// onuAuthInfo2 status: 1 online, 2 offline.
    pub const STATUS: [u32; 15] = [1, 3, 6, 1, 4, 1, 37950, 1, 1, 5, 12, 1, 25, 1, 4];
    /// onuAuthInfo2 last deregistration reason: 0 wire down, 1 power off, 3 other.
    pub const DEREG_REASON: [u32; 15] = [1, 3, 6, 1, 4, 1, 37950, 1, 1, 5, 12, 1, 25, 1, 15];
    /// opmDiagInfo rxPower (a string such as `"0.03 mW (-14.61 dBm)"`).
    pub const RX_POWER: [u32; 16] = [1, 3, 6, 1, 4, 1, 37950, 1, 1, 5, 12, 2, 1, 8, 1, 7];

    /// The last deregistration reason an ONU shows.
    pub fn dereg_reason(onu: &Onu) -> i32 {
        let cause = match onu.cause {
            Some(cause) => cause,
            // Up now: why it went the last time (a member's power switch, mostly).
            None if unit(mix2(onu.seed, 36)) < 0.7 => DownCause::DyingGasp,
            None => DownCause::Los,
        };
        match cause {
            DownCause::Los => 0,
            DownCause::DyingGasp => 1,
            DownCause::Offline => 3,
        }
    }
}

impl OnuRows for VsolV1600d {
    fn rows(&self, onu: &Onu, out: &mut RowSink) {
        let (pon, id) = (onu.port, onu.onu_id);
        if id == 1 {
            pon_port(
                out,
                100_000 + pon,
                &format!("EPON0/{pon}"),
                1000,
                64,
                mix2(onu.seed, 20),
            );
        }
        let base = [1, 3, 6, 1, 4, 1, 37950, 1, 1, 5, 12];
        out.push(
            oid(&Self::STATUS, &[pon, id]),
            Value::Integer(if onu.up { 1 } else { 2 }),
        );
        out.push(
            oid(&base, &[1, 25, 1, 9, pon, id]),
            Value::from(onu.line_label.as_str()),
        );
        out.push(
            oid(&Self::DEREG_REASON, &[pon, id]),
            Value::Integer(Self::dereg_reason(onu)),
        );
        if !onu.up {
            return;
        }
        let diag = |col: u32| oid(&base, &[2, 1, 8, 1, col, pon, id]);
        let power = |dbm: f64| format!("{:.2} mW ({dbm:.2} dBm)", 10f64.powf(dbm / 10.0));
        out.push(diag(1), Value::Integer(pon as i32));
        out.push(diag(2), Value::Integer(id as i32));
        out.push(
            diag(3),
            Value::from(format!("{:.2} C", level(onu, 31, 37.0, 7.0))),
        );
        out.push(
            diag(4),
            Value::from(format!("{:.2} V", level(onu, 32, 3.27, 0.04))),
        );
        out.push(
            diag(5),
            Value::from(format!("{:.2} mA", level(onu, 33, 11.0, 3.0))),
        );
        out.push(diag(6), Value::from(power(level(onu, 34, 3.5, 1.0))));
        out.push(
            diag(7),
            Value::from(power(level(onu, 35, -19.0, 6.0) - onu.rx_offset_db)),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::synth::{OltShape, SyntheticOlt};
    use crate::table::{Cell, MibView};

    fn fixed(cell: Option<Cell>) -> Value {
        match cell {
            Some(Cell::Fixed(v)) => v,
            other => panic!("not a fixed value: {other:?}"),
        }
    }

    #[test]
    fn zte_olt_has_pon_ports_and_rx_power_per_onu() {
        let mut spec = SyntheticOlt::new(130, "zte");
        spec.extra.push(Arc::new(ZteC3xx));
        let olt = spec.build();
        // 130 ONUs on ports 1/1/1..3: 3 PON ports of 7 rows, rx power and phase per ONU.
        assert_eq!(olt.oid_count(), 130 * 10 + 7 + 3 * 7 + 2 * 130);
        let pon = ZteC3xx::pon_if_index(1, 3);
        assert_eq!(pon, 285_278_467);
        assert_eq!(
            fixed(olt.cell_at(&oid(&IFX_ENTRY, &[1, pon]))),
            Value::from("gpon_1/1/3")
        );
        assert_eq!(
            fixed(olt.cell_at(&Oid::from([1, 3, 6, 1, 2, 1, 2, 1, 0]))),
            Value::Integer(133)
        );
        let rx = |n: u32| {
            let onu = spec.onu(n);
            let at = oid(
                &[1, 3, 6, 1, 4, 1, 3902, 1082, 500, 1, 2, 4, 2, 1, 2],
                &[ZteC3xx::pon_if_index(onu.card, onu.port), onu.onu_id],
            );
            let Value::Integer(v) = fixed(olt.cell_at(&at)) else {
                panic!("integer")
            };
            (onu.up, v)
        };
        for n in 1..=130 {
            match rx(n) {
                (true, v) => assert!((-28_000..=-17_000).contains(&v), "{v}"),
                (false, v) => assert_eq!(v, -80_000),
            }
        }
    }

    #[test]
    fn down_onus_carry_a_mix_of_causes_in_the_vendor_tables() {
        let mut zte = SyntheticOlt::new(2000, "zte");
        zte.extra.push(Arc::new(ZteC3xx));
        let zte_table = zte.build();
        let mut vsol = SyntheticOlt::new(2000, "vsol");
        vsol.shape = OltShape::VsolEpon;
        vsol.extra.push(Arc::new(VsolV1600d));
        let vsol_table = vsol.build();
        let mut seen = std::collections::HashSet::new();
        for n in 1..=2000 {
            let onu = zte.onu(n);
            assert_eq!(onu.up, onu.cause.is_none());
            let at = oid(
                &ZteC3xx::PHASE_STATE,
                &[ZteC3xx::pon_if_index(onu.card, onu.port), onu.onu_id],
            );
            let expected = match onu.cause {
                None => 4,
                Some(DownCause::Los) => 2,
                Some(DownCause::DyingGasp) => 5,
                Some(DownCause::Offline) => 7,
            };
            assert_eq!(fixed(zte_table.cell_at(&at)), Value::Integer(expected));
            seen.extend(onu.cause);
            let onu = vsol.onu(n);
            let status =
                fixed(vsol_table.cell_at(&oid(&VsolV1600d::STATUS, &[onu.port, onu.onu_id])));
            assert_eq!(status, Value::Integer(if onu.up { 1 } else { 2 }));
            let reason =
                fixed(vsol_table.cell_at(&oid(&VsolV1600d::DEREG_REASON, &[onu.port, onu.onu_id])));
            match onu.cause {
                Some(DownCause::Los) => assert_eq!(reason, Value::Integer(0)),
                Some(DownCause::DyingGasp) => assert_eq!(reason, Value::Integer(1)),
                Some(DownCause::Offline) => assert_eq!(reason, Value::Integer(3)),
                None => assert!(matches!(reason, Value::Integer(0 | 1))),
            }
        }
        assert_eq!(seen.len(), 3, "every cause among the ONUs down: {seen:?}");
    }

    #[test]
    fn vsol_olt_names_onus_epon_and_reports_optics_as_strings() {
        let mut spec = SyntheticOlt::new(70, "vsol");
        spec.shape = OltShape::VsolEpon;
        spec.extra.push(Arc::new(VsolV1600d));
        let olt = spec.build();
        assert_eq!(
            fixed(olt.cell_at(&oid(&IFX_ENTRY, &[1, 66]))),
            Value::from("EPON0/2:2")
        );
        assert_eq!(
            fixed(olt.cell_at(&oid(&IFX_ENTRY, &[1, 100_002]))),
            Value::from("EPON0/2")
        );
        let up = (1..=70).find(|&n| spec.onu(n).up).expect("an ONU up");
        let onu = spec.onu(up);
        let rx = oid(
            &[1, 3, 6, 1, 4, 1, 37950, 1, 1, 5, 12, 2, 1, 8, 1, 7],
            &[onu.port, onu.onu_id],
        );
        let Value::OctetString(text) = fixed(olt.cell_at(&rx)) else {
            panic!("a string")
        };
        let text = String::from_utf8(text.to_vec()).expect("utf-8");
        assert!(text.ends_with(" dBm)") && text.contains(" mW ("), "{text}");
        let label = oid(
            &[1, 3, 6, 1, 4, 1, 37950, 1, 1, 5, 12, 1, 25, 1, 9],
            &[onu.port, onu.onu_id],
        );
        assert_eq!(
            fixed(olt.cell_at(&label)),
            Value::from(onu.line_label.as_str())
        );
    }
}
