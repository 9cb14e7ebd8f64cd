//! A line's levels over time as the store keeps them, hourly minima and maxima: one row per
//! line, level and UTC day, 24 (min, max) pairs of i16 hundredths of a dB. Enough for "24 h
//! min/max" and a sparkline of the last day; a tenth of the size of a row per reading.

use coopnoc_proto::LevelDay;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    Rx,
    Tx,
    OltRx,
    Signal,
    Snr,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::Rx,
        Metric::Tx,
        Metric::OltRx,
        Metric::Signal,
        Metric::Snr,
    ];

    pub fn code(self) -> i64 {
        match self {
            Metric::Rx => 1,
            Metric::Tx => 2,
            Metric::OltRx => 3,
            Metric::Signal => 4,
            Metric::Snr => 5,
        }
    }

    pub fn from_code(code: i64) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.code() == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::Rx => "rx",
            Metric::Tx => "tx",
            Metric::OltRx => "olt-rx",
            Metric::Signal => "signal",
            Metric::Snr => "snr",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Metric::Snr => "dB",
            _ => "dBm",
        }
    }
}

/// No reading in that hour.
const EMPTY: i16 = i16::MIN;
pub const BLOB_BYTES: usize = 24 * 4;

fn centi(v: f64) -> i16 {
    (v * 100.0).round().clamp(-32767.0, 32767.0) as i16
}

/// One level of one line over one UTC day.
#[derive(Debug, Clone, PartialEq)]
pub struct DayLevels {
    pub metric: Metric,
    /// Days since the Unix epoch.
    pub day: i64,
    hours: [(i16, i16); 24],
}

impl DayLevels {
    pub fn new(metric: Metric, day: i64) -> DayLevels {
        DayLevels {
            metric,
            day,
            hours: [(EMPTY, EMPTY); 24],
        }
    }

    /// Takes a reading at Unix time `at` (of this row's day); true when the row changed.
    pub fn record(&mut self, at: i64, value: f64) -> bool {
        if !value.is_finite() || at.div_euclid(86400) != self.day {
            return false;
        }
        let v = centi(value);
        let h = &mut self.hours[at.rem_euclid(86400) as usize / 3600];
        let before = *h;
        if h.0 == EMPTY {
            *h = (v, v);
        } else {
            h.0 = h.0.min(v);
            h.1 = h.1.max(v);
        }
        *h != before
    }

    /// (min, max) of an hour of the day, in dB(m).
    pub fn hour(&self, h: usize) -> Option<(f64, f64)> {
        let (lo, hi) = *self.hours.get(h)?;
        (lo != EMPTY).then(|| (f64::from(lo) / 100.0, f64::from(hi) / 100.0))
    }

    pub fn to_blob(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(BLOB_BYTES);
        for (lo, hi) in self.hours {
            b.extend_from_slice(&lo.to_le_bytes());
            b.extend_from_slice(&hi.to_le_bytes());
        }
        b
    }

    /// `None` for a blob of the wrong size (a damaged row is ignored, not trusted).
    pub fn from_blob(metric: Metric, day: i64, blob: &[u8]) -> Option<DayLevels> {
        if blob.len() != BLOB_BYTES {
            return None;
        }
        let mut d = DayLevels::new(metric, day);
        for (h, c) in blob.chunks_exact(4).enumerate() {
            d.hours[h] = (
                i16::from_le_bytes([c[0], c[1]]),
                i16::from_le_bytes([c[2], c[3]]),
            );
        }
        Some(d)
    }
}

/// The 24 hours ending with the one holding `now`, for each metric found in `rows`.
pub fn last_day(rows: &[DayLevels], now: i64) -> Vec<LevelDay> {
    let now_hour = now.div_euclid(3600);
    let mut metrics: Vec<Metric> = rows.iter().map(|r| r.metric).collect();
    metrics.sort();
    metrics.dedup();
    metrics
        .into_iter()
        .filter_map(|metric| {
            let mut hourly = Vec::with_capacity(24);
            let (mut min, mut max): (Option<f64>, Option<f64>) = (None, None);
            for h in now_hour - 23..=now_hour {
                let (day, hod) = (h.div_euclid(24), h.rem_euclid(24) as usize);
                let got = rows
                    .iter()
                    .find(|r| r.metric == metric && r.day == day)
                    .and_then(|r| r.hour(hod));
                if let Some((lo, hi)) = got {
                    min = Some(min.map_or(lo, |m| m.min(lo)));
                    max = Some(max.map_or(hi, |m| m.max(hi)));
                }
                hourly.push(got.map(|(lo, _)| lo));
            }
            min.map(|_| LevelDay {
                metric: metric.name().to_string(),
                unit: metric.unit().to_string(),
                min,
                max,
                hourly_min: hourly,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_keep_min_and_max_and_survive_the_blob() {
        let day = 20_000;
        let t0 = day * 86400;
        let mut d = DayLevels::new(Metric::Rx, day);
        assert!(d.record(t0 + 10, -20.5));
        assert!(d.record(t0 + 20, -22.25));
        assert!(
            !d.record(t0 + 30, -21.0),
            "inside the range: nothing to write"
        );
        assert!(!d.record(t0 + 86400, -1.0), "another day is another row");
        assert_eq!(d.hour(0), Some((-22.25, -20.5)));
        assert_eq!(d.hour(1), None);
        let back = DayLevels::from_blob(Metric::Rx, day, &d.to_blob()).expect("round trip");
        assert_eq!(back, d);
        assert!(DayLevels::from_blob(Metric::Rx, day, &[1, 2, 3]).is_none());
    }

    #[test]
    fn the_last_day_spans_two_rows() {
        let day = 20_000;
        let mut yesterday = DayLevels::new(Metric::OltRx, day - 1);
        let mut today = DayLevels::new(Metric::OltRx, day);
        yesterday.record((day - 1) * 86400 + 23 * 3600, -25.0);
        yesterday.record((day - 1) * 86400 + 3600, -30.0); // more than 24 h ago
        today.record(day * 86400 + 3600, -19.0);
        let now = day * 86400 + 3600 + 5;
        let got = last_day(&[yesterday, today], now);
        assert_eq!(got.len(), 1);
        let l = &got[0];
        assert_eq!(
            (l.metric.as_str(), l.min, l.max),
            ("olt-rx", Some(-25.0), Some(-19.0))
        );
        assert_eq!(l.hourly_min.len(), 24);
        assert_eq!(l.hourly_min[23], Some(-19.0));
        assert_eq!(l.hourly_min[21], Some(-25.0));
        assert_eq!(l.hourly_min.iter().flatten().count(), 2);
    }
}
