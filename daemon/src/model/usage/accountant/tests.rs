//! Scripted and random counter histories against their ground truth, to the byte.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::collect::observe::Counter;
use crate::model::usage::counter::link_cap;

/// A simulated interface: the true bytes it carried, and the counter it shows for them.
#[derive(Clone)]
struct Device {
    wide: bool,
    speed_bps: u64,
    /// What the counter reads (before truncation to its width).
    counter: u64,
    uptime_ticks: u64,
    discontinuity: u32,
    now_ms: i64,
}

impl Device {
    fn sample(&self, line: LineId) -> CounterSample {
        CounterSample {
            line,
            direction: Direction::Download,
            counter: if self.wide {
                Counter::C64(self.counter)
            } else {
                Counter::C32(self.counter as u32)
            },
            at: jiff::Timestamp::from_millisecond(self.now_ms).unwrap(),
            device_uptime_ticks: Some(self.uptime_ticks as u32),
            discontinuity: Some(self.discontinuity),
            link_speed_bps: Some(self.speed_bps),
            per_line: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Event {
    None,
    /// The device restarts at this share (per mille) of the interval.
    Reboot(u32),
    Discontinuity,
    /// The counter jumps by a bogus amount the link cannot carry.
    Spike,
}

#[derive(Clone, Debug)]
struct Step {
    elapsed_s: i64,
    /// Share of link capacity used, per mille.
    load: u32,
    event: Event,
    seed: u64,
}

/// What the script says about one interval.
#[derive(Debug, PartialEq)]
enum Truth {
    Bytes(u64),
    Gap,
}

/// Plays a script; returns the ground truth per interval and the samples in order.
fn play(
    wide: bool,
    speed_bps: u64,
    start_counter: u64,
    steps: &[Step],
) -> (Vec<CounterSample>, Vec<Truth>) {
    let mut d = Device {
        wide,
        speed_bps,
        counter: start_counter,
        uptime_ticks: 5_000_000,
        discontinuity: 7,
        now_ms: 1_700_000_000_000,
    };
    let mut samples = vec![d.sample(1)];
    let mut truth = Vec::new();
    for s in steps {
        let elapsed_ms = s.elapsed_s * 1000;
        let bytes =
            (speed_bps as u128 * elapsed_ms as u128 * s.load as u128 / (8 * 1000 * 1000)) as u64;
        let cap = link_cap(speed_bps, elapsed_ms);
        d.now_ms += elapsed_ms;
        let ambiguous = !wide && cap >= 1u128 << 32;
        match s.event {
            Event::None => {
                d.counter = d.counter.wrapping_add(bytes);
                d.uptime_ticks += (elapsed_ms / 10) as u64;
                truth.push(if ambiguous {
                    Truth::Gap
                } else {
                    Truth::Bytes(bytes)
                });
            }
            Event::Reboot(per_mille) => {
                let after_ms = elapsed_ms * (1000 - per_mille as i64) / 1000;
                d.uptime_ticks = (after_ms / 10) as u64;
                d.counter = bytes * (1000 - per_mille as u64) / 1000;
                truth.push(Truth::Gap);
            }
            Event::Discontinuity => {
                d.discontinuity += 1;
                d.counter = s.seed % 1_000_000;
                d.uptime_ticks += (elapsed_ms / 10) as u64;
                truth.push(Truth::Gap);
            }
            Event::Spike => {
                // Big enough to exceed the link, small enough not to look like a 32-bit wrap.
                // (On a 32-bit counter with no such room, no spike can be told from traffic:
                // the script then carries plain traffic.)
                let room = if wide {
                    u64::MAX / 4
                } else {
                    ((1u64 << 32) - 2).saturating_sub(cap as u64 + bytes)
                };
                let bogus = if room > 0 || ambiguous {
                    cap as u64 + 1 + if room > 0 { s.seed % room } else { 0 }
                } else {
                    0
                };
                d.counter = d.counter.wrapping_add(bytes).wrapping_add(bogus);
                d.uptime_ticks += (elapsed_ms / 10) as u64;
                truth.push(if bogus == 0 {
                    Truth::Bytes(bytes)
                } else {
                    Truth::Gap
                });
            }
        }
        samples.push(d.sample(1));
    }
    (samples, truth)
}

/// Persisted form of the accountant's writes: the last version of each row.
#[derive(Default)]
struct Persisted {
    hours: BTreeMap<(LineId, i64), HourSlots>,
    counters: BTreeMap<(LineId, Direction), Option<LastSample>>,
}

impl Persisted {
    fn apply(&mut self, w: UsageWrite) {
        let UsageWrite::Record { hours, counters } = w else {
            panic!("not a record")
        };
        for h in hours {
            self.hours.insert((h.line, h.hour), h.slots);
        }
        for c in counters {
            self.counters.insert((c.line, c.direction), c.last);
        }
    }

    /// What `read::load_accountant` restores after a restart.
    fn restore(&self) -> UsageAccountant {
        let counters: Vec<_> = self
            .counters
            .iter()
            .filter_map(|(&(l, d), s)| s.map(|s| (l, d, s)))
            .collect();
        let hours = self
            .hours
            .iter()
            .filter(|((l, h), _)| {
                counters
                    .iter()
                    .filter(|c| c.0 == *l)
                    .map(|c| c.2.at_ms / HOUR_MS)
                    .min()
                    .is_some_and(|m| *h >= m)
            })
            .map(|(&(l, h), s)| (l, h, s.clone()))
            .collect();
        UsageAccountant::restore(counters, hours)
    }

    fn bytes(&self) -> u64 {
        self.hours
            .values()
            .map(|h| h.total_bytes(0) + h.total_bytes(1))
            .sum()
    }

    fn covered_ms(&self) -> u64 {
        self.hours
            .values()
            .map(|h| h.total_covered_ms(0) + h.total_covered_ms(1))
            .sum()
    }
}

/// Runs the samples one poll at a time (restarting from the persisted state before the polls
/// listed in `restarts`); checks each verdict against the truth, and the stored totals.
fn check(
    samples: &[CounterSample],
    truth: &[Truth],
    restarts: &[usize],
) -> Result<(), TestCaseError> {
    let mut acc = UsageAccountant::new();
    let mut stored = Persisted::default();
    let (mut want_bytes, mut want_covered) = (0u64, 0u64);
    for (i, s) in samples.iter().enumerate() {
        if restarts.contains(&i) {
            acc = stored.restore();
        }
        let (w, _, judged) = acc.ingest_judged(std::slice::from_ref(s), true);
        stored.apply(w);
        let v = judged[0].verdict;
        if i == 0 {
            prop_assert_eq!(v, Verdict::Gap(GapReason::FirstSample));
            continue;
        }
        match &truth[i - 1] {
            Truth::Bytes(b) => {
                prop_assert_eq!(v, Verdict::Counted { bytes: *b }, "interval {}", i);
                want_bytes += b;
                want_covered += (s.at.as_millisecond() - samples[i - 1].at.as_millisecond()) as u64;
            }
            Truth::Gap => prop_assert!(
                matches!(v, Verdict::Gap(_)),
                "interval {} should be a gap, got {:?}",
                i,
                v
            ),
        }
    }
    prop_assert_eq!(stored.bytes(), want_bytes);
    prop_assert_eq!(stored.covered_ms(), want_covered);
    Ok(())
}

fn step(elapsed_s: i64, load: u32, event: Event) -> Step {
    Step {
        elapsed_s,
        load,
        event,
        seed: 12345,
    }
}

#[test]
fn scripted_history_matches_ground_truth_to_the_byte() {
    // A 100 Mb/s ONU interface with 32-bit counters, polled every minute.
    let mut steps = vec![];
    steps.extend((0..10).map(|_| step(60, 300, Event::None))); // steady 30 Mb/s
    steps.push(step(60, 900, Event::None)); // crosses 2^32: a wrap (start value below)
    steps.extend((0..3).map(|_| step(60, 500, Event::None)));
    steps.push(step(60, 400, Event::Reboot(500))); // reboot seen in sysUpTime
    steps.extend((0..3).map(|_| step(60, 400, Event::None)));
    steps.push(step(60, 100, Event::Discontinuity));
    steps.push(step(60, 100, Event::None));
    steps.push(step(240, 200, Event::None)); // three missed polls: one 4-minute interval
    steps.push(step(60, 200, Event::Spike)); // above link speed
    steps.push(step(60, 200, Event::None));
    steps.extend((0..20).map(|_| step(60, 0, Event::None))); // a stalled counter: zero, not a gap
    let start = (1u64 << 32) - 10 * 60 * 100_000_000 * 3 / 80 - 1_000_000;
    let (samples, truth) = play(false, 100_000_000, start, &steps);
    let gaps = truth.iter().filter(|t| **t == Truth::Gap).count();
    assert_eq!(gaps, 3, "reboot, discontinuity and spike");
    check(&samples, &truth, &[]).unwrap();
    // And across a restart right after the missed polls: nothing lost, nothing doubled.
    check(&samples, &truth, &[5, 20, 21]).unwrap();

    // The same history on 64-bit counters.
    let (samples, truth) = play(true, 100_000_000, u64::MAX / 2, &steps);
    check(&samples, &truth, &[12]).unwrap();
}

#[test]
fn missed_polls_spread_over_the_slots_they_span_exactly() {
    let mut acc = UsageAccountant::new();
    let t0 = 1_700_000_200_000i64; // 100 s into a slot
    let mk = |ms: i64, v: u64| CounterSample {
        line: 9,
        direction: Direction::Upload,
        counter: Counter::C64(v),
        at: jiff::Timestamp::from_millisecond(ms).unwrap(),
        device_uptime_ticks: None,
        discontinuity: None,
        link_speed_bps: None,
        per_line: true,
    };
    acc.ingest(&[mk(t0, 0)]);
    // 20 minutes later: 1,000,003 bytes over five slots.
    let (w, stats) = acc.ingest(&[mk(t0 + 1_200_000, 1_000_003)]);
    assert_eq!(stats.bytes, 1_000_003);
    let UsageWrite::Record { hours, .. } = w else {
        panic!()
    };
    let total: u64 = hours.iter().map(|h| h.slots.total_bytes(1)).sum();
    let covered: u64 = hours.iter().map(|h| h.slots.total_covered_ms(1)).sum();
    assert_eq!(total, 1_000_003);
    assert_eq!(covered, 1_200_000);
    let used: usize = hours
        .iter()
        .map(|h| h.slots.bytes[1].iter().filter(|b| **b > 0).count())
        .sum();
    assert_eq!(used, 5);
}

#[test]
fn per_pon_samples_are_not_attributed() {
    let mut acc = UsageAccountant::new();
    let mk = |ms: i64, v: u64| CounterSample {
        line: 3,
        direction: Direction::Download,
        counter: Counter::C64(v),
        at: jiff::Timestamp::from_millisecond(ms).unwrap(),
        device_uptime_ticks: None,
        discontinuity: None,
        link_speed_bps: None,
        per_line: false,
    };
    acc.ingest(&[mk(0, 0)]);
    let (w, stats) = acc.ingest(&[mk(60_000, 1_000_000)]);
    assert_eq!(stats.not_per_line, 1);
    assert_eq!(acc.totals.not_per_line, 2);
    assert_eq!(stats.bytes, 0);
    let UsageWrite::Record { hours, counters } = w else {
        panic!()
    };
    assert!(hours.is_empty());
    assert_eq!(counters.len(), 1);
    assert!(!counters[0].per_line);
}

fn arb_step() -> impl Strategy<Value = Step> {
    (
        prop_oneof![6 => Just(1i64), 1 => 2i64..=6], // polls missed now and then
        0u32..=1000,
        prop_oneof![
            20 => Just(Event::None),
            1 => (100u32..=900).prop_map(Event::Reboot),
            1 => Just(Event::Discontinuity),
            1 => Just(Event::Spike),
        ],
        any::<u64>(),
    )
        .prop_map(|(k, load, event, seed)| Step {
            elapsed_s: 60 * k,
            load,
            event,
            seed,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random rates, gaps, wraps, reboots and spikes: every interval the accountant counts
    /// carries exactly the script's bytes, every other one is a gap, and the stored slots sum
    /// to the counted bytes: never more than the ground truth. Restarts change nothing.
    #[test]
    fn attributed_bytes_equal_ground_truth(
        wide in any::<bool>(),
        speed_mbps in 1u64..=100,
        start in any::<u64>(),
        steps in prop::collection::vec(arb_step(), 1..60),
        restarts in prop::collection::vec(1usize..60, 0..3),
    ) {
        let start = if wide { start } else { start % (1 << 32) };
        let (samples, truth) = play(wide, speed_mbps * 1_000_000, start, &steps);
        check(&samples, &truth, &restarts)?;
    }
}
