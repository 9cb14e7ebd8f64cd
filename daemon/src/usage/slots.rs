//! Five-minute slots, grouped by UTC hour, and the exact apportioning of an interval's bytes.
//!
//! An interval between two samples is spread over the slots it overlaps pro rata by time (as
//! RRD tools do), in integers: each slot gets floor(bytes × overlap / interval), and the few
//! bytes left over go one each to the slots with the largest remainders, the earliest first
//! on a tie. The slots of an interval therefore always sum to its bytes exactly.

pub const SLOT_MS: i64 = 300_000;
pub const SLOTS_PER_HOUR: usize = 12;
pub const HOUR_MS: i64 = 3_600_000;

/// One line's hour: bytes and covered milliseconds per slot, per direction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HourSlots {
    pub bytes: [[u64; SLOTS_PER_HOUR]; 2],
    pub covered_ms: [[u32; SLOTS_PER_HOUR]; 2],
}

impl HourSlots {
    pub fn total_bytes(&self, dir: usize) -> u64 {
        self.bytes[dir].iter().sum()
    }

    pub fn total_covered_ms(&self, dir: usize) -> u64 {
        self.covered_ms[dir].iter().map(|&c| c as u64).sum()
    }

    /// Compact form for the `slots` column: per slot, LEB128 varints of download bytes,
    /// upload bytes, and the *un*covered milliseconds of each direction (usually 0: 1 byte).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SLOTS_PER_HOUR * 8);
        for i in 0..SLOTS_PER_HOUR {
            put_varint(&mut out, self.bytes[0][i]);
            put_varint(&mut out, self.bytes[1][i]);
            put_varint(
                &mut out,
                SLOT_MS as u64 - (self.covered_ms[0][i] as u64).min(SLOT_MS as u64),
            );
            put_varint(
                &mut out,
                SLOT_MS as u64 - (self.covered_ms[1][i] as u64).min(SLOT_MS as u64),
            );
        }
        out
    }

    pub fn decode(mut b: &[u8]) -> Option<HourSlots> {
        let mut h = HourSlots::default();
        for i in 0..SLOTS_PER_HOUR {
            h.bytes[0][i] = get_varint(&mut b)?;
            h.bytes[1][i] = get_varint(&mut b)?;
            h.covered_ms[0][i] = (SLOT_MS as u64).checked_sub(get_varint(&mut b)?)? as u32;
            h.covered_ms[1][i] = (SLOT_MS as u64).checked_sub(get_varint(&mut b)?)? as u32;
        }
        b.is_empty().then_some(h)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &mut &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first()?;
        *b = rest;
        v |= ((byte & 0x7f) as u64).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// One slot's share of an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotShare {
    /// Slot number: Unix milliseconds / SLOT_MS.
    pub slot: i64,
    pub bytes: u64,
    pub covered_ms: u32,
}

/// Spreads `bytes` carried in (from_ms, to_ms] over the slots it overlaps, exactly.
/// A zero-length interval (two samples in the same millisecond) puts everything in one slot.
pub fn apportion(from_ms: i64, to_ms: i64, bytes: u64) -> Vec<SlotShare> {
    if to_ms <= from_ms {
        return vec![SlotShare {
            slot: to_ms.div_euclid(SLOT_MS),
            bytes,
            covered_ms: 0,
        }];
    }
    let total = (to_ms - from_ms) as u128;
    let first = from_ms.div_euclid(SLOT_MS);
    let last = (to_ms - 1).div_euclid(SLOT_MS);
    let mut shares = Vec::with_capacity((last - first + 1) as usize);
    let mut remainders = Vec::with_capacity(shares.capacity());
    let mut given: u64 = 0;
    for slot in first..=last {
        let start = (slot * SLOT_MS).max(from_ms);
        let end = ((slot + 1) * SLOT_MS).min(to_ms);
        let overlap = (end - start) as u128;
        let exact = bytes as u128 * overlap;
        let share = (exact / total) as u64;
        given += share;
        remainders.push(exact % total);
        shares.push(SlotShare {
            slot,
            bytes: share,
            covered_ms: overlap as u32,
        });
    }
    let mut left = bytes - given;
    if left > 0 {
        let mut order: Vec<usize> = (0..shares.len()).collect();
        // Largest remainder first; the earliest slot wins a tie. Stable and deterministic.
        order.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]).then(a.cmp(&b)));
        for i in order {
            if left == 0 {
                break;
            }
            shares[i].bytes += 1;
            left -= 1;
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_interval_within_a_slot() {
        let s = apportion(1_000, 61_000, 12345);
        assert_eq!(
            s,
            vec![SlotShare {
                slot: 0,
                bytes: 12345,
                covered_ms: 60_000
            }]
        );
    }

    #[test]
    fn spanning_slots_is_pro_rata_and_exact() {
        // 10 minutes from 2.5 min: slots 0 (2.5 min), 1 (5 min), 2 (2.5 min).
        let s = apportion(150_000, 750_000, 1001);
        let bytes: Vec<u64> = s.iter().map(|x| x.bytes).collect();
        assert_eq!(bytes, vec![250, 501, 250]);
        assert_eq!(bytes.iter().sum::<u64>(), 1001);
        let cov: Vec<u32> = s.iter().map(|x| x.covered_ms).collect();
        assert_eq!(cov, vec![150_000, 300_000, 150_000]);
    }

    #[test]
    fn encoding_round_trips() {
        let mut h = HourSlots::default();
        h.bytes[0][3] = u64::MAX;
        h.bytes[1][11] = 42;
        h.covered_ms[0][3] = 300_000;
        h.covered_ms[1][0] = 12_345;
        assert_eq!(HourSlots::decode(&h.encode()), Some(h));
        assert_eq!(HourSlots::decode(&[0x80]), None);
    }

    proptest! {
        #[test]
        fn apportioning_is_exact(from in 0i64..10_000_000, len in 1i64..20_000_000, bytes in any::<u64>()) {
            let s = apportion(from, from + len, bytes);
            prop_assert_eq!(s.iter().map(|x| x.bytes as u128).sum::<u128>(), bytes as u128);
            prop_assert_eq!(s.iter().map(|x| x.covered_ms as i64).sum::<i64>(), len);
            prop_assert!(s.iter().all(|x| x.covered_ms as i64 <= SLOT_MS));
        }
    }
}
