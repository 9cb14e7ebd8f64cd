//! Judging one counter sample against the previous one of the same line and direction.
//!
//! The rule throughout: never invent bytes, never lose them silently. A delta is counted only
//! when the counter's story is consistent (same width, no reboot, no discontinuity, at most one
//! 32-bit wrap, and a rate the link can carry); anything else makes the interval a gap and the
//! new value a baseline.
//!
//! A 32-bit counter read over an interval in which the link could carry 2^32 bytes or more is
//! ambiguous: a delta of d bytes could be d, or d + 2^32, or d + 2 × 2^32... Such an interval
//! is a gap (`AmbiguousWrap`), whatever the delta. The link's rate comes from its speed
//! (ifHighSpeed/ifSpeed); an interface that gives none (0 or absent, as Linux VMs, tunnels and
//! PPP sessions and radio registration tables often do) is assumed to carry at most
//! [`SPEED_ASSUMED_WHEN_UNKNOWN_BPS`] (500 Mb/s): its 32-bit counters are trusted only over
//! intervals shorter than 2^32 bytes at that rate (67 s, so the default 60 s polls still
//! count), and a delta above that rate is a gap too (the port is faster than assumed, so
//! wraps may have been missed). What this cannot catch, nobody can: a port with no speed that
//! carries more than 2^32 bytes between two polls (573 Mb/s on average over 60 s) and whose
//! counter happens to land below the assumed rate. A 64-bit counter never wraps in practice:
//! no assumption is needed.

use serde::{Deserialize, Serialize};

use crate::octets::Counter;

pub use crate::store::usage::{Direction, LastSample, LineId};

/// One counter reading for one line and direction: what the line matcher hands over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterSample {
    pub line: LineId,
    pub direction: Direction,
    pub counter: Counter,
    /// When the device answered (the poller's clock). On the wire: Unix milliseconds.
    #[serde(with = "timestamp_ms")]
    pub at: jiff::Timestamp,
    /// sysUpTime of the device in the same poll, hundredths of a second.
    pub device_uptime_ticks: Option<u32>,
    /// ifCounterDiscontinuityTime of the interface, when the device gives it.
    pub discontinuity: Option<u32>,
    /// The interface's speed (ifHighSpeed × 10^6 or ifSpeed), for the plausibility cap.
    pub link_speed_bps: Option<u64>,
    /// False when the device only gives per-PON (shared) counters: nothing is attributed to
    /// the line, which is then shown as "not measured per line on this device".
    pub per_line: bool,
}

mod timestamp_ms {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &jiff::Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(t.as_millisecond())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<jiff::Timestamp, D::Error> {
        let ms = i64::deserialize(d)?;
        jiff::Timestamp::from_millisecond(ms).map_err(serde::de::Error::custom)
    }
}

impl LastSample {
    pub fn of(s: &CounterSample) -> LastSample {
        LastSample {
            at_ms: s.at.as_millisecond(),
            counter: s.counter,
            uptime: s.device_uptime_ticks,
            discontinuity: s.discontinuity,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GapReason {
    /// No earlier sample (new line, or the first after a per-PON period).
    FirstSample,
    /// sysUpTime went back (or grew less than the time that passed).
    Reboot,
    /// ifCounterDiscontinuityTime changed.
    Discontinuity,
    /// The counter went down and no single wrap explains it.
    CounterReset,
    /// 32-bit and 64-bit readings mixed: no delta between them means anything.
    WidthChanged,
    /// More bytes than the link can carry in the time that passed.
    AboveLinkSpeed,
    /// A 32-bit counter over an interval in which it could have wrapped more than once (at
    /// the link's speed, or at [`SPEED_ASSUMED_WHEN_UNKNOWN_BPS`] when it gives none), or
    /// one without a speed that moved faster than that assumption.
    AmbiguousWrap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The interval (previous sample, this sample] carried exactly this many bytes.
    Counted { bytes: u64 },
    /// The interval is a gap; this sample is the new baseline.
    Gap(GapReason),
    /// The sample is not newer than the previous one (a duplicate or out of order): ignored.
    Stale,
}

const WRAP32: u64 = 1 << 32;
/// The most a link that gives no speed (ifSpeed and ifHighSpeed 0 or absent) is assumed to
/// carry, to judge whether its 32-bit counters could have carried 2^32 bytes or more between
/// two polls. The largest round rate for which the default 60 s status interval stays
/// unambiguous (2^32 bytes in 60 s is 573 Mb/s), above what a radio station or a member's
/// virtual interface usually carries on average over a minute; faster ones need 64-bit
/// counters (which every agent that has them gives) to be counted.
pub const SPEED_ASSUMED_WHEN_UNKNOWN_BPS: u64 = 500_000_000;
/// Tolerance on the link-speed cap: poll timestamps are taken on our side, not the device's.
const CAP_TOLERANCE_PERCENT: u128 = 2;
/// Plus a fixed allowance for the same reason (a few frames).
const CAP_SLACK_BYTES: u128 = 64 * 1024;
/// sysUpTime must advance by the elapsed time minus this (hundredths of a second)...
const UPTIME_SLACK_TICKS: i64 = 1000;
/// ...and minus this share of it, to allow for clock drift and response delays.
const UPTIME_SLACK_PERCENT: i64 = 1;

/// The most bytes a link of `speed_bps` can carry in `elapsed_ms`, tolerance included.
pub fn link_cap(speed_bps: u64, elapsed_ms: i64) -> u128 {
    let elapsed = elapsed_ms.max(0) as u128;
    (speed_bps as u128) * elapsed * (100 + CAP_TOLERANCE_PERCENT) / (8 * 1000 * 100)
        + CAP_SLACK_BYTES
}

/// Judges `cur` against `prev`. Pure: the property tests drive it directly.
pub fn judge(prev: &LastSample, cur: &LastSample, link_speed_bps: Option<u64>) -> Verdict {
    let elapsed_ms = cur.at_ms - prev.at_ms;
    if elapsed_ms <= 0 {
        return Verdict::Stale;
    }
    // sysUpTime: a reboot within the interval shows as an uptime that grew less than the
    // time that passed (it went back, or restarted and already passed the old value).
    let uptime_consistent = match (prev.uptime, cur.uptime) {
        (Some(a), Some(b)) => {
            let elapsed_ticks = elapsed_ms / 10;
            let expected = a as i64 + elapsed_ticks
                - UPTIME_SLACK_TICKS
                - elapsed_ticks * UPTIME_SLACK_PERCENT / 100;
            if (b as i64) < expected {
                return Verdict::Gap(GapReason::Reboot);
            }
            true
        }
        _ => false,
    };
    if let (Some(a), Some(b)) = (prev.discontinuity, cur.discontinuity)
        && a != b
    {
        return Verdict::Gap(GapReason::Discontinuity);
    }
    let speed = link_speed_bps.filter(|s| *s > 0);
    let cap = speed.map(|s| link_cap(s, elapsed_ms));
    let (delta, wrapped) = match (prev.counter, cur.counter) {
        (Counter::C64(a), Counter::C64(b)) => {
            if b < a {
                return Verdict::Gap(GapReason::CounterReset);
            }
            (b - a, false)
        }
        (Counter::C32(a), Counter::C32(b)) => {
            // Over an interval long enough for two wraps, no reading can be trusted. Without
            // a speed, at the rate assumed, which the delta must then respect too.
            let bound = cap.unwrap_or_else(|| link_cap(SPEED_ASSUMED_WHEN_UNKNOWN_BPS, elapsed_ms));
            if bound >= WRAP32 as u128 {
                return Verdict::Gap(GapReason::AmbiguousWrap);
            }
            let delta = b.wrapping_sub(a) as u64;
            if cap.is_none() && delta as u128 > bound {
                return Verdict::Gap(GapReason::AmbiguousWrap);
            }
            if b >= a {
                ((b - a) as u64, false)
            } else {
                // A wrap is believable only with a rate to check it against, or a device that
                // says (through sysUpTime) it did not restart.
                if cap.is_none() && !uptime_consistent {
                    return Verdict::Gap(GapReason::CounterReset);
                }
                (b as u64 + WRAP32 - a as u64, true)
            }
        }
        _ => return Verdict::Gap(GapReason::WidthChanged),
    };
    if let Some(cap) = cap
        && delta as u128 > cap
    {
        return Verdict::Gap(if wrapped {
            GapReason::CounterReset
        } else {
            GapReason::AboveLinkSpeed
        });
    }
    Verdict::Counted { bytes: delta }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(at_s: i64, c: Counter, up: Option<u32>) -> LastSample {
        LastSample {
            at_ms: at_s * 1000,
            counter: c,
            uptime: up,
            discontinuity: None,
        }
    }

    const MBPS100: Option<u64> = Some(100_000_000);

    #[test]
    fn steady_64_bit_counts_the_difference() {
        let v = judge(
            &s(0, Counter::C64(1_000), Some(0)),
            &s(60, Counter::C64(751_000), Some(6000)),
            MBPS100,
        );
        assert_eq!(v, Verdict::Counted { bytes: 750_000 });
    }

    #[test]
    fn stalled_counter_is_zero_traffic_not_a_gap() {
        let v = judge(
            &s(0, Counter::C64(5), Some(0)),
            &s(3600, Counter::C64(5), Some(360_000)),
            MBPS100,
        );
        assert_eq!(v, Verdict::Counted { bytes: 0 });
    }

    #[test]
    fn single_32_bit_wrap_is_counted() {
        let prev = s(0, Counter::C32(u32::MAX - 99), None);
        let cur = s(60, Counter::C32(900), None);
        assert_eq!(
            judge(&prev, &cur, MBPS100),
            Verdict::Counted { bytes: 1000 }
        );
        // Without a link speed, sysUpTime vouches that the device did not restart.
        let prev = s(0, Counter::C32(u32::MAX - 99), Some(100));
        let cur = s(60, Counter::C32(900), Some(6100));
        assert_eq!(judge(&prev, &cur, None), Verdict::Counted { bytes: 1000 });
        // With neither, a drop may be a reset: a gap.
        let prev = s(0, Counter::C32(u32::MAX - 99), None);
        let cur = s(60, Counter::C32(900), None);
        assert_eq!(
            judge(&prev, &cur, None),
            Verdict::Gap(GapReason::CounterReset)
        );
    }

    #[test]
    fn a_drop_no_single_wrap_explains_is_a_reset() {
        // 100 Mb/s for 60 s is at most ~765 MB; this "wrap" would be ~4 GB.
        let prev = s(0, Counter::C32(1_000_000), None);
        let cur = s(60, Counter::C32(10), None);
        assert_eq!(
            judge(&prev, &cur, MBPS100),
            Verdict::Gap(GapReason::CounterReset)
        );
        let prev = s(0, Counter::C64(1_000_000), None);
        let cur = s(60, Counter::C64(999_999), None);
        assert_eq!(
            judge(&prev, &cur, None),
            Verdict::Gap(GapReason::CounterReset)
        );
    }

    #[test]
    fn reboot_seen_in_sys_up_time() {
        // Uptime went back.
        let v = judge(
            &s(0, Counter::C64(10), Some(500_000)),
            &s(60, Counter::C64(20), Some(3000)),
            None,
        );
        assert_eq!(v, Verdict::Gap(GapReason::Reboot));
        // Uptime grew, but by less than the hour that passed: a restart within the interval.
        let v = judge(
            &s(0, Counter::C64(10), Some(100)),
            &s(3600, Counter::C64(20_000), Some(60_000)),
            None,
        );
        assert_eq!(v, Verdict::Gap(GapReason::Reboot));
    }

    #[test]
    fn discontinuity_change_is_a_gap() {
        let mut a = s(0, Counter::C64(10), None);
        let mut b = s(60, Counter::C64(20), None);
        a.discontinuity = Some(5);
        b.discontinuity = Some(9);
        assert_eq!(judge(&a, &b, None), Verdict::Gap(GapReason::Discontinuity));
    }

    #[test]
    fn above_link_speed_is_rejected() {
        let v = judge(
            &s(0, Counter::C64(0), None),
            &s(60, Counter::C64(2_000_000_000), None),
            MBPS100,
        );
        assert_eq!(v, Verdict::Gap(GapReason::AboveLinkSpeed));
        // Exactly link speed passes.
        let v = judge(
            &s(0, Counter::C64(0), None),
            &s(60, Counter::C64(750_000_000), None),
            MBPS100,
        );
        assert_eq!(v, Verdict::Counted { bytes: 750_000_000 });
    }

    #[test]
    fn ambiguous_32_bit_interval_is_a_gap() {
        // 1 Gb/s for 60 s could wrap a 32-bit counter more than once.
        let v = judge(
            &s(0, Counter::C32(0), None),
            &s(60, Counter::C32(1000), None),
            Some(1_000_000_000),
        );
        assert_eq!(v, Verdict::Gap(GapReason::AmbiguousWrap));
    }

    #[test]
    fn width_change_and_stale_samples() {
        assert_eq!(
            judge(
                &s(0, Counter::C32(0), None),
                &s(60, Counter::C64(10), None),
                None
            ),
            Verdict::Gap(GapReason::WidthChanged)
        );
        assert_eq!(
            judge(
                &s(60, Counter::C64(0), None),
                &s(60, Counter::C64(10), None),
                None
            ),
            Verdict::Stale
        );
    }

    /// The case: 32-bit counters only, no speed, polled every 180 s at 30 MB/s. Each
    /// interval carries 5.4 GB, more than 2^32: the delta (1.1 GB) is not the traffic.
    #[test]
    fn no_speed_32_bit_over_a_long_interval_is_ambiguous() {
        let rate = 30_000_000u64; // bytes per second
        for speed in [None, Some(0)] {
            let mut counter = 123_456_789u64;
            let mut prev = s(0, Counter::C32(counter as u32), Some(0));
            for i in 1..=10 {
                counter += rate * 180;
                let cur = s(
                    180 * i,
                    Counter::C32(counter as u32),
                    Some(18_000 * i as u32),
                );
                assert_eq!(
                    judge(&prev, &cur, speed),
                    Verdict::Gap(GapReason::AmbiguousWrap),
                    "interval {i}, speed {speed:?}"
                );
                prev = cur;
            }
        }
        // Polled every 30 s, the same traffic is exact, wraps included.
        let mut counter = u32::MAX as u64 - 1_000;
        let mut prev = s(0, Counter::C32(counter as u32), Some(0));
        for i in 1..=10 {
            counter += rate * 30;
            let cur = s(30 * i, Counter::C32(counter as u32), Some(3_000 * i as u32));
            assert_eq!(
                judge(&prev, &cur, None),
                Verdict::Counted { bytes: rate * 30 }
            );
            prev = cur;
        }
    }

    #[test]
    fn no_speed_32_bit_faster_than_assumed_is_a_gap() {
        // 4 GB in 60 s (533 Mb/s): possible, but above the rate assumed without a speed, so
        // a wrap more may have been missed.
        let prev = s(0, Counter::C32(0), Some(0));
        let cur = s(60, Counter::C32(4_000_000_000), Some(6_000));
        assert_eq!(
            judge(&prev, &cur, None),
            Verdict::Gap(GapReason::AmbiguousWrap)
        );
        // With a speed that allows it, the speed decides (a 10 Gb/s port: ambiguous anyway).
        assert_eq!(
            judge(&prev, &cur, Some(10_000_000_000)),
            Verdict::Gap(GapReason::AmbiguousWrap)
        );
        // 64-bit counters need no assumption.
        let prev = s(0, Counter::C64(0), None);
        let cur = s(60, Counter::C64(40_000_000_000), None);
        assert_eq!(
            judge(&prev, &cur, None),
            Verdict::Counted {
                bytes: 40_000_000_000
            }
        );
    }

    /// The largest interval over which a 32-bit counter is judged at all at `speed`.
    fn unambiguous_ms(speed: Option<u64>) -> i64 {
        let bps = speed
            .filter(|s| *s > 0)
            .unwrap_or(SPEED_ASSUMED_WHEN_UNKNOWN_BPS);
        (1..=600_000i64)
            .rev()
            .step_by(100)
            .find(|ms| link_cap(bps, *ms) < WRAP32 as u128)
            .unwrap_or(0)
    }

    #[test]
    fn unambiguous_intervals_are_as_documented() {
        // 2^32 bytes: 67 s at the assumed 500 Mb/s, 34 s at 1 Gb/s (less the tolerance).
        let unknown = unambiguous_ms(None);
        assert!((66_000..68_000).contains(&unknown), "{unknown}");
        assert_eq!(unambiguous_ms(Some(0)), unknown);
        let gigabit = unambiguous_ms(Some(1_000_000_000));
        assert!((33_000..34_400).contains(&gigabit), "{gigabit}");
    }

    proptest! {
        /// A 32-bit counter polled at any interval, with or without a speed, moving at any
        /// rate up to its speed (or the rate assumed without one): every interval is either
        /// counted to the byte or a gap. Faster than that, whatever stays below 2^32 bytes
        /// is a gap, never a count.
        #[test]
        fn a_32_bit_delta_is_exact_or_a_gap(
            start in any::<u32>(),
            elapsed_ms in 1_000i64..=900_000,
            speed in prop_oneof![
                Just(None),
                Just(Some(0u64)),
                (1u64..=10_000).prop_map(|m| Some(m * 1_000_000)),
            ],
            load_per_mille in 0u64..=2_000,
            uptime in any::<bool>(),
        ) {
            let bps = speed.filter(|s| *s > 0).unwrap_or(SPEED_ASSUMED_WHEN_UNKNOWN_BPS);
            let bytes = (bps as u128 * elapsed_ms as u128 * load_per_mille as u128
                / (8 * 1000 * 1000)) as u64;
            let ticks = (elapsed_ms / 10) as u32;
            let prev = LastSample {
                at_ms: 0,
                counter: Counter::C32(start),
                uptime: uptime.then_some(1_000),
                discontinuity: None,
            };
            let cur = LastSample {
                at_ms: elapsed_ms,
                counter: Counter::C32((start as u64).wrapping_add(bytes) as u32),
                uptime: uptime.then_some(1_000 + ticks),
                discontinuity: None,
            };
            let verdict = judge(&prev, &cur, speed);
            let within = (bytes as u128) <= link_cap(bps, elapsed_ms);
            if within || bytes < WRAP32 {
                prop_assert!(
                    matches!(verdict, Verdict::Gap(_)) || verdict == Verdict::Counted { bytes },
                    "{bytes} bytes judged {verdict:?}"
                );
            }
            if within && link_cap(bps, elapsed_ms) < WRAP32 as u128
                && (uptime || speed.is_some_and(|s| s > 0) || (start as u64 + bytes) < WRAP32)
            {
                prop_assert_eq!(verdict, Verdict::Counted { bytes });
            }
        }
    }
}
