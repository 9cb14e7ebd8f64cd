//! The accountant: the last sample of every line and direction, and the open hours of fine
//! slots, in memory; each `ingest` returns the one store write that makes its work durable.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::counter::{CounterSample, Direction, GapReason, LastSample, LineId, Verdict, judge};
use super::slots::{HourSlots, SLOTS_PER_HOUR, apportion};
use crate::store::usage::{CounterRow, HourRow, UsageWrite};

const HOUR_MS: i64 = super::slots::HOUR_MS;

/// What one or more ingests did, for logs, metrics and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestStats {
    pub samples: u64,
    pub counted: u64,
    pub bytes: u64,
    pub stale: u64,
    pub not_per_line: u64,
    pub first_sample: u64,
    pub reboot: u64,
    pub discontinuity: u64,
    pub counter_reset: u64,
    pub width_changed: u64,
    pub above_link_speed: u64,
    pub ambiguous_wrap: u64,
}

impl IngestStats {
    fn gap(&mut self, r: GapReason) {
        match r {
            GapReason::FirstSample => self.first_sample += 1,
            GapReason::Reboot => self.reboot += 1,
            GapReason::Discontinuity => self.discontinuity += 1,
            GapReason::CounterReset => self.counter_reset += 1,
            GapReason::WidthChanged => self.width_changed += 1,
            GapReason::AboveLinkSpeed => self.above_link_speed += 1,
            GapReason::AmbiguousWrap => self.ambiguous_wrap += 1,
        }
    }

    pub fn add(&mut self, o: &IngestStats) {
        self.samples += o.samples;
        self.counted += o.counted;
        self.bytes += o.bytes;
        self.stale += o.stale;
        self.not_per_line += o.not_per_line;
        self.first_sample += o.first_sample;
        self.reboot += o.reboot;
        self.discontinuity += o.discontinuity;
        self.counter_reset += o.counter_reset;
        self.width_changed += o.width_changed;
        self.above_link_speed += o.above_link_speed;
        self.ambiguous_wrap += o.ambiguous_wrap;
    }
}

/// One judged interval, for callers that want to see every verdict (tests, the bench).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judged {
    pub line: LineId,
    pub direction: Direction,
    pub from_ms: Option<i64>,
    pub to_ms: i64,
    pub verdict: Verdict,
}

#[derive(Debug, Default)]
pub struct UsageAccountant {
    last: HashMap<(LineId, Direction), LastSample>,
    /// Every hour at or after the earliest last sample of each line: an interval can only
    /// start there, so its slots are always in memory and rows are written whole.
    hours: HashMap<(LineId, i64), HourSlots>,
    pub totals: IngestStats,
}

impl UsageAccountant {
    /// An accountant with no history (every line's first sample is a baseline).
    pub fn new() -> UsageAccountant {
        UsageAccountant::default()
    }

    /// Restores state read from the store (see `read::load_accountant`).
    pub fn restore(
        counters: Vec<(LineId, Direction, LastSample)>,
        hours: Vec<(LineId, i64, HourSlots)>,
    ) -> UsageAccountant {
        let mut a = UsageAccountant::new();
        for (line, dir, last) in counters {
            a.last.insert((line, dir), last);
        }
        for (line, hour, slots) in hours {
            a.hours.insert((line, hour), slots);
        }
        a
    }

    pub fn lines_tracked(&self) -> usize {
        self.last.len()
    }

    /// Forgets lines whose usage was erased, so nothing of it is written back.
    pub fn forget_lines(&mut self, lines: &[LineId]) {
        let set: HashSet<LineId> = lines.iter().copied().collect();
        self.last.retain(|(l, _), _| !set.contains(l));
        self.hours.retain(|(l, _), _| !set.contains(l));
    }

    /// Takes one poll's samples in; returns the write that stores their effect.
    pub fn ingest(&mut self, samples: &[CounterSample]) -> (UsageWrite, IngestStats) {
        let (w, stats, _) = self.ingest_judged(samples, false);
        (w, stats)
    }

    /// `ingest`, also returning every verdict when `keep` is set.
    pub fn ingest_judged(
        &mut self,
        samples: &[CounterSample],
        keep: bool,
    ) -> (UsageWrite, IngestStats, Vec<Judged>) {
        let mut stats = IngestStats::default();
        let mut judged = Vec::new();
        let mut dirty_hours: HashSet<(LineId, i64)> = HashSet::new();
        let mut counters: HashMap<(LineId, Direction), CounterRow> = HashMap::new();
        let mut examples: Vec<LineId> = Vec::new();
        for s in samples {
            stats.samples += 1;
            let key = (s.line, s.direction);
            if !s.per_line {
                stats.not_per_line += 1;
                self.last.remove(&key);
                counters.insert(
                    key,
                    CounterRow {
                        line: s.line,
                        direction: s.direction,
                        last: None,
                        per_line: false,
                    },
                );
                continue;
            }
            let cur = LastSample::of(s);
            let prev = self.last.get(&key).copied();
            let verdict = match &prev {
                None => Verdict::Gap(GapReason::FirstSample),
                Some(p) => judge(p, &cur, s.link_speed_bps),
            };
            if keep {
                judged.push(Judged {
                    line: s.line,
                    direction: s.direction,
                    from_ms: prev.map(|p| p.at_ms),
                    to_ms: cur.at_ms,
                    verdict,
                });
            }
            match verdict {
                Verdict::Stale => {
                    stats.stale += 1;
                    continue;
                }
                Verdict::Counted { bytes } => {
                    stats.counted += 1;
                    stats.bytes += bytes;
                    let from = prev.map(|p| p.at_ms).unwrap_or(cur.at_ms);
                    let d = s.direction.index();
                    for share in apportion(from, cur.at_ms, bytes) {
                        let hour = share.slot.div_euclid(SLOTS_PER_HOUR as i64);
                        let i = share.slot.rem_euclid(SLOTS_PER_HOUR as i64) as usize;
                        let h = self.hours.entry((s.line, hour)).or_default();
                        h.bytes[d][i] += share.bytes;
                        h.covered_ms[d][i] += share.covered_ms;
                        dirty_hours.insert((s.line, hour));
                    }
                }
                Verdict::Gap(reason) => {
                    stats.gap(reason);
                    if reason != GapReason::FirstSample {
                        tracing::debug!(line = s.line, direction = ?s.direction, "usage: gap ({reason:?}), new baseline");
                        if examples.len() < 5 {
                            examples.push(s.line);
                        }
                    }
                }
            }
            self.last.insert(key, cur);
            counters.insert(
                key,
                CounterRow {
                    line: s.line,
                    direction: s.direction,
                    last: Some(cur),
                    per_line: true,
                },
            );
        }
        // One line per poll, not one per sample: a rebooted OLT is thousands of gaps.
        if !examples.is_empty() {
            let rejected = stats.above_link_speed + stats.counter_reset + stats.ambiguous_wrap;
            let resets = stats.reboot + stats.discontinuity + stats.width_changed;
            let msg = format!(
                "usage: {rejected} counter readings rejected (above link speed {}, unexplained drop {}, ambiguous 32-bit {}), \
                 {resets} after a reset (reboot {}, discontinuity {}, counter width {}); those intervals are gaps. Lines: {:?}",
                stats.above_link_speed,
                stats.counter_reset,
                stats.ambiguous_wrap,
                stats.reboot,
                stats.discontinuity,
                stats.width_changed,
                examples
            );
            if rejected > 0 {
                tracing::warn!("{msg}")
            } else {
                tracing::info!("{msg}")
            }
        }
        // Hours before every direction's last sample can no longer change: let them go.
        let last = &self.last;
        self.hours.retain(|(line, hour), _| {
            let floor = [Direction::Download, Direction::Upload]
                .iter()
                .filter_map(|d| last.get(&(*line, *d)))
                .map(|l| l.at_ms.div_euclid(HOUR_MS))
                .min();
            floor.is_some_and(|f| *hour >= f) || dirty_hours.contains(&(*line, *hour))
        });
        let mut hours: Vec<HourRow> = dirty_hours
            .into_iter()
            .filter_map(|(line, hour)| {
                self.hours.get(&(line, hour)).map(|s| HourRow {
                    line,
                    hour,
                    slots: s.clone(),
                })
            })
            .collect();
        hours.sort_by_key(|h| (h.hour, h.line));
        let mut counters: Vec<CounterRow> = counters.into_values().collect();
        counters.sort_by_key(|c| (c.line, c.direction));
        self.totals.add(&stats);
        (UsageWrite::Record { hours, counters }, stats, judged)
    }
}

#[cfg(test)]
mod tests;
