//! Octet counters as devices give them: collectors read them, usage accounting judges them,
//! the store keeps the last one of each line. The width matters for wrap handling.

/// A counter as the device gave it: the width matters for wrap handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Counter {
    C32(u32),
    C64(u64),
}

impl Counter {
    pub fn value(self) -> u64 {
        match self {
            Counter::C32(v) => v as u64,
            Counter::C64(v) => v,
        }
    }
}
