//! Usage accounting: octet counters turned into member volumes, exactly.
//!
//! The path of a byte: the line matcher (issue 4) turns poller observations into
//! [`CounterSample`]s; the [`UsageAccountant`] judges each sample against the line's previous
//! one ([`counter::judge`]: wraps, resets, spikes, gaps) and spreads an accepted delta over
//! the 5-minute slots its interval covers ([`slots::apportion`]: pro rata by time, integer,
//! exact to the byte). Slots are stored one row per line per UTC hour (`usage_fine`), together
//! with the last counter sample, in one transaction: a crash loses or doubles nothing.
//! [`rollup`] makes daily rows per line and monthly rows per member (in the cooperative's time
//! zone) by replacing each period from its sources; [`retention`] prunes in small batches.

pub mod accountant;
pub mod counter;
pub mod retention;
pub mod rollup;
pub mod service;
pub mod slots;

pub use crate::store::usage::{CounterRow, HourRow, UsageOutcome, UsageWrite};
pub use accountant::{IngestStats, UsageAccountant};
pub use counter::{CounterSample, Direction, GapReason, LastSample, LineId, Verdict};
pub use service::UsageService;

/// Decimal gigabyte: what members are told (10^9 bytes, as ISPs and ARCEP count).
pub use coopnoc_proto::BYTES_PER_GB;
