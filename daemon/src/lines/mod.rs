//! Subscriber lines in the daemon: matched to what devices show, their state judged with
//! hysteresis, their levels kept by the hour, their counters handed to usage accounting.
//!
//! The path: a device's observation batch -> [`LineService::take_in`] -> the device's
//! discovered ONUs/stations/ports matched to lines (`matching`) -> each matched line's
//! readings (device's word, optical and radio levels, counters) -> at the end of a status
//! poll, one evaluation per line (`crate::linestate`) -> state changes and events, levels, in
//! one store write; counters as `CounterSample`s into `shared.usage`.

pub mod db;
pub mod levels;
mod matching;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::{Config, LineThresholds};
use crate::ipc::{
    self, Levels, LineKind, LineLive, LineLocation, LineProblem, MatchKind, ProblemList, Traffic,
    UnassignedItem,
};
use crate::linestate::{Evaluation, LineReading, LineState, ThresholdOverrides, Tracker, evaluate};
use crate::observe::{Counter, DownReason, Observation, ObservationBatch};
use crate::profile::{Discovered, LineUsage, Profile};
use crate::store::{NewEvent, Store, StoreError, WriteOp, format_time};
use crate::usage::{CounterSample, Direction};
use db::{BookRow, LinesWrite, StateChange};
use levels::{DayLevels, Metric};
use matching::{Found, Pos, match_device, pos_of};

/// What a line's traffic was last read as, for "traffic now".
#[derive(Debug, Clone, Copy)]
struct CounterRead {
    /// When each counter was read (download, upload: see `Direction::index`).
    at_ms: [i64; 2],
    download: Option<Counter>,
    upload: Option<Counter>,
}

/// A line's counters from a vendor table: download, upload, and when each was read.
type TableCounters = (
    Option<Counter>,
    Option<Counter>,
    [Option<jiff::Timestamp>; 2],
);

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

/// One line in memory.
#[derive(Debug)]
struct Entry {
    row: BookRow,
    tracker: Tracker,
    /// Where it was last found, and on which device.
    found: Option<(Arc<str>, Found)>,
    seen_at: Option<i64>,
    /// The device the line was last found on, kept once it is no longer seen there.
    last_device: Option<Arc<str>>,
    says_up: Option<(bool, Option<String>)>,
    if_oper: Option<bool>,
    levels: Levels,
    levels_at: Option<i64>,
    /// Today's levels (UTC), as stored.
    today: Vec<DayLevels>,
    last_counters: Option<CounterRead>,
    traffic: Option<Traffic>,
    /// The line's usage comes from a per-line table (not its interface's counters).
    table_usage: bool,
}

impl Entry {
    fn new(row: BookRow) -> Entry {
        let mut tracker = Tracker::new(row.state, row.since);
        tracker.set_reason(row.reason.clone());
        Entry {
            row,
            tracker,
            found: None,
            seen_at: None,
            last_device: None,
            says_up: None,
            if_oper: None,
            levels: Levels::default(),
            levels_at: None,
            today: Vec::new(),
            last_counters: None,
            traffic: None,
            table_usage: false,
        }
    }

    /// Records a level reading into today's row; true when the row changed.
    fn record_level(&mut self, metric: Metric, at: i64, value: f64) -> bool {
        let day = at.div_euclid(86400);
        self.today.retain(|d| d.day == day);
        let i = match self.today.iter().position(|d| d.metric == metric) {
            Some(i) => i,
            None => {
                self.today.push(DayLevels::new(metric, day));
                self.today.len() - 1
            }
        };
        self.today[i].record(at, value)
    }
}

/// One device as the lines see it.
#[derive(Debug, Default)]
struct DeviceLines {
    site: Option<String>,
    discovered: Arc<Vec<Discovered>>,
    profile: Option<Arc<Profile>>,
    reachable: Option<bool>,
    uptime: Option<u32>,
    /// When `uptime` was read.
    uptime_at: Option<jiff::Timestamp>,
    by_pos: HashMap<Pos, usize>,
    unassigned: Vec<UnassignedItem>,
    /// Line slots found here by the last matching.
    matched: Vec<usize>,
    /// Lines last seen here and now seen nowhere (by id: slots change when the book reloads).
    lost: std::collections::HashSet<i64>,
    /// Lines not found here evaluated with each poll anyway: configured here, or lost.
    watched: Vec<usize>,
}

#[derive(Debug, Default)]
struct Book {
    entries: Vec<Entry>,
    by_id: HashMap<i64, usize>,
    by_key: HashMap<(MatchKind, String), Vec<usize>>,
    /// Lines by the device the inventory says they hang on.
    configured: HashMap<String, Vec<usize>>,
    devices: HashMap<Arc<str>, DeviceLines>,
}

impl Book {
    /// Replaces the lines with `rows`, keeping what is known of the lines that stay.
    fn load(&mut self, rows: Vec<BookRow>, today: Vec<(i64, DayLevels)>) {
        // Sized to the lines, not grown by doubling: 10,000 entries of ~1 KB each.
        let mut old: HashMap<i64, Entry> =
            std::mem::replace(&mut self.entries, Vec::with_capacity(rows.len()))
                .into_iter()
                .map(|e| (e.row.id, e))
                .collect();
        let mut today_by_line: HashMap<i64, Vec<DayLevels>> = HashMap::new();
        for (id, d) in today {
            today_by_line.entry(id).or_default().push(d);
        }
        self.by_id = HashMap::with_capacity(rows.len());
        self.by_key = HashMap::with_capacity(rows.len());
        self.configured.clear();
        for row in rows {
            let slot = self.entries.len();
            self.by_id.insert(row.id, slot);
            if let Some(d) = &row.device {
                self.configured.entry(d.clone()).or_default().push(slot);
            }
            self.by_key
                .entry((row.match_kind, row.match_key.clone()))
                .or_default()
                .push(slot);
            let entry = match old.remove(&row.id) {
                Some(mut e) => {
                    e.row = BookRow {
                        state: e.tracker.state(),
                        since: e.tracker.since(),
                        ..row
                    };
                    e
                }
                None => {
                    let mut e = Entry::new(row);
                    e.today = today_by_line.remove(&e.row.id).unwrap_or_default();
                    e
                }
            };
            self.entries.push(entry);
        }
        for e in &mut self.entries {
            e.found = None;
        }
        for dev in self.devices.values_mut() {
            dev.matched.clear();
        }
        let names: Vec<Arc<str>> = self.devices.keys().cloned().collect();
        for name in names {
            self.rematch(&name, None);
        }
    }

    fn lookup(&self, device: &str, kind: MatchKind, key: &str) -> Option<usize> {
        self.by_key
            .get(&(kind, key.to_string()))?
            .iter()
            .copied()
            .find(|&s| {
                self.entries[s]
                    .row
                    .device
                    .as_deref()
                    .is_none_or(|d| d == device)
            })
    }

    /// Matches a device's discovered items to lines again.
    fn rematch(&mut self, device: &Arc<str>, at: Option<i64>) {
        let Some(dev) = self.devices.get(device) else {
            return;
        };
        let m = match_device(device, dev.site.as_deref(), &dev.discovered, |k, v| {
            self.lookup(device, k, v)
        });
        let before = dev.matched.clone();
        for &slot in &before {
            let e = &mut self.entries[slot];
            if e.found.as_ref().is_some_and(|(d, _)| d == device) {
                e.found = None;
            }
        }
        let matched: Vec<usize> = m.found.keys().copied().collect();
        for (slot, found) in m.found {
            let e = &mut self.entries[slot];
            e.found = Some((device.clone(), found));
            e.last_device = Some(device.clone());
            if let Some(at) = at {
                e.seen_at = Some(at);
            }
        }
        let entries = &self.entries;
        let mut watched: Vec<usize> = self.configured.get(&**device).cloned().unwrap_or_default();
        let Some(dev) = self.devices.get_mut(device) else {
            return;
        };
        dev.lost.extend(
            before
                .iter()
                .filter(|s| entries[**s].found.is_none())
                .map(|s| entries[*s].row.id),
        );
        dev.lost.retain(|id| {
            self.by_id.get(id).is_some_and(|&s| {
                entries[s].found.is_none() && entries[s].last_device.as_ref() == Some(device)
            })
        });
        watched.extend(dev.lost.iter().filter_map(|id| self.by_id.get(id).copied()));
        watched.sort_unstable();
        watched.dedup();
        dev.by_pos = m.by_pos;
        dev.unassigned = m.unassigned;
        dev.matched = matched;
        dev.watched = watched;
    }
}

/// The daemon's lines: a book in memory behind a lock held only for computing, never across
/// a store write.
#[derive(Default)]
pub struct LineService {
    book: Mutex<Book>,
    /// Lines changed in the store (added, imported, assigned, erased): reload before use.
    stale: AtomicBool,
    loaded: AtomicBool,
}

fn down_reason_text(r: Option<DownReason>) -> String {
    match r {
        Some(DownReason::LossOfSignal) => "LOS",
        Some(DownReason::DyingGasp) => "dying gasp",
        Some(DownReason::AdminDown) => "administratively down",
        Some(DownReason::Offline) | None => "offline",
        Some(DownReason::Other) => "down (device gives no reason)",
    }
    .to_string()
}

/// What processing a batch leaves to do once the lock is released.
#[derive(Default)]
struct Outcome {
    write: LinesWrite,
    samples: Vec<CounterSample>,
}

impl LineService {
    pub fn new() -> LineService {
        LineService::default()
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lines changed in the store: the book reloads before its next use.
    pub fn invalidate(&self) {
        self.stale.store(true, Ordering::Release);
    }

    async fn reload_if_needed(&self, store: &Store) -> Result<(), StoreError> {
        if self.loaded.load(Ordering::Acquire) && !self.stale.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let rows = db::book_rows(store.reader()).await?;
        let today = if self.loaded.load(Ordering::Acquire) {
            Vec::new()
        } else {
            db::levels_of_day(store.reader(), crate::store::now().div_euclid(86400)).await?
        };
        self.book().load(rows, today);
        self.loaded.store(true, Ordering::Release);
        Ok(())
    }

    /// Takes in one device's batch: matching, readings, evaluation; then writes what changed
    /// and hands the counters to usage accounting, before returning.
    pub async fn take_in(&self, shared: &crate::state::Shared, batch: &ObservationBatch) {
        if let Err(e) = self.reload_if_needed(&shared.store).await {
            tracing::error!("lines: could not load the lines from the store: {e}");
            self.stale.store(true, Ordering::Release);
            return;
        }
        let config = shared.config();
        let out = self.process(&config, batch);
        if !out.write.is_empty() {
            for ev in &out.write.events {
                tracing::info!(
                    "line {} is now {}{}",
                    ev.subject,
                    ev.new_state,
                    ev.reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                );
            }
            if let Err(e) = shared.store.write(WriteOp::Lines(out.write)).await {
                tracing::error!(
                    "lines: could not record the state of {}'s lines: {e}",
                    batch.device
                );
            }
        }
        if !out.samples.is_empty()
            && let Err(e) = shared.usage.ingest(&out.samples).await
        {
            tracing::error!(
                "usage: could not record {} counter samples of {}: {e}",
                out.samples.len(),
                batch.device
            );
        }
    }

    fn process(&self, config: &Config, batch: &ObservationBatch) -> Outcome {
        let at = batch.at.as_second();
        let mut book = self.book();
        let book = &mut *book;
        let name = batch.device.clone();
        let configured = config.devices.iter().find(|d| *d.name == *name);
        let site = configured.and_then(|d| d.site.clone());
        // Levels older than three of their reads (optics come on the slow schedule) are
        // stale: a device that stopped giving them must not keep a line "up" on old news.
        let stale_after = configured.map_or(3600, |d| {
            3 * d.poll.slow_interval.max(d.poll.status_interval).as_secs() as i64
        });
        let dev = book.devices.entry(name.clone()).or_default();
        dev.site = site;
        let mut poll_ok = None;
        let mut rematch = false;
        for item in &batch.items {
            match item {
                Observation::Profile { detection: Ok(d) } => dev.profile = Some(d.profile.clone()),
                Observation::Discovered { items } if !Arc::ptr_eq(items, &dev.discovered) => {
                    dev.discovered = items.clone();
                    rematch = true;
                }
                Observation::Uptime { ticks, read_at } => {
                    dev.uptime = Some(*ticks);
                    dev.uptime_at = Some(read_at.unwrap_or(batch.at));
                }
                Observation::Reachability { reachable, .. } => dev.reachable = Some(*reachable),
                Observation::Poll { error, .. } => poll_ok = Some(error.is_none()),
                _ => {}
            }
        }
        if rematch {
            book.rematch(&name, Some(at));
        }
        let mut out = Outcome::default();
        let Some(dev) = book.devices.get(&name) else {
            return out;
        };
        let per_line_device = dev
            .profile
            .as_ref()
            .is_none_or(|p| p.line_usage == LineUsage::PerLine);
        // The device's uptime when a counter was read at `at`: the sysUpTime read in the same
        // poll, carried forward (or back) by the time between the two replies.
        let (uptime, uptime_at) = (dev.uptime, dev.uptime_at);
        let uptime_then = |at: jiff::Timestamp| {
            let (ticks, read) = (uptime?, uptime_at.unwrap_or(batch.at));
            let moved = (at.as_millisecond() - read.as_millisecond()) / 10;
            u32::try_from(ticks as i64 + moved).ok()
        };

        // Readings, by line.
        let mut table_counters: HashMap<usize, TableCounters> = HashMap::new();
        let mut if_counters: HashMap<usize, PortCounters> = HashMap::new();
        let mut level_changes: Vec<usize> = Vec::new();
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
            let e = &mut book.entries[slot];
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
                        if_counters.insert(
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
                    e.levels_at = Some(at);
                    for (m, v) in [
                        (Metric::Rx, rx_dbm),
                        (Metric::Tx, tx_dbm),
                        (Metric::OltRx, olt_rx_dbm),
                    ] {
                        if let Some(v) = v
                            && e.record_level(m, at, *v)
                        {
                            level_changes.push(slot);
                        }
                    }
                }
                Observation::Radio {
                    signal_dbm, snr_db, ..
                } => {
                    e.levels.signal_dbm = *signal_dbm;
                    e.levels.snr_db = *snr_db;
                    e.levels_at = Some(at);
                    for (m, v) in [(Metric::Signal, signal_dbm), (Metric::Snr, snr_db)] {
                        if let Some(v) = v
                            && e.record_level(m, at, *v)
                        {
                            level_changes.push(slot);
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
                    table_counters.insert(
                        slot,
                        (*download, *upload, [*download_read_at, *upload_read_at]),
                    );
                }
                _ => {}
            }
        }
        level_changes.sort_unstable();
        level_changes.dedup();
        for slot in level_changes {
            let e = &book.entries[slot];
            for d in &e.today {
                out.write.levels.push((e.row.id, d.clone()));
            }
        }

        // Counters -> usage samples and traffic now, once per successful status poll.
        if poll_ok == Some(true) {
            for &slot in &dev.matched {
                let e = &mut book.entries[slot];
                let (download, upload, speed, discontinuity, per_line, read_at) =
                    match (table_counters.get(&slot), if_counters.get(&slot)) {
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
                                out.samples.push(CounterSample {
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
                for (direction, counter) in
                    [(Direction::Download, download), (Direction::Upload, upload)]
                {
                    if let Some(counter) = counter {
                        // Stamped with the moment the device answered, not the poll's start.
                        let at = read_at[direction.index()].unwrap_or(batch.at);
                        out.samples.push(CounterSample {
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
                    let secs_of = |d: Direction| {
                        (now.at_ms[d.index()] - prev.at_ms[d.index()]) as f64 / 1000.0
                    };
                    let secs = secs_of(Direction::Download);
                    let rate = |a: Option<Counter>, b: Option<Counter>, secs: f64| match (a, b) {
                        (Some(Counter::C64(a)), Some(Counter::C64(b))) if b >= a && secs > 0.0 => {
                            Some((b - a) as f64 * 8.0 / secs)
                        }
                        (Some(Counter::C32(a)), Some(Counter::C32(b))) if secs > 0.0 => {
                            Some(b.wrapping_sub(a) as f64 * 8.0 / secs)
                        }
                        _ => None,
                    };
                    if secs > 0.0 {
                        e.traffic = Some(Traffic {
                            download_bps: rate(prev.download, now.download, secs),
                            upload_bps: rate(prev.upload, now.upload, secs_of(Direction::Upload)),
                            over_seconds: secs,
                            at: format_time(at),
                        });
                    }
                }
                e.last_counters = Some(now);
            }
        }

        // Evaluation: after every status poll that succeeded, or once the device is judged
        // unreachable; a single failed poll tells nothing about lines.
        let reachable = dev.reachable;
        let evaluate_now = match poll_ok {
            Some(true) => true,
            Some(false) => reachable == Some(false),
            None => false,
        };
        if evaluate_now {
            let mut slots: Vec<usize> = dev.matched.iter().chain(&dev.watched).copied().collect();
            slots.sort_unstable();
            slots.dedup();
            for slot in slots {
                let e = &mut book.entries[slot];
                let here = e.found.as_ref().is_some_and(|(d, _)| *d == name);
                if here {
                    e.seen_at = Some(at);
                } else if e.found.is_some() {
                    continue; // found on another device: judged with that device's polls
                }
                let evaluation = if reachable == Some(false) {
                    Evaluation {
                        state: LineState::Unknown,
                        reason: Some(format!("device {name} unreachable")),
                    }
                } else if !here {
                    Evaluation {
                        state: LineState::Unknown,
                        reason: Some(format!("not seen on {name}")),
                    }
                } else {
                    let (says, why) = match &e.says_up {
                        Some((up, why)) => (Some(*up), why.clone()),
                        None => (
                            e.if_oper,
                            e.if_oper
                                .is_some_and(|u| !u)
                                .then(|| "interface down".to_string()),
                        ),
                    };
                    let fresh = e.levels_at.is_some_and(|t| at - t <= stale_after);
                    let level = |v: Option<f64>| v.filter(|_| fresh);
                    let reading = LineReading {
                        device_reachable: true,
                        device_says_up: says,
                        down_reason: why,
                        rx_dbm: level(e.levels.rx_dbm),
                        tx_dbm: level(e.levels.tx_dbm),
                        olt_rx_dbm: level(e.levels.olt_rx_dbm),
                        signal_dbm: level(e.levels.signal_dbm),
                        snr_db: level(e.levels.snr_db),
                    };
                    evaluate(&reading, &config.lines, &e.row.thresholds)
                };
                let flap_window = config.lines.flap_window.as_secs() as i64;
                // A line's first judgement (never judged before) is stored, not an event:
                // a new line or a fresh install would otherwise log thousands of "up".
                let first = e.tracker.since().is_none();
                if let Some(t) =
                    e.tracker
                        .observe(&evaluation, at, config.lines.hysteresis, flap_window)
                {
                    out.write.states.push(StateChange {
                        line_id: e.row.id,
                        state: t.to,
                        since: t.at,
                        reason: t.reason.clone(),
                    });
                    if first {
                        continue;
                    }
                    let flaps = e.tracker.flaps(at, flap_window);
                    let detail = serde_json::json!({
                        "device": &*name,
                        "port": e.found.as_ref().and_then(|(_, f)| f.port.clone()),
                        "onu": e.found.as_ref().and_then(|(_, f)| f.onu),
                        "rx_dbm": e.levels.rx_dbm,
                        "tx_dbm": e.levels.tx_dbm,
                        "olt_rx_dbm": e.levels.olt_rx_dbm,
                        "signal_dbm": e.levels.signal_dbm,
                        "snr_db": e.levels.snr_db,
                        "flaps": flaps,
                    });
                    out.write.events.push(NewEvent {
                        at,
                        subject_kind: "line",
                        subject: e.row.reference.clone(),
                        old_state: Some(t.from.as_str().to_string()),
                        new_state: t.to.as_str().to_string(),
                        reason: t.reason.clone(),
                        detail: Some(detail.to_string()),
                    });
                }
            }
        }
        out
    }

    fn is_flapping(e: &Entry, t: &LineThresholds, now: i64) -> (u32, bool) {
        let flaps = e.tracker.flaps(now, t.flap_window.as_secs() as i64) as u32;
        (flaps, flaps >= t.flap_count)
    }

    /// What the daemon sees of a line now (levels of the last day are read by the caller).
    pub async fn live(
        &self,
        store: &Store,
        config: &Config,
        line_id: i64,
    ) -> Result<Option<LineLive>, StoreError> {
        self.reload_if_needed(store).await?;
        let book = self.book();
        let Some(&slot) = book.by_id.get(&line_id) else {
            return Ok(None);
        };
        let e = &book.entries[slot];
        let now = crate::store::now();
        let (flaps, flapping) = Self::is_flapping(e, &config.lines, now);
        let location = e.found.as_ref().map(|(device, f)| {
            let dev = book.devices.get(device);
            LineLocation {
                device: device.to_string(),
                site: dev.and_then(|d| d.site.clone()),
                profile: dev.and_then(|d| d.profile.as_ref()).map(|p| p.id.clone()),
                port: f.port.clone(),
                onu: f.onu,
                if_index: f.if_index,
                serial: f.serial.clone(),
                mac: f.mac.clone(),
                seen_at: format_time(e.seen_at.unwrap_or(now)),
            }
        });
        let usage = e.found.as_ref().and_then(|(device, _)| {
            let profile = book.devices.get(device)?.profile.as_ref()?;
            Some(
                if profile.line_usage == LineUsage::PerLine
                    || (!e.table_usage && e.last_counters.is_some())
                {
                    "per-line".to_string()
                } else {
                    "not measured per line on this device".to_string()
                },
            )
        });
        let mut levels = e.levels.clone();
        levels.at = e.levels_at.map(format_time);
        Ok(Some(LineLive {
            reason: e.tracker.reason().map(str::to_string),
            flaps,
            flapping,
            location,
            levels,
            day: Vec::new(),
            traffic: e.traffic.clone(),
            usage,
        }))
    }

    /// The state the daemon holds for a line now (the store's may lag a write behind).
    pub fn state_of(&self, line_id: i64) -> Option<(LineState, Option<i64>)> {
        let book = self.book();
        let e = &book.entries[*book.by_id.get(&line_id)?];
        Some((e.tracker.state(), e.tracker.since()))
    }

    /// Down, degraded and flapping lines, worst first.
    pub async fn problems(
        &self,
        store: &Store,
        config: &Config,
    ) -> Result<ProblemList, StoreError> {
        self.reload_if_needed(store).await?;
        let book = self.book();
        let now = crate::store::now();
        let mut list: Vec<(u8, u32, i64, LineProblem)> = Vec::new();
        let mut unknown = 0;
        for e in &book.entries {
            let state = e.tracker.state();
            if state == LineState::Unknown {
                unknown += 1;
            }
            let (flaps, flapping) = Self::is_flapping(e, &config.lines, now);
            if !matches!(state, LineState::Down | LineState::Degraded) && !flapping {
                continue;
            }
            let (location, site) = match &e.found {
                Some((device, f)) => {
                    let place = match (&f.port, f.onu) {
                        (Some(p), Some(o)) => format!("{device} {p}:{o}"),
                        (Some(p), None) => format!("{device} {p}"),
                        _ => f
                            .mac
                            .as_ref()
                            .map(|m| format!("{device} {m}"))
                            .unwrap_or_else(|| device.to_string()),
                    };
                    (
                        Some(place),
                        book.devices.get(device).and_then(|d| d.site.clone()),
                    )
                }
                None => (e.row.device.clone(), None),
            };
            let since = e.tracker.since();
            list.push((
                state.severity(),
                flaps,
                since.unwrap_or(0),
                LineProblem {
                    reference: e.row.reference.clone(),
                    member: e.row.member.clone(),
                    state: state.as_str().to_string(),
                    since: since.map(format_time),
                    reason: e.tracker.reason().map(str::to_string),
                    flaps,
                    flapping,
                    location,
                    site,
                },
            ));
        }
        // Worst state first; then the most unstable; then the most recent.
        list.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(b.1.cmp(&a.1))
                .then(b.2.cmp(&a.2))
                .then(a.3.reference.cmp(&b.3.reference))
        });
        Ok(ProblemList {
            total: book.entries.len() as u64,
            unknown,
            lines: list.into_iter().map(|x| x.3).collect(),
        })
    }

    /// ONUs and stations devices show that no line matches, by device.
    pub async fn unassigned(&self, store: &Store) -> Result<Vec<UnassignedItem>, StoreError> {
        self.reload_if_needed(store).await?;
        let book = self.book();
        let mut names: Vec<&Arc<str>> = book.devices.keys().collect();
        names.sort();
        Ok(names
            .into_iter()
            .flat_map(|n| book.devices[n].unassigned.iter().cloned())
            .collect())
    }

    /// What `line watch` needs: the device, its profile and the rows that are the line.
    pub fn watch_target(&self, line_id: i64) -> Option<WatchTarget> {
        let book = self.book();
        let e = &book.entries[*book.by_id.get(&line_id)?];
        let (device, found) = e.found.as_ref()?;
        let profile = book.devices.get(device)?.profile.clone()?;
        Some(WatchTarget {
            device: device.to_string(),
            profile,
            rows: found.rows.clone(),
            location: match (&found.port, found.onu) {
                (Some(p), Some(o)) => Some(format!("{p}:{o}")),
                (Some(p), None) => Some(p.clone()),
                _ => found.mac.clone(),
            },
            thresholds: e.row.thresholds.clone(),
            kind: e.row.kind,
        })
    }
}

/// A line's rows on its device, for a single GET.
#[derive(Debug, Clone)]
pub struct WatchTarget {
    pub device: String,
    pub profile: Arc<Profile>,
    pub rows: Vec<(String, Vec<u32>)>,
    pub location: Option<String>,
    pub thresholds: ThresholdOverrides,
    pub kind: LineKind,
}

/// Reads what a single GET of a line's rows answered: its levels and the device's word.
pub fn watch_reading(
    target: &WatchTarget,
    answers: &[(crate::snmp::Oid, crate::snmp::Value)],
    t: &LineThresholds,
    line: &str,
    took_ms: u64,
) -> ipc::WatchReading {
    let table = crate::profile::table_from_get(&target.profile, answers);
    let decoded = target.profile.decode(&[&table]);
    let mut levels = Levels::default();
    let mut says: Option<(bool, Option<String>)> = None;
    let mut oper: Option<bool> = None;
    for o in &decoded.observations {
        match o {
            Observation::Optical {
                rx_dbm,
                tx_dbm,
                olt_rx_dbm,
                ..
            } => {
                levels.rx_dbm = levels.rx_dbm.or(*rx_dbm);
                levels.tx_dbm = levels.tx_dbm.or(*tx_dbm);
                levels.olt_rx_dbm = levels.olt_rx_dbm.or(*olt_rx_dbm);
            }
            Observation::Radio {
                signal_dbm, snr_db, ..
            } => {
                levels.signal_dbm = levels.signal_dbm.or(*signal_dbm);
                levels.snr_db = levels.snr_db.or(*snr_db);
            }
            Observation::LineState { up, reason, .. } => {
                says = Some((*up, (!*up).then(|| down_reason_text(*reason))))
            }
            Observation::Interface { oper_up, .. } => oper = oper.or(*oper_up),
            _ => {}
        }
    }
    levels.at = Some(format_time(crate::store::now()));
    let (device_says_up, down_reason) = match &says {
        Some((up, why)) => (Some(*up), why.clone()),
        None => (
            oper,
            oper.is_some_and(|u| !u)
                .then(|| "interface down".to_string()),
        ),
    };
    let reading = LineReading {
        device_reachable: true,
        device_says_up,
        down_reason,
        rx_dbm: levels.rx_dbm,
        tx_dbm: levels.tx_dbm,
        olt_rx_dbm: levels.olt_rx_dbm,
        signal_dbm: levels.signal_dbm,
        snr_db: levels.snr_db,
    };
    let e = evaluate(&reading, t, &target.thresholds);
    ipc::WatchReading {
        line: line.to_string(),
        device: target.device.clone(),
        location: target.location.clone(),
        state: e.state.as_str().to_string(),
        reason: e.reason,
        levels,
        oper: device_says_up.map(|u| if u { "up" } else { "down" }.to_string()),
        values: answers.iter().filter(|(_, v)| !v.is_exception()).count() as u32,
        took_ms,
    }
}
