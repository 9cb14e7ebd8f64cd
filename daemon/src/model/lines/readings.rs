//! A device's batch of observations, read line by line: the device's word on each matched
//! line, its optical and radio levels (kept by the hour), and its counters, which become
//! usage samples and "traffic now".

use std::collections::HashMap;

use super::book::{CounterRead, Entry, LinesOnDevice};
use super::matching::pos_of;
use crate::collect::observe::{Counter, DownReason, Observation, ObservationBatch};
use crate::model::usage::{CounterSample, Direction};
use crate::model::view::TrafficNow;
use crate::store::levels::Metric;

/// A port's counters as the member sees them (the port's out = the member's download).
#[derive(Debug, Clone, Copy)]
struct PortCounters {
    download: Option<Counter>,
    upload: Option<Counter>,
    speed: Option<u64>,
    discontinuity: Option<u32>,
    /// When each was read (download, upload), when the collector knows.
    read_at: [Option<jiff::Timestamp>; 2],
}

/// A line's counters from a vendor table: download, upload, and when each was read.
type TableCounters = (
    Option<Counter>,
    Option<Counter>,
    [Option<jiff::Timestamp>; 2],
);

/// What one batch said of the device's lines, by line slot.
#[derive(Default)]
pub(super) struct Readings {
    /// Per-line counters from a per-line table.
    table_counters: HashMap<usize, TableCounters>,
    /// The counters of the line's own port.
    if_counters: HashMap<usize, PortCounters>,
    /// Lines whose stored levels of the day changed.
    pub level_changes: Vec<usize>,
}

pub(super) fn down_reason_text(r: Option<DownReason>) -> String {
    match r {
        Some(DownReason::LossOfSignal) => "LOS",
        Some(DownReason::DyingGasp) => "dying gasp",
        Some(DownReason::AdminDown) => "administratively down",
        Some(DownReason::Offline) | None => "offline",
        Some(DownReason::Other) => "down (device gives no reason)",
    }
    .to_string()
}

/// Takes the batch's observations of lines into their entries: the device's word, levels;
/// counters are kept aside for [`usage_samples`].
pub(super) fn take(
    dev: &LinesOnDevice,
    entries: &mut [Entry],
    batch: &ObservationBatch,
) -> Readings {
    let at = batch.at.as_second();
    let mut r = Readings::default();
    for item in &batch.items {
        let subject = match item {
            Observation::LineState { subject, .. }
            | Observation::Interface { subject, .. }
            | Observation::Optical { subject, .. }
            | Observation::Radio { subject, .. }
            | Observation::Usage { subject, .. } => subject,
            _ => continue,
        };
        let Some(slot) = pos_of(subject).and_then(|p| dev.by_pos.get(&p).copied()) else {
            continue;
        };
        let e = &mut entries[slot];
        match item {
            Observation::LineState { up, reason, .. } => {
                e.says_up = Some((*up, (!*up).then(|| down_reason_text(*reason))));
            }
            Observation::Interface {
                oper_up,
                in_octets,
                out_octets,
                speed_bps,
                discontinuity,
                in_read_at,
                out_read_at,
                ..
            } => {
                e.if_oper = *oper_up;
                if in_octets.is_some() || out_octets.is_some() {
                    // The port faces the member: what it sends is the member's download.
                    r.if_counters.insert(
                        slot,
                        PortCounters {
                            download: *out_octets,
                            upload: *in_octets,
                            speed: *speed_bps,
                            discontinuity: *discontinuity,
                            read_at: [*out_read_at, *in_read_at],
                        },
                    );
                }
            }
            Observation::Optical {
                rx_dbm,
                tx_dbm,
                olt_rx_dbm,
                ..
            } => {
                e.levels.rx_dbm = *rx_dbm;
                e.levels.tx_dbm = *tx_dbm;
                e.levels.olt_rx_dbm = *olt_rx_dbm;
                e.levels.at = Some(at);
                for (m, v) in [
                    (Metric::Rx, rx_dbm),
                    (Metric::Tx, tx_dbm),
                    (Metric::OltRx, olt_rx_dbm),
                ] {
                    if let Some(v) = v
                        && e.record_level(m, at, *v)
                    {
                        r.level_changes.push(slot);
                    }
                }
            }
            Observation::Radio {
                signal_dbm, snr_db, ..
            } => {
                e.levels.signal_dbm = *signal_dbm;
                e.levels.snr_db = *snr_db;
                e.levels.at = Some(at);
                for (m, v) in [(Metric::Signal, signal_dbm), (Metric::Snr, snr_db)] {
                    if let Some(v) = v
                        && e.record_level(m, at, *v)
                    {
                        r.level_changes.push(slot);
                    }
                }
            }
            Observation::Usage {
                download,
                upload,
                download_read_at,
                upload_read_at,
                ..
            } => {
                e.table_usage = true;
                r.table_counters.insert(
                    slot,
                    (*download, *upload, [*download_read_at, *upload_read_at]),
                );
            }
            _ => {}
        }
    }
    r.level_changes.sort_unstable();
    r.level_changes.dedup();
    r
}

/// Counters -> usage samples and traffic now, for the lines matched on the device (once per
/// successful status poll). `per_line_device`: the device's profile counts per line. Each
/// sample is stamped with the moment the device answered, not the poll's start.
pub(super) fn usage_samples(
    dev: &LinesOnDevice,
    entries: &mut [Entry],
    readings: &Readings,
    batch: &ObservationBatch,
    per_line_device: bool,
    samples: &mut Vec<CounterSample>,
) {
    // The device's uptime when a counter was read at `at`: the sysUpTime read in the same
    // poll, carried forward (or back) by the time between the two replies.
    let uptime_then = |at: jiff::Timestamp| {
        let (ticks, read) = (dev.uptime?, dev.uptime_at.unwrap_or(batch.at));
        let moved = (at.as_millisecond() - read.as_millisecond()) / 10;
        u32::try_from(ticks as i64 + moved).ok()
    };
    for &slot in &dev.matched {
        let e = &mut entries[slot];
        let (download, upload, speed, discontinuity, per_line, read_at) = match (
            readings.table_counters.get(&slot),
            readings.if_counters.get(&slot),
        ) {
            (Some(&(d, u, read_at)), _) => (d, u, None, None, per_line_device, read_at),
            (None, Some(p)) if !e.table_usage => (
                p.download,
                p.upload,
                p.speed,
                p.discontinuity,
                true,
                p.read_at,
            ),
            _ if !per_line_device => {
                // Only per-PON counters on this device: say so, attribute nothing.
                for direction in [Direction::Download, Direction::Upload] {
                    samples.push(CounterSample {
                        line: e.row.id,
                        direction,
                        counter: Counter::C64(0),
                        at: batch.at,
                        device_uptime_ticks: uptime_then(batch.at),
                        discontinuity: None,
                        link_speed_bps: None,
                        per_line: false,
                    });
                }
                continue;
            }
            _ => continue,
        };
        for (direction, counter) in [(Direction::Download, download), (Direction::Upload, upload)] {
            if let Some(counter) = counter {
                let at = read_at[direction.index()].unwrap_or(batch.at);
                samples.push(CounterSample {
                    line: e.row.id,
                    direction,
                    counter,
                    at,
                    device_uptime_ticks: uptime_then(at),
                    discontinuity,
                    link_speed_bps: speed,
                    per_line,
                });
            }
        }
        let now = CounterRead {
            at_ms: read_at.map(|t| t.unwrap_or(batch.at).as_millisecond()),
            download,
            upload,
        };
        if per_line && let Some(prev) = e.last_counters {
            e.traffic = traffic(&prev, &now, batch.at.as_second()).or(e.traffic);
        }
        e.last_counters = Some(now);
    }
}

/// The rates between two reads of a line's counters, each direction over its own interval;
/// `None` when no time passed.
fn traffic(prev: &CounterRead, now: &CounterRead, at: i64) -> Option<TrafficNow> {
    let secs_of = |d: Direction| (now.at_ms[d.index()] - prev.at_ms[d.index()]) as f64 / 1000.0;
    let secs = secs_of(Direction::Download);
    if secs <= 0.0 {
        return None;
    }
    let rate = |a: Option<Counter>, b: Option<Counter>, secs: f64| match (a, b) {
        (Some(Counter::C64(a)), Some(Counter::C64(b))) if b >= a && secs > 0.0 => {
            Some((b - a) as f64 * 8.0 / secs)
        }
        (Some(Counter::C32(a)), Some(Counter::C32(b))) if secs > 0.0 => {
            Some(b.wrapping_sub(a) as f64 * 8.0 / secs)
        }
        _ => None,
    };
    Some(TrafficNow {
        download_bps: rate(prev.download, now.download, secs),
        upload_bps: rate(prev.upload, now.upload, secs_of(Direction::Upload)),
        over_seconds: secs,
        at,
    })
}
