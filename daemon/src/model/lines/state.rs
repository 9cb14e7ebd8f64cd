//! Line (and device) state: up / degraded / down / unknown, with hysteresis and flap counting.
//!
//! `evaluate` turns what was observed of a line into the state it suggests; a `Tracker` per
//! line changes its state only after `hysteresis` agreeing evaluations in a row, and reports
//! each change as a `Transition` (which becomes an event). An unreachable device makes its
//! lines unknown, never down: no answer is not a broken fibre.

use std::collections::VecDeque;

use crate::config::LineThresholds;
pub use coopnoc_proto::{LineState, ThresholdOverrides};

/// What was seen of a line in one poll.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineReading {
    /// The device answered this poll.
    pub device_reachable: bool,
    /// The device's own word on the line: up, or down with its reason ("LOS", "dying gasp").
    pub device_says_up: Option<bool>,
    pub down_reason: Option<String>,
    pub rx_dbm: Option<f64>,
    pub tx_dbm: Option<f64>,
    /// What the OLT receives from the ONU: judged by the same optical thresholds.
    pub olt_rx_dbm: Option<f64>,
    pub signal_dbm: Option<f64>,
    pub snr_db: Option<f64>,
}

/// The state a reading suggests, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub state: LineState,
    pub reason: Option<String>,
}

pub fn evaluate(r: &LineReading, t: &LineThresholds, o: &ThresholdOverrides) -> Evaluation {
    let unknown = |why: &str| Evaluation {
        state: LineState::Unknown,
        reason: Some(why.to_string()),
    };
    if !r.device_reachable {
        return unknown("device unreachable");
    }
    match r.device_says_up {
        Some(false) => {
            return Evaluation {
                state: LineState::Down,
                reason: Some(r.down_reason.clone().unwrap_or_else(|| "offline".into())),
            };
        }
        None if r.rx_dbm.is_none()
            && r.olt_rx_dbm.is_none()
            && r.signal_dbm.is_none()
            && r.snr_db.is_none() =>
        {
            return unknown("no data");
        }
        _ => {}
    }
    let rx_min = o.optical_rx_min_dbm.unwrap_or(t.optical_rx_min_dbm);
    let rx_max = o.optical_rx_max_dbm.unwrap_or(t.optical_rx_max_dbm);
    let sig_min = o.radio_signal_min_dbm.unwrap_or(t.radio_signal_min_dbm);
    let snr_min = o.radio_snr_min_db.unwrap_or(t.radio_snr_min_db);
    let mut why = Vec::new();
    for (what, level) in [("rx", r.rx_dbm), ("OLT rx", r.olt_rx_dbm)] {
        let Some(rx) = level else { continue };
        if rx < rx_min {
            why.push(format!("{what} {rx:.2} dBm below {rx_min:.1}"));
        } else if rx > rx_max {
            why.push(format!("{what} {rx:.2} dBm above {rx_max:.1} (overload)"));
        }
    }
    if let Some(s) = r.signal_dbm
        && s < sig_min
    {
        why.push(format!("signal {s:.1} dBm below {sig_min:.1}"));
    }
    if let Some(s) = r.snr_db
        && s < snr_min
    {
        why.push(format!("SNR {s:.1} dB below {snr_min:.1}"));
    }
    if why.is_empty() {
        Evaluation {
            state: LineState::Up,
            reason: None,
        }
    } else {
        Evaluation {
            state: LineState::Degraded,
            reason: Some(why.join(", ")),
        }
    }
}

/// A change of state, to be recorded as an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub from: LineState,
    pub to: LineState,
    pub at: i64,
    pub reason: Option<String>,
}

/// The state of one line over time.
#[derive(Debug, Clone)]
pub struct Tracker {
    state: LineState,
    since: Option<i64>,
    reason: Option<String>,
    /// A different state seen `count` times in a row, not yet adopted.
    candidate: Option<(LineState, u32)>,
    /// Times of recent changes, for flap counting.
    changes: VecDeque<i64>,
    observed: bool,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker::new(LineState::Unknown, None)
    }
}

impl Tracker {
    /// A tracker resuming from a stored state (after a restart).
    pub fn new(state: LineState, since: Option<i64>) -> Tracker {
        Tracker {
            state,
            since,
            reason: None,
            candidate: None,
            changes: VecDeque::new(),
            observed: false,
        }
    }

    pub fn state(&self) -> LineState {
        self.state
    }

    pub fn since(&self) -> Option<i64> {
        self.since
    }

    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// Times of the recent changes, oldest first (those older than the flap window are
    /// dropped at each observation).
    pub fn changes(&self) -> impl Iterator<Item = i64> + '_ {
        self.changes.iter().copied()
    }

    /// The reason of the resumed state (after a restart).
    pub fn set_reason(&mut self, reason: Option<String>) {
        self.reason = reason;
    }

    /// State changes within `window_seconds` before `now`.
    pub fn flaps(&self, now: i64, window_seconds: i64) -> usize {
        self.changes
            .iter()
            .filter(|&&t| now - t <= window_seconds)
            .count()
    }

    /// Takes one evaluation. The first evaluation after start is adopted at once when the
    /// stored state is unknown (nothing to be hysteretic about); afterwards a different state
    /// must be seen `hysteresis` times in a row.
    pub fn observe(
        &mut self,
        e: &Evaluation,
        at: i64,
        hysteresis: u32,
        flap_window_seconds: i64,
    ) -> Option<Transition> {
        while self
            .changes
            .front()
            .is_some_and(|&t| at - t > flap_window_seconds)
        {
            self.changes.pop_front();
        }
        let first = !self.observed;
        self.observed = true;
        if e.state == self.state {
            self.candidate = None;
            // Same state, perhaps a new reason (e.g. a worse rx level): keep the latest.
            self.reason = e.reason.clone();
            return None;
        }
        let count = match self.candidate {
            Some((s, n)) if s == e.state => n + 1,
            _ => 1,
        };
        if !(first && self.state == LineState::Unknown) && count < hysteresis.max(1) {
            self.candidate = Some((e.state, count));
            return None;
        }
        let from = self.state;
        self.state = e.state;
        self.since = Some(at);
        self.reason = e.reason.clone();
        self.candidate = None;
        // Changes involving unknown are about our view, not the line: not flaps.
        if from != LineState::Unknown && e.state != LineState::Unknown {
            self.changes.push_back(at);
        }
        Some(Transition {
            from,
            to: e.state,
            at,
            reason: e.reason.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thresholds() -> LineThresholds {
        LineThresholds {
            optical_rx_min_dbm: -27.0,
            optical_rx_max_dbm: -8.0,
            radio_signal_min_dbm: -75.0,
            radio_snr_min_db: 15.0,
            hysteresis: 3,
            flap_window: std::time::Duration::from_secs(3600),
            flap_count: 4,
        }
    }

    fn reading(rx: f64) -> LineReading {
        LineReading {
            device_reachable: true,
            device_says_up: Some(true),
            rx_dbm: Some(rx),
            ..Default::default()
        }
    }

    #[test]
    fn evaluation_follows_thresholds_and_overrides() {
        let t = thresholds();
        let none = ThresholdOverrides::default();
        assert_eq!(evaluate(&reading(-20.0), &t, &none).state, LineState::Up);
        let e = evaluate(&reading(-28.5), &t, &none);
        assert_eq!(e.state, LineState::Degraded);
        assert_eq!(e.reason.as_deref(), Some("rx -28.50 dBm below -27.0"));
        assert_eq!(
            evaluate(&reading(-5.0), &t, &none).state,
            LineState::Degraded
        );
        let long_fibre = ThresholdOverrides {
            optical_rx_min_dbm: Some(-29.0),
            ..Default::default()
        };
        assert_eq!(
            evaluate(&reading(-28.5), &t, &long_fibre).state,
            LineState::Up
        );

        let los = LineReading {
            device_reachable: true,
            device_says_up: Some(false),
            down_reason: Some("LOS".into()),
            ..Default::default()
        };
        assert_eq!(
            evaluate(&los, &t, &none),
            Evaluation {
                state: LineState::Down,
                reason: Some("LOS".into())
            }
        );
        // No answer from the device is never "down".
        let gone = LineReading {
            device_reachable: false,
            device_says_up: Some(false),
            ..Default::default()
        };
        assert_eq!(evaluate(&gone, &t, &none).state, LineState::Unknown);
        let radio = LineReading {
            device_reachable: true,
            signal_dbm: Some(-80.0),
            snr_db: Some(10.0),
            ..Default::default()
        };
        let e = evaluate(&radio, &t, &none);
        assert_eq!(e.state, LineState::Degraded);
        assert!(
            e.reason
                .as_deref()
                .is_some_and(|r| r.contains("signal") && r.contains("SNR"))
        );
        let silent = LineReading {
            device_reachable: true,
            ..Default::default()
        };
        assert_eq!(evaluate(&silent, &t, &none).state, LineState::Unknown);
    }

    fn ev(state: LineState) -> Evaluation {
        Evaluation {
            state,
            reason: None,
        }
    }

    #[test]
    fn hysteresis_needs_n_agreeing_observations() {
        use LineState::*;
        let mut tr = Tracker::default();
        // First observation after start is adopted at once.
        assert_eq!(tr.observe(&ev(Up), 0, 3, 3600).map(|t| t.to), Some(Up));
        // A single bad reading, then good again: no change.
        assert_eq!(tr.observe(&ev(Down), 60, 3, 3600), None);
        assert_eq!(tr.observe(&ev(Up), 120, 3, 3600), None);
        // Two downs then a degraded reset the count.
        assert_eq!(tr.observe(&ev(Down), 180, 3, 3600), None);
        assert_eq!(tr.observe(&ev(Down), 240, 3, 3600), None);
        assert_eq!(tr.observe(&ev(Degraded), 300, 3, 3600), None);
        assert_eq!(tr.state(), Up);
        // Three in a row: the change happens at the third, which becomes `since`.
        assert_eq!(tr.observe(&ev(Down), 360, 3, 3600), None);
        assert_eq!(tr.observe(&ev(Down), 420, 3, 3600), None);
        let t = tr.observe(&ev(Down), 480, 3, 3600).expect("change");
        assert_eq!((t.from, t.to, t.at), (Up, Down, 480));
        assert_eq!(tr.since(), Some(480));
        // And back, the same way.
        for at in [540, 600] {
            assert_eq!(tr.observe(&ev(Up), at, 3, 3600), None);
        }
        assert_eq!(tr.observe(&ev(Up), 660, 3, 3600).map(|t| t.to), Some(Up));
        assert_eq!(tr.flaps(660, 3600), 2);
        assert_eq!(tr.flaps(660 + 3601, 3600), 0);
    }

    #[test]
    fn a_resumed_state_is_not_adopted_blindly() {
        let mut tr = Tracker::new(LineState::Up, Some(100));
        assert_eq!(tr.observe(&ev(LineState::Down), 200, 2, 3600), None);
        assert_eq!(
            tr.observe(&ev(LineState::Down), 260, 2, 3600)
                .map(|t| t.from),
            Some(LineState::Up)
        );
    }

    #[test]
    fn unknown_changes_are_not_flaps() {
        let mut tr = Tracker::default();
        tr.observe(&ev(LineState::Up), 0, 1, 3600);
        tr.observe(&ev(LineState::Unknown), 60, 1, 3600);
        tr.observe(&ev(LineState::Up), 120, 1, 3600);
        assert_eq!(tr.flaps(120, 3600), 0);
        tr.observe(&ev(LineState::Down), 180, 1, 3600);
        assert_eq!(tr.flaps(180, 3600), 1);
    }
}
