//! The line book: every line in memory, where each is found, and which lines each device
//! holds. Matching (`matching`) places lines on devices; the book keeps track of which
//! groups of the published view a change touches, so that only those are rebuilt.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::matching::{Found, Pos, match_device};
use super::state::Tracker;
use crate::collect::observe::Counter;
use crate::collect::profile::{Discovered, Profile};
use crate::model::view::{self, LevelsNow, LineView, LinesView, Location, TrafficNow, Unassigned};
use crate::store::levels::{DayLevels, Metric};
use crate::store::lines::BookRow;
use coopnoc_proto::MatchKind;

/// What a line's traffic was last read as, for "traffic now".
#[derive(Debug, Clone, Copy)]
pub(super) struct CounterRead {
    /// When each counter was read (download, upload: see `Direction::index`).
    pub at_ms: [i64; 2],
    pub download: Option<Counter>,
    pub upload: Option<Counter>,
}

/// One line in memory.
#[derive(Debug)]
pub(super) struct Entry {
    pub row: BookRow,
    pub reference: Arc<str>,
    pub member: Option<Arc<str>>,
    /// The device the inventory names.
    pub configured: Option<Arc<str>>,
    pub tracker: Tracker,
    /// Where it was last found, and on which device.
    pub found: Option<(Arc<str>, Arc<Found>)>,
    pub seen_at: Option<i64>,
    /// The device the line was last found on, kept once it is no longer seen there.
    pub last_device: Option<Arc<str>>,
    pub says_up: Option<(bool, Option<String>)>,
    pub if_oper: Option<bool>,
    pub levels: LevelsNow,
    /// Today's levels (UTC), as stored.
    pub today: Vec<DayLevels>,
    pub last_counters: Option<CounterRead>,
    pub traffic: Option<TrafficNow>,
    /// The line's usage comes from a per-line table (not its interface's counters).
    pub table_usage: bool,
}

impl Entry {
    fn new(row: BookRow) -> Entry {
        let mut tracker = Tracker::new(row.state, row.since);
        tracker.set_reason(row.reason.clone());
        Entry {
            reference: Arc::from(row.reference.as_str()),
            member: row.member.as_deref().map(Arc::from),
            configured: row.device.as_deref().map(Arc::from),
            row,
            tracker,
            found: None,
            seen_at: None,
            last_device: None,
            says_up: None,
            if_oper: None,
            levels: LevelsNow::default(),
            today: Vec::new(),
            last_counters: None,
            traffic: None,
            table_usage: false,
        }
    }

    /// Records a level reading into today's row; true when the row changed.
    pub fn record_level(&mut self, metric: Metric, at: i64, value: f64) -> bool {
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

    /// The group of the published view the line is in: where it is found, else where it was
    /// last found, else the device the inventory names.
    fn home(&self) -> Option<&Arc<str>> {
        self.found
            .as_ref()
            .map(|(d, _)| d)
            .or(self.last_device.as_ref())
            .or(self.configured.as_ref())
    }
}

/// One device as the lines see it.
#[derive(Debug, Default)]
pub(super) struct LinesOnDevice {
    pub site: Option<String>,
    pub discovered: Arc<Vec<Discovered>>,
    pub profile: Option<Arc<Profile>>,
    pub reachable: Option<bool>,
    pub uptime: Option<u32>,
    /// When `uptime` was read.
    pub uptime_at: Option<jiff::Timestamp>,
    pub by_pos: HashMap<Pos, usize>,
    pub unassigned: Arc<[Unassigned]>,
    /// Line slots found here by the last matching.
    pub matched: Vec<usize>,
    /// Lines last seen here and now seen nowhere (by id: slots change when the book reloads).
    lost: HashSet<i64>,
    /// Lines not found here evaluated with each poll anyway: configured here, or lost.
    pub watched: Vec<usize>,
}

#[derive(Debug, Default)]
pub(super) struct Book {
    pub entries: Vec<Entry>,
    pub by_id: HashMap<i64, usize>,
    by_key: HashMap<(MatchKind, String), Vec<usize>>,
    /// Lines by the device the inventory says they hang on.
    configured: HashMap<String, Vec<usize>>,
    pub devices: HashMap<Arc<str>, LinesOnDevice>,
    /// Groups of the published view to rebuild.
    dirty: BTreeSet<Arc<str>>,
    /// Lines that hang on no device (none configured, never found), and whether their
    /// group must be rebuilt (a line of them was found).
    elsewhere: Vec<usize>,
    elsewhere_dirty: bool,
    /// The book was (re)loaded: every group is rebuilt.
    regroup: bool,
}

impl Book {
    /// Replaces the lines with `rows`, keeping what is known of the lines that stay.
    pub fn load(&mut self, rows: Vec<BookRow>, today: Vec<(i64, DayLevels)>) {
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
                    let fresh = Entry::new(row);
                    e.reference = fresh.reference;
                    e.member = fresh.member;
                    e.configured = fresh.configured;
                    e.row = BookRow {
                        state: e.tracker.state(),
                        since: e.tracker.since(),
                        ..fresh.row
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
        self.regroup = true;
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
    pub fn rematch(&mut self, device: &Arc<str>, at: Option<i64>) {
        let Some(dev) = self.devices.get(device) else {
            return;
        };
        let m = match_device(device, dev.site.as_deref(), &dev.discovered, |k, v| {
            self.lookup(device, k, v)
        });
        let before = dev.matched.clone();
        let homes_before: Vec<(usize, Option<Arc<str>>)> = before
            .iter()
            .chain(m.found.keys())
            .map(|&s| (s, self.entries[s].home().cloned()))
            .collect();
        for &slot in &before {
            let e = &mut self.entries[slot];
            if e.found.as_ref().is_some_and(|(d, _)| d == device) {
                e.found = None;
            }
        }
        let matched: Vec<usize> = m.found.keys().copied().collect();
        for (slot, found) in m.found {
            let e = &mut self.entries[slot];
            e.found = Some((device.clone(), Arc::new(found)));
            e.last_device = Some(device.clone());
            if let Some(at) = at {
                e.seen_at = Some(at);
            }
        }
        // A line that changed group leaves one and joins the other: both are rebuilt.
        for (slot, was) in homes_before {
            let now = self.entries[slot].home().cloned();
            if now != was {
                for home in [was, now] {
                    match home {
                        Some(d) => {
                            self.dirty.insert(d);
                        }
                        None => self.elsewhere_dirty = true,
                    }
                }
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
        dev.unassigned = m.unassigned.into();
        dev.matched = matched;
        dev.watched = watched;
        self.dirty.insert(device.clone());
    }

    /// A batch of `device` changed its lines (readings, states): its group is rebuilt.
    pub fn touched(&mut self, device: &Arc<str>) {
        self.dirty.insert(device.clone());
    }

    /// Brings `view` up to date with the book: the groups that changed are rebuilt, the
    /// others kept as they are (shared with the snapshots already published).
    pub fn update_view(&mut self, view: &mut LinesView) {
        view.total = self.entries.len() as u64;
        view.loaded = true;
        if std::mem::take(&mut self.regroup) {
            self.dirty.clear();
            self.elsewhere_dirty = false;
            *view = self.full_view();
            return;
        }
        for device in std::mem::take(&mut self.dirty) {
            let group = self.device_group(&device);
            view.by_device.insert(device, group);
        }
        if std::mem::take(&mut self.elsewhere_dirty) {
            // Lines only ever leave this group between two loads.
            let entries = &self.entries;
            self.elsewhere.retain(|&s| entries[s].home().is_none());
            view.elsewhere = self.group(None, self.elsewhere.clone());
        }
    }

    /// The whole view, every group rebuilt.
    fn full_view(&mut self) -> LinesView {
        let mut slots: HashMap<Option<&Arc<str>>, Vec<usize>> = HashMap::new();
        for (slot, e) in self.entries.iter().enumerate() {
            slots.entry(e.home()).or_default().push(slot);
        }
        self.elsewhere = slots.get(&None).cloned().unwrap_or_default();
        let mut by_device: BTreeMap<Arc<str>, view::DeviceLines> = self
            .devices
            .iter()
            .map(|(name, d)| {
                (
                    name.clone(),
                    view::DeviceLines {
                        lines: Arc::from([]),
                        unassigned: d.unassigned.clone(),
                    },
                )
            })
            .collect();
        let mut elsewhere: Arc<[LineView]> = Arc::from([]);
        for (home, group) in slots {
            let lines = self.group(home, group);
            match home {
                Some(device) => {
                    by_device.entry(device.clone()).or_default().lines = lines;
                }
                None => elsewhere = lines,
            }
        }
        LinesView {
            by_device,
            elsewhere,
            total: self.entries.len() as u64,
            loaded: true,
        }
    }

    /// The group of `device`: the lines that hang on it (all of them are among those it
    /// matched or watches), and what it shows that no line matches.
    fn device_group(&self, device: &Arc<str>) -> view::DeviceLines {
        let Some(dev) = self.devices.get(device) else {
            let slots = self.configured.get(&**device).cloned().unwrap_or_default();
            return view::DeviceLines {
                lines: self.group(Some(device), slots),
                unassigned: Arc::from([]),
            };
        };
        let slots: Vec<usize> = dev.matched.iter().chain(&dev.watched).copied().collect();
        view::DeviceLines {
            lines: self.group(Some(device), slots),
            unassigned: dev.unassigned.clone(),
        }
    }

    /// The views of the lines among `slots` whose home is `home`, in id order, each once.
    fn group(&self, home: Option<&Arc<str>>, mut slots: Vec<usize>) -> Arc<[LineView]> {
        slots.retain(|&s| self.entries[s].home() == home);
        slots.sort_unstable_by_key(|&s| self.entries[s].row.id);
        slots.dedup();
        slots.iter().map(|&s| self.line_view(s)).collect()
    }

    fn line_view(&self, slot: usize) -> LineView {
        let e = &self.entries[slot];
        let profile = e
            .found
            .as_ref()
            .and_then(|(d, _)| self.devices.get(d)?.profile.as_ref());
        LineView {
            id: e.row.id,
            reference: e.reference.clone(),
            member: e.member.clone(),
            kind: e.row.kind,
            configured_device: e.configured.clone(),
            state: e.tracker.state(),
            since: e.tracker.since(),
            reason: e.tracker.reason().map(str::to_string),
            changes: e.tracker.changes().collect(),
            location: e.found.as_ref().map(|(device, found)| Location {
                device: device.clone(),
                profile: profile.cloned(),
                found: found.clone(),
                seen_at: e.seen_at,
            }),
            levels: e.levels,
            traffic: e.traffic,
            measured_per_line: profile.map(|p| {
                p.line_usage == crate::collect::profile::LineUsage::PerLine
                    || (!e.table_usage && e.last_counters.is_some())
            }),
        }
    }
}
