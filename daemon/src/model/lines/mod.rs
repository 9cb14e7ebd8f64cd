//! Subscriber lines in the daemon: matched to what devices show, their state judged with
//! hysteresis, their levels kept by the hour, their counters handed to usage accounting.
//!
//! The path: a device's observation batch -> [`Lines::take_in`] -> the device's discovered
//! ONUs/stations/ports matched to lines (`matching`, kept in the `book`) -> each matched
//! line's readings (`readings`: the device's word, optical and radio levels, counters) -> at
//! the end of a status poll, one judgement per line (`judge`, with `state`) -> state changes,
//! events and levels for one store write, counter samples for usage accounting.

mod book;
mod judge;
mod matching;
mod readings;
pub mod state;
mod watch;

pub use matching::Found;
pub use watch::{WatchTarget, WatchedReading};

use std::sync::Arc;

use crate::collect::observe::{Observation, ObservationBatch};
use crate::collect::profile::LineUsage;
use crate::config::Config;
use crate::model::events::Event;
use crate::model::usage::CounterSample;
use crate::model::view::LinesView;
use crate::store::lines::LinesWrite;
use crate::store::{Store, StoreError};
use book::Book;

/// What taking in a batch leaves to do: one store write, usage samples, events to publish.
#[derive(Default)]
pub struct Outcome {
    pub write: LinesWrite,
    pub samples: Vec<CounterSample>,
    pub events: Vec<Event>,
}

/// The daemon's lines, in memory. Owned by the model (one batch at a time).
#[derive(Default)]
pub struct Lines {
    book: Book,
    loaded: bool,
    /// The last load failed: try again before the next batch.
    stale: bool,
}

impl Lines {
    pub fn new() -> Lines {
        Lines::default()
    }

    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// Not loaded yet, or the last (re)load failed.
    pub fn needs_load(&self) -> bool {
        !self.loaded || self.stale
    }

    /// (Re)loads the lines from the store, keeping what is known of the lines that stay;
    /// at the first load, today's levels too.
    pub async fn load(&mut self, store: &Store) -> Result<(), StoreError> {
        self.stale = true;
        let rows = store.book_rows().await?;
        let today = if self.loaded {
            Vec::new()
        } else {
            store
                .levels_of_day(crate::store::now().div_euclid(86400))
                .await?
        };
        self.book.load(rows, today);
        self.loaded = true;
        self.stale = false;
        Ok(())
    }

    /// Takes in one device's batch: matching, readings, judgement.
    pub fn take_in(&mut self, config: &Config, batch: &ObservationBatch) -> Outcome {
        let at = batch.at.as_second();
        let name = batch.device.clone();
        let configured = config.device(&name);
        // Levels older than three of their reads (optics come on the slow schedule) are
        // stale: a device that stopped giving them must not keep a line "up" on old news.
        let stale_after = configured.map_or(3600, |d| {
            3 * d.poll.slow_interval.max(d.poll.status_interval).as_secs() as i64
        });
        let poll_ok = self.take_device(&name, configured.and_then(|d| d.site.clone()), batch);
        self.book.touched(&name);
        let mut out = Outcome::default();
        let book = &mut self.book;
        let Some(dev) = book.devices.get(&name) else {
            return out;
        };
        let readings = readings::take(dev, &mut book.entries, batch);
        for &slot in &readings.level_changes {
            let e = &book.entries[slot];
            for d in &e.today {
                out.write.levels.push((e.row.id, d.clone()));
            }
        }
        if poll_ok == Some(true) {
            let per_line_device = dev
                .profile
                .as_ref()
                .is_none_or(|p| p.line_usage == LineUsage::PerLine);
            readings::usage_samples(
                dev,
                &mut book.entries,
                &readings,
                batch,
                per_line_device,
                &mut out.samples,
            );
        }
        // Judgement: after every status poll that succeeded, or once the device is judged
        // unreachable; a single failed poll tells nothing about lines.
        let judge_now = match poll_ok {
            Some(true) => true,
            Some(false) => dev.reachable == Some(false),
            None => false,
        };
        if judge_now {
            let judged = judge::judge_lines(
                &name,
                dev,
                &mut book.entries,
                &config.lines,
                at,
                stale_after,
            );
            out.write.states = judged.states;
            out.write.events = judged.events.iter().map(Event::stored).collect();
            out.events = judged.events;
        }
        out
    }

    /// Takes in what the batch says of the device itself (profile, what it shows, uptime,
    /// reachability), matching its lines again when what it shows changed. Returns whether
    /// the batch is a poll, and if it succeeded.
    fn take_device(
        &mut self,
        name: &Arc<str>,
        site: Option<String>,
        batch: &ObservationBatch,
    ) -> Option<bool> {
        let dev = self.book.devices.entry(name.clone()).or_default();
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
            self.book.rematch(name, Some(batch.at.as_second()));
        }
        poll_ok
    }

    /// Brings the published lines up to date: the groups the last batches touched are
    /// rebuilt, the others shared.
    pub fn update_view(&mut self, view: &mut LinesView) {
        if self.loaded {
            self.book.update_view(view);
        }
    }

    /// What `line watch` needs: the device, its profile and the rows that are the line.
    pub fn watch_target(&self, line_id: i64) -> Option<WatchTarget> {
        let book = &self.book;
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
