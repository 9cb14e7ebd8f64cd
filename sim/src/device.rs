//! One simulated device: its behaviour options, its clock (uptime, reboots, stalls) and
//! the async-snmp `MibHandler` that serves its table with moving values.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use async_snmp::handler::{
    BoxFuture, GetNextResult, GetResult, HandlerResult, MibHandler, RequestContext,
};
use async_snmp::{Oid, Value, VarBind, Version};
use tokio::time::Instant;

use crate::overlay::Overlay;
use crate::rng::{mix2, unit};
use crate::table::{Cell, MibView};

/// How a device behaves over time and on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Behaviour {
    /// Mean growth of every Counter32/Counter64, in units (bytes) per second. Each row
    /// grows at this rate times a deterministic factor in [0.5, 1.5) (see
    /// [`RunningDevice::counter_rate`](crate::RunningDevice::counter_rate)).
    pub counter_rate: f64,
    /// Fixed delay added to every request.
    pub latency: Duration,
    /// Extra delay, uniform in [0, jitter), deterministic per request id.
    pub jitter: Duration,
    /// Probability in [0, 1] that a request is dropped without an answer.
    pub loss: f64,
    /// Scheduled reboots: sysUpTime and counters restart from 0.
    pub reboot: Reboot,
    /// Scheduled stall: counters stop moving (sysUpTime keeps going).
    pub stall: Option<Stall>,
    /// Seed of every random choice of this device (rate spread, jitter, loss).
    pub seed: u64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            // 50 kB/s: about 400 kbit/s, a residential line's average over a day.
            counter_rate: 50_000.0,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            reboot: Reboot::Never,
            stall: None,
            seed: 1,
        }
    }
}

/// When a device reboots, counted from the start of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reboot {
    #[default]
    Never,
    /// Once, this long after start.
    At(Duration),
    /// Every period (first reboot one period after start).
    Every(Duration),
}

/// Counters freeze from `after` (since start) for `duration` (forever if `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    pub after: Duration,
    pub duration: Option<Duration>,
}

/// A point in the device's life, computed once per request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moment {
    /// Whether the device has rebooted since the network started.
    rebooted: bool,
    /// Time since start (or since the last reboot if `rebooted`).
    since_boot: Duration,
    /// Seconds during which counters moved since start or the last reboot.
    moving_secs: f64,
}

/// The device clock: start instant, reboots and stalls (scheduled and triggered).
#[derive(Debug)]
pub(crate) struct Clock {
    epoch: Instant,
    reboot: Reboot,
    state: Mutex<ClockState>,
}

#[derive(Debug, Default)]
struct ClockState {
    /// Offset (since epoch) of the last reboot triggered by [`Clock::reboot_now`].
    manual_boot: Option<Duration>,
    /// Stall intervals as offsets since epoch; an open end means "still stalled".
    stalls: Vec<(Duration, Option<Duration>)>,
}

impl Clock {
    pub(crate) fn new(epoch: Instant, behaviour: &Behaviour) -> Clock {
        let mut state = ClockState::default();
        if let Some(stall) = behaviour.stall {
            state
                .stalls
                .push((stall.after, stall.duration.map(|d| stall.after + d)));
        }
        Clock {
            epoch,
            reboot: behaviour.reboot,
            state: Mutex::new(state),
        }
    }

    fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.epoch)
    }

    pub(crate) fn reboot_now(&self) {
        let at = self.elapsed(Instant::now());
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .manual_boot = Some(at);
    }

    pub(crate) fn set_stalled(&self, stalled: bool) {
        let at = self.elapsed(Instant::now());
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let open = state
            .stalls
            .iter()
            .position(|(start, end)| *start <= at && end.is_none_or(|e| e > at));
        match (stalled, open) {
            (true, None) => state.stalls.push((at, None)),
            (false, Some(i)) => state.stalls[i].1 = Some(at),
            _ => {}
        }
    }

    pub(crate) fn moment(&self, now: Instant) -> Moment {
        let elapsed = self.elapsed(now);
        let scheduled = match self.reboot {
            Reboot::Never => None,
            Reboot::At(at) => (elapsed >= at).then_some(at),
            Reboot::Every(period) if period > Duration::ZERO => {
                let k = elapsed.as_nanos() / period.as_nanos();
                (k > 0).then(|| period.saturating_mul(u32::try_from(k).unwrap_or(u32::MAX)))
            }
            Reboot::Every(_) => None,
        };
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let boot = scheduled.max(state.manual_boot);
        let from = boot.unwrap_or(Duration::ZERO);
        let since_boot = elapsed.saturating_sub(from);
        let stalled: Duration = state
            .stalls
            .iter()
            .map(|(start, end)| {
                let s = (*start).max(from);
                let e = end.unwrap_or(elapsed).min(elapsed);
                e.saturating_sub(s)
            })
            .sum();
        Moment {
            rebooted: boot.is_some(),
            since_boot,
            moving_secs: since_boot.saturating_sub(stalled).as_secs_f64(),
        }
    }
}

/// Serves one device's layers (first layer wins) with moving values, under the overlay a
/// running scenario sets (rows it changes or adds, rows it hides).
pub(crate) struct SimHandler {
    pub(crate) layers: Vec<Arc<dyn MibView>>,
    pub(crate) clock: Arc<Clock>,
    pub(crate) behaviour: Behaviour,
    pub(crate) overlay: RwLock<Option<Arc<Overlay>>>,
    /// Whether `overlay` is set: read without the lock on every request (the bench's agents
    /// never have one).
    overlaid: AtomicBool,
}

impl SimHandler {
    pub(crate) fn new(
        layers: Vec<Arc<dyn MibView>>,
        clock: Arc<Clock>,
        behaviour: Behaviour,
    ) -> Self {
        SimHandler {
            layers,
            clock,
            behaviour,
            overlay: RwLock::new(None),
            overlaid: AtomicBool::new(false),
        }
    }

    /// Replace the scenario overlay (`None`: serve the device as it was built).
    pub(crate) fn set_overlay(&self, overlay: Option<Arc<Overlay>>) {
        let mut slot = self.overlay.write().unwrap_or_else(PoisonError::into_inner);
        self.overlaid.store(overlay.is_some(), Ordering::Release);
        *slot = overlay;
    }

    fn overlay(&self) -> Option<Arc<Overlay>> {
        if !self.overlaid.load(Ordering::Acquire) {
            return None;
        }
        self.overlay
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The device's own cell at `oid`, before any overlay.
    pub(crate) fn base_cell(&self, oid: &Oid) -> Option<Cell> {
        self.layers.iter().find_map(|t| t.cell_at(oid))
    }

    /// The device's own first cell after `oid`, before any overlay.
    pub(crate) fn base_next(&self, oid: &Oid) -> Option<(Oid, Cell)> {
        let mut best: Option<(Oid, Cell)> = None;
        for table in &self.layers {
            if let Some(candidate) = table.next_cell(oid)
                && best.as_ref().is_none_or(|b| candidate.0 < b.0)
            {
                best = Some(candidate);
            }
        }
        best
    }

    /// The rate of a counter row with this spread key, in units per second.
    pub(crate) fn rate(&self, key: u32) -> f64 {
        self.behaviour.counter_rate * (0.5 + unit(mix2(self.behaviour.seed, u64::from(key))))
    }

    pub(crate) fn render(&self, cell: &Cell, moment: Moment) -> Value {
        match cell {
            Cell::Fixed(v) => v.clone(),
            Cell::Uptime(recorded) => {
                let ticks = (moment.since_boot.as_millis() / 10) as u64;
                let base = if moment.rebooted {
                    0
                } else {
                    u64::from(*recorded)
                };
                Value::TimeTicks(base.wrapping_add(ticks) as u32)
            }
            Cell::Counter32 { base, key, scale } => {
                let grown = (self.rate(*key) * f64::from(*scale) * moment.moving_secs) as u64;
                let base = if moment.rebooted { 0 } else { u64::from(*base) };
                Value::Counter32(base.wrapping_add(grown) as u32)
            }
            Cell::Counter64 { base, key, scale } => {
                let grown = (self.rate(*key) * f64::from(*scale) * moment.moving_secs) as u64;
                let base = if moment.rebooted { 0 } else { *base };
                Value::Counter64(base.wrapping_add(grown))
            }
        }
    }

    pub(crate) fn lookup(&self, oid: &Oid) -> Option<Cell> {
        if let Some(overlay) = self.overlay() {
            if let Some(cell) = overlay.rows.cell_at(oid) {
                return Some(cell);
            }
            if overlay.hides(oid) {
                return None;
            }
        }
        self.base_cell(oid)
    }

    /// The first cell after `oid` across the layers (an upper layer hides equal OIDs) and the
    /// overlay (whose rows win over equal OIDs and whose hidden rows are skipped).
    fn next(&self, oid: &Oid) -> Option<(Oid, Cell)> {
        let Some(overlay) = self.overlay() else {
            return self.base_next(oid);
        };
        let mut base = self.base_next(oid);
        while let Some((at, _)) = &base
            && overlay.hides(at)
        {
            base = self.base_next(at);
        }
        match (base, overlay.rows.next_cell(oid)) {
            (Some(b), Some(o)) => Some(if o.0 <= b.0 { o } else { b }),
            (b, o) => o.or(b),
        }
    }

    /// Wait until this request's latency has passed (measured from receipt, so a GETBULK
    /// waits once, not once per varbind).
    async fn delay(&self, ctx: &RequestContext) {
        let b = &self.behaviour;
        if b.latency.is_zero() && b.jitter.is_zero() {
            return;
        }
        let draw = unit(mix2(b.seed ^ 0x6a17, ctx.request_id() as u32 as u64));
        let due = ctx.received_at() + b.latency + b.jitter.mul_f64(draw);
        tokio::time::sleep_until(due).await;
    }
}

impl MibHandler for SimHandler {
    fn get<'a>(
        &'a self,
        ctx: &'a RequestContext,
        oid: &'a Oid,
    ) -> BoxFuture<'a, HandlerResult<GetResult>> {
        Box::pin(async move {
            self.delay(ctx).await;
            let moment = self.clock.moment(Instant::now());
            Ok(match self.lookup(oid) {
                Some(cell) => GetResult::Value(self.render(&cell, moment)),
                None => GetResult::NoSuchObject,
            })
        })
    }

    fn get_next<'a>(
        &'a self,
        ctx: &'a RequestContext,
        oid: &'a Oid,
    ) -> BoxFuture<'a, HandlerResult<GetNextResult>> {
        Box::pin(async move {
            self.delay(ctx).await;
            let moment = self.clock.moment(Instant::now());
            let mut found = self.next(oid);
            loop {
                let Some((next_oid, cell)) = found else {
                    return Ok(GetNextResult::EndOfMibView);
                };
                // SNMPv1 cannot carry Counter64: skip those rows here rather than make the
                // agent probe them one by one (it gives up after 1000 skips).
                if ctx.version() == Version::V1 && matches!(cell, Cell::Counter64 { .. }) {
                    found = self.next(&next_oid);
                    continue;
                }
                let value = self.render(&cell, moment);
                return Ok(GetNextResult::Value(VarBind::new(next_oid, value)));
            }
        })
    }

    fn handles(&self, _registered_prefix: &Oid, _oid: &Oid) -> bool {
        // One handler serves the whole tree.
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handler(behaviour: Behaviour) -> SimHandler {
        SimHandler::new(
            Vec::new(),
            Arc::new(Clock::new(Instant::now(), &behaviour)),
            behaviour,
        )
    }

    fn moment(rebooted: bool, secs: f64) -> Moment {
        Moment {
            rebooted,
            since_boot: Duration::from_secs_f64(secs),
            moving_secs: secs,
        }
    }

    #[test]
    fn counter64_wraps_at_2_pow_64() {
        let h = handler(Behaviour {
            counter_rate: 1000.0,
            ..Behaviour::default()
        });
        let cell = Cell::Counter64 {
            base: u64::MAX - 10,
            key: 7,
            scale: 1,
        };
        let Value::Counter64(v) = h.render(&cell, moment(false, 1.0)) else {
            panic!("a Counter64")
        };
        let grown = h.rate(7) as u64;
        assert_eq!(v, grown - 11);
        // After a reboot the counter restarts from 0.
        let Value::Counter64(v) = h.render(&cell, moment(true, 1.0)) else {
            panic!("a Counter64")
        };
        assert_eq!(v, grown);
    }

    #[test]
    fn uptime_counts_hundredths_from_the_recorded_value_then_from_boot() {
        let h = handler(Behaviour::default());
        assert_eq!(
            h.render(&Cell::Uptime(1000), moment(false, 2.5)),
            Value::TimeTicks(1250)
        );
        assert_eq!(
            h.render(&Cell::Uptime(1000), moment(true, 2.5)),
            Value::TimeTicks(250)
        );
    }

    #[test]
    fn row_rates_are_spread_around_the_configured_rate() {
        let h = handler(Behaviour {
            counter_rate: 100.0,
            ..Behaviour::default()
        });
        let rates: Vec<f64> = (0..1000).map(|k| h.rate(k)).collect();
        assert!(rates.iter().all(|r| (50.0..150.0).contains(r)));
        let mean = rates.iter().sum::<f64>() / 1000.0;
        assert!((95.0..105.0).contains(&mean), "{mean}");
    }

    #[test]
    fn clock_reboots_every_period_and_subtracts_stalls() {
        let epoch = Instant::now();
        let clock = Clock::new(
            epoch,
            &Behaviour {
                reboot: Reboot::Every(Duration::from_secs(10)),
                stall: Some(Stall {
                    after: Duration::from_secs(22),
                    duration: Some(Duration::from_secs(3)),
                }),
                ..Behaviour::default()
            },
        );
        let m = clock.moment(epoch + Duration::from_secs(5));
        assert!(!m.rebooted);
        assert_eq!(m.since_boot, Duration::from_secs(5));
        let m = clock.moment(epoch + Duration::from_secs(27));
        assert!(m.rebooted);
        assert_eq!(m.since_boot, Duration::from_secs(7));
        assert!((m.moving_secs - 4.0).abs() < 1e-9, "{}", m.moving_secs);
    }
}
