//! Deterministic randomness: a splitmix64 mixer and a tiny generator built on it.
//! The sim must behave the same on every run, so nothing here reads the OS entropy.

/// Mix a 64-bit value into a well-spread 64-bit hash (splitmix64 finaliser).
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hash two values together.
pub(crate) fn mix2(a: u64, b: u64) -> u64 {
    mix(mix(a) ^ b)
}

/// A uniform float in [0, 1) from a hash.
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Hash the arcs of an OID (FNV-1a over the arcs, then mixed).
pub(crate) fn hash_arcs(arcs: &[u32]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &a in arcs {
        h = (h ^ u64::from(a)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// A small seeded generator (splitmix64 stream).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in [0, 1).
    pub(crate) fn next_f64(&mut self) -> f64 {
        unit(self.next_u64())
    }
}
