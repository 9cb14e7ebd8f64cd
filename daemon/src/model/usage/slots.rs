//! Five-minute slots, grouped by UTC hour, and the exact apportioning of an interval's bytes.
//!
//! An interval between two samples is spread over the slots it overlaps pro rata by time (as
//! RRD tools do), in integers: each slot gets floor(bytes × overlap / interval), and the few
//! bytes left over go one each to the slots with the largest remainders, the earliest first
//! on a tie. The slots of an interval therefore always sum to its bytes exactly.

pub use crate::store::usage::slots::{HOUR_MS, HourSlots, SLOT_MS, SLOTS_PER_HOUR};

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
