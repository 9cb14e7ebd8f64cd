//! Failure scenarios: what goes wrong on the simulated network, when, and for how long
//! (a power cut in a hamlet, a fibre cut after a splitter, a rain fade, a dirty connector,
//! an OLT reboot, a UPS on battery, a device that stops answering).
//!
//! A scenario is a TOML file a trainer can write (see `sim/scenarios/` for the built-in
//! ones and the format). [`crate::SimNetwork::start_scenario`] starts one on a running
//! network; several may run at once; each changes only what it names, on the wire, in the
//! tables coopnoc's profiles read.

mod effects;
pub(crate) mod engine;
mod file;
mod library;

use std::ops::RangeInclusive;
use std::time::Duration;

pub use file::{
    EFFECTS, RAMPS, ScenarioFileError, ScenarioFileErrors, parse, parse_duration, valid_name,
};
pub use library::{BUILTIN, ScenarioLibrary};

use crate::synth::DownCause;

/// A checked scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Its name: the file name without `.toml`.
    pub name: String,
    pub description: String,
    /// Scenario seconds per real second (a 20-minute scenario at speed 10 takes 2 minutes).
    pub speed: f64,
    /// Where it was read from (a path, or `built-in NAME.toml`).
    pub origin: String,
    pub events: Vec<Event>,
}

/// One thing that happens to one device.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The line of its `[[event]]` in the file.
    pub line: usize,
    /// When it starts, from the start of the scenario.
    pub at: Duration,
    /// How long it lasts (`None`: until the scenario is stopped). For a reboot, how long the
    /// device stays down (2 minutes if the file does not say).
    pub lasting: Option<Duration>,
    /// The device's name in the network.
    pub device: String,
    pub effect: Effect,
}

/// What an event does.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// ONUs go down for `cause`, one by one over `spread` (in a deterministic order), and
    /// come back in the same order when the event ends. ONUs already down keep their cause.
    OnuDown {
        onus: OnuSelection,
        cause: DownCause,
        spread: Duration,
    },
    /// The optical levels of ONUs fall (a dirty or bent connector, a degrading fibre).
    RxDrop {
        onus: OnuSelection,
        change: LevelChange,
    },
    /// The signal (and with it the SNR) of a radio's stations or links falls together.
    SignalDrop {
        stations: StationSelection,
        change: LevelChange,
    },
    /// The device stops answering.
    Silent,
    /// The device stops answering, then comes back rebooted (sysUpTime and counters from
    /// 0); an OLT's ONUs register again one by one over `return_over`.
    Reboot { return_over: Duration },
    /// UPS-MIB: upsOutputSource battery, seconds on battery counting, the estimated
    /// runtime falling by `drain` minutes per minute from `runtime_minutes` (the device's
    /// own value if `None`); battery status low at `low_at` minutes, depleted at 0.
    OnBattery {
        runtime_minutes: Option<f64>,
        drain: f64,
        low_at: f64,
    },
}

/// A level falling by `db`, following `ramp` over `over`, holding, then (when the event
/// ends) coming back over `recover`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelChange {
    pub db: f64,
    pub ramp: Ramp,
    pub over: Duration,
    pub recover: Duration,
}

impl LevelChange {
    /// How far the level has fallen, in dB, `elapsed` after the event started; `lasting`
    /// is the event's duration.
    pub fn offset_db(&self, elapsed: Duration, lasting: Option<Duration>) -> f64 {
        let fallen = |t: Duration| self.db * self.ramp.at(fraction(t, self.over));
        match lasting {
            Some(end) if elapsed >= end => {
                let since = elapsed - end;
                fallen(end) * (1.0 - self.ramp.at(fraction(since, self.recover)))
            }
            _ => fallen(elapsed),
        }
    }
}

fn fraction(t: Duration, over: Duration) -> f64 {
    if over.is_zero() {
        1.0
    } else {
        (t.as_secs_f64() / over.as_secs_f64()).clamp(0.0, 1.0)
    }
}

/// How a level moves from where it was to where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ramp {
    /// At once.
    Step,
    /// Evenly.
    Linear,
    /// Slowly first, then faster (a connector getting dirtier).
    EaseIn,
    /// Fast first, then slower.
    EaseOut,
    /// Slowly, fast, slowly (rain coming and going).
    SCurve,
}

impl Ramp {
    pub fn parse(word: &str) -> Option<Ramp> {
        Some(match word {
            "step" => Ramp::Step,
            "linear" => Ramp::Linear,
            "ease-in" => Ramp::EaseIn,
            "ease-out" => Ramp::EaseOut,
            "s-curve" => Ramp::SCurve,
            _ => return None,
        })
    }

    /// The share of the change done at `x` in [0, 1] of the ramp's time.
    pub fn at(self, x: f64) -> f64 {
        let x = x.clamp(0.0, 1.0);
        match self {
            Ramp::Step => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Ramp::Linear => x,
            Ramp::EaseIn => x * x,
            Ramp::EaseOut => 1.0 - (1.0 - x) * (1.0 - x),
            Ramp::SCurve => x * x * (3.0 - 2.0 * x),
        }
    }
}

/// Which ONUs of an OLT an event takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnuSelection {
    pub filter: OnuFilter,
    /// Only the first `count` of them, in position order.
    pub count: Option<u32>,
}

/// ONUs by place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnuFilter {
    All,
    /// A PON port as the OLT names it (`1/1/3`, `0/2`).
    Pon(String),
    /// A splitter (`SPL-1/1/3-2`), see [`crate::Onu::splitter`].
    Splitter(String),
    /// Positions on the OLT (1-based, = the ONU's IF-MIB ifIndex).
    Positions(Vec<RangeInclusive<u32>>),
    /// Line labels (ifAlias, `L-00042`).
    Lines(Vec<String>),
}

/// Which stations (rows of a radio's station or link tables) an event takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StationSelection {
    All,
    /// The first `n` stations, in table order.
    Count(u32),
    /// Stations by their row index (the OID arcs after the column: `"3"` for an ePMP
    /// station, `"0.39.16.50.237.96.9"` for a MikroTik one).
    Index(Vec<String>),
}

/// A scenario to start: a built-in one by name, or one read by [`parse`] or a
/// [`ScenarioLibrary`].
#[derive(Debug, Clone)]
pub enum ScenarioRef {
    Named(String),
    Parsed(Scenario),
}

impl From<&str> for ScenarioRef {
    fn from(name: &str) -> Self {
        ScenarioRef::Named(name.to_owned())
    }
}

impl From<String> for ScenarioRef {
    fn from(name: String) -> Self {
        ScenarioRef::Named(name)
    }
}

impl From<Scenario> for ScenarioRef {
    fn from(scenario: Scenario) -> Self {
        ScenarioRef::Parsed(scenario)
    }
}

/// A scenario started on a network.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioStatus {
    pub name: String,
    pub description: String,
    pub speed: f64,
    /// Scenario time since it started (real time × speed).
    pub elapsed: Duration,
    /// When it ends by itself, in scenario time (`None`: it runs until stopped).
    pub ends_after: Option<Duration>,
    /// It ended by itself (its devices are served as before).
    pub finished: bool,
}

/// Why a scenario could not start.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("no scenario named {name:?} (available: {})", available.join(", "))]
    Unknown {
        name: String,
        available: Vec<String>,
    },
    #[error("{0}")]
    File(#[from] ScenarioFileErrors),
    /// The scenario names something the network does not have, or an effect the device
    /// cannot show.
    #[error("scenario {scenario}: {origin}:{line}: event {event}: {message}")]
    Network {
        scenario: String,
        origin: String,
        line: usize,
        event: usize,
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_go_from_0_to_1() {
        for ramp in [
            Ramp::Step,
            Ramp::Linear,
            Ramp::EaseIn,
            Ramp::EaseOut,
            Ramp::SCurve,
        ] {
            assert_eq!(ramp.at(0.0), 0.0, "{ramp:?}");
            assert_eq!(ramp.at(1.0), 1.0, "{ramp:?}");
            assert_eq!(ramp.at(2.0), 1.0, "{ramp:?}");
            let mut last = 0.0;
            for i in 1..=10 {
                let v = ramp.at(f64::from(i) / 10.0);
                assert!(v >= last, "{ramp:?} goes back");
                last = v;
            }
        }
        assert!(Ramp::EaseIn.at(0.5) < 0.5 && Ramp::EaseOut.at(0.5) > 0.5);
    }

    #[test]
    fn a_level_falls_holds_and_recovers() {
        let change = LevelChange {
            db: 10.0,
            ramp: Ramp::Linear,
            over: Duration::from_secs(100),
            recover: Duration::from_secs(50),
        };
        let s = Duration::from_secs;
        let lasting = Some(s(300));
        assert_eq!(change.offset_db(s(0), lasting), 0.0);
        assert_eq!(change.offset_db(s(50), lasting), 5.0);
        assert_eq!(change.offset_db(s(200), lasting), 10.0);
        assert_eq!(change.offset_db(s(325), lasting), 5.0);
        assert_eq!(change.offset_db(s(400), lasting), 0.0);
        // Ended before the fall was complete: it recovers from where it was.
        assert_eq!(change.offset_db(s(75), Some(s(50))), 2.5);
        // Without an end it holds.
        assert_eq!(change.offset_db(s(10_000), None), 10.0);
    }
}
