//! The stored form of a line's hour of usage: twelve five-minute slots of bytes and covered
//! milliseconds per direction, in a compact varint encoding (`usage_fine.slots`).

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
