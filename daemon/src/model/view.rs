//! The published view of the model: what every output reads.
//!
//! A [`Snapshot`] is the current state, immutable and shared: devices, lines (grouped by the
//! device they hang on), and components. Its parts are `Arc`s: a new snapshot is made per
//! observation batch by replacing the parts that batch changed (one device's state and its
//! lines), the others shared with the previous snapshot; readers clone an `Arc`, never the
//! data. See `crate::model::Published` for how an output subscribes.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::collect::profile::{Labels, Profile};
use crate::model::devices::DeviceState;
pub use crate::model::lines::Found;
use coopnoc_proto::{LineKind, LineState, MatchKind};

/// The model's state at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Increases with every snapshot published.
    pub version: u64,
    /// When it was published, Unix seconds.
    pub at: i64,
    /// Every configured device, by name.
    pub devices: Arc<BTreeMap<Arc<str>, Arc<DeviceState>>>,
    pub lines: Arc<LinesView>,
    /// The status page's components (`[[component]]`), in config order.
    pub components: Arc<[ComponentView]>,
}

impl Snapshot {
    pub fn device(&self, name: &str) -> Option<&Arc<DeviceState>> {
        self.devices.get(name)
    }

    /// One line, by its row id.
    pub fn line(&self, id: i64) -> Option<&LineView> {
        self.lines.line(id)
    }

    /// Every line the model knows.
    pub fn all_lines(&self) -> impl Iterator<Item = &LineView> {
        self.lines.all()
    }
}

/// A component of the public status page, as configured (its state comes with the status
/// page).
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentView {
    pub id: String,
    pub name: String,
    pub group: Option<String>,
}

/// Every line, grouped by the device it hangs on (where it is seen, else where it was last
/// seen, else the device the inventory names); lines with none are `elsewhere`.
#[derive(Debug, Clone, Default)]
pub struct LinesView {
    pub by_device: BTreeMap<Arc<str>, DeviceLines>,
    pub elsewhere: Arc<[LineView]>,
    /// Lines in the book, and whether it is loaded at all.
    pub total: u64,
    pub loaded: bool,
}

/// One device's lines, and what it shows that no line matches.
#[derive(Debug, Clone, Default)]
pub struct DeviceLines {
    /// In line id order.
    pub lines: Arc<[LineView]>,
    pub unassigned: Arc<[Unassigned]>,
}

impl LinesView {
    /// One line, by its row id: looked up in each group (each is in id order).
    pub fn line(&self, id: i64) -> Option<&LineView> {
        self.by_device
            .values()
            .map(|d| &d.lines)
            .chain([&self.elsewhere])
            .find_map(|group| {
                let i = group.binary_search_by_key(&id, |l| l.id).ok()?;
                Some(&group[i])
            })
    }

    pub fn all(&self) -> impl Iterator<Item = &LineView> {
        self.by_device
            .values()
            .flat_map(|d| d.lines.iter())
            .chain(self.elsewhere.iter())
    }

    /// ONUs and stations devices show that no line matches, by device name.
    pub fn unassigned(&self) -> impl Iterator<Item = &Unassigned> {
        self.by_device.values().flat_map(|d| d.unassigned.iter())
    }
}

/// One line now. `member` is the member's reference: for technicians' tools, never for a
/// public output.
#[derive(Debug, Clone)]
pub struct LineView {
    pub id: i64,
    pub reference: Arc<str>,
    pub member: Option<Arc<str>>,
    pub kind: LineKind,
    /// The device the inventory names, if any.
    pub configured_device: Option<Arc<str>>,
    pub state: LineState,
    /// Unix seconds.
    pub since: Option<i64>,
    /// Why it is in that state ("LOS", "rx -28.40 dBm below -27.0").
    pub reason: Option<String>,
    /// Times (Unix seconds) of its recent state changes, oldest first: flaps are those within
    /// the flap window.
    pub changes: Box<[i64]>,
    /// Where it was last found; `None` when no device shows it.
    pub location: Option<Location>,
    pub levels: LevelsNow,
    pub traffic: Option<TrafficNow>,
    /// Whether its usage is measured per line (`None`: not known, not seen).
    pub measured_per_line: Option<bool>,
}

impl LineView {
    /// State changes within `window_seconds` before `now`.
    pub fn flaps(&self, now: i64, window_seconds: i64) -> u32 {
        self.changes
            .iter()
            .filter(|&&t| now - t <= window_seconds)
            .count() as u32
    }
}

/// Where a line hangs on its device.
#[derive(Debug, Clone)]
pub struct Location {
    pub device: Arc<str>,
    /// The profile the device is read with.
    pub profile: Option<Arc<Profile>>,
    /// Its port, ONU, interface, serial or MAC, and the rows of the device that are it.
    pub found: Arc<Found>,
    /// Unix seconds: when the device last showed it.
    pub seen_at: Option<i64>,
}

/// A line's latest levels; `None` = no reading.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LevelsNow {
    /// Unix seconds of the reading.
    pub at: Option<i64>,
    pub rx_dbm: Option<f64>,
    pub tx_dbm: Option<f64>,
    pub olt_rx_dbm: Option<f64>,
    pub signal_dbm: Option<f64>,
    pub snr_db: Option<f64>,
}

/// A line's traffic over its last poll interval, bits per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrafficNow {
    pub download_bps: Option<f64>,
    pub upload_bps: Option<f64>,
    pub over_seconds: f64,
    /// Unix seconds.
    pub at: i64,
}

/// An ONU or station a device shows that no line matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Unassigned {
    pub device: Arc<str>,
    pub site: Option<String>,
    /// "onu" or "station".
    pub kind: &'static str,
    pub port: Option<String>,
    pub onu: Option<u32>,
    /// How a line would match it, and the key.
    pub match_kind: Option<MatchKind>,
    pub key: Option<String>,
    /// Other labels the device gives (name, model...).
    pub labels: Labels,
}
