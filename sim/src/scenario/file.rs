//! Scenario files: TOML a trainer writes, read into a checked [`Scenario`]. Every problem of
//! a file is reported at once, each with the file and line it is on.

use std::fmt;
use std::ops::{Range, RangeInclusive};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use crate::synth::DownCause;

use super::{
    Effect, Event, LevelChange, OnuFilter, OnuSelection, Ramp, Scenario, StationSelection,
};

/// One problem of a scenario file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioFileError {
    /// The file (a path, or `built-in NAME.toml`).
    pub file: String,
    /// 1-based line; 0 when the problem is the file as a whole.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ScenarioFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

/// Every problem of one scenario file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioFileErrors(pub Vec<ScenarioFileError>);

impl fmt::Display for ScenarioFileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// The effects an event may have, as files name them.
pub const EFFECTS: &[&str] = &[
    "onu-down",
    "rx-drop",
    "signal-drop",
    "silent",
    "reboot",
    "on-battery",
];

/// The ramp shapes, as files name them.
pub const RAMPS: &[&str] = &["step", "linear", "ease-in", "ease-out", "s-curve"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawScenario {
    description: Option<Spanned<String>>,
    speed: Option<Spanned<f64>>,
    #[serde(default)]
    event: Vec<Spanned<RawEvent>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawEvent {
    device: Option<Spanned<String>>,
    effect: Option<Spanned<String>>,
    at: Option<Spanned<String>>,
    #[serde(rename = "for")]
    lasting: Option<Spanned<String>>,
    onus: Option<Spanned<RawOnus>>,
    stations: Option<Spanned<RawStations>>,
    cause: Option<Spanned<String>>,
    spread: Option<Spanned<String>>,
    db: Option<Spanned<f64>>,
    ramp: Option<Spanned<String>>,
    over: Option<Spanned<String>>,
    recover: Option<Spanned<String>>,
    return_over: Option<Spanned<String>>,
    runtime_minutes: Option<Spanned<f64>>,
    drain: Option<Spanned<f64>>,
    low_at: Option<Spanned<f64>>,
}

/// `onus = "all"` or `onus = { pon = "1/1/3", count = 30 }`.
#[derive(Default)]
struct RawOnus {
    all: bool,
    table: RawOnuTable,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawOnuTable {
    pon: Option<String>,
    splitter: Option<String>,
    positions: Option<String>,
    lines: Option<Vec<String>>,
    count: Option<u32>,
}

/// `stations = "all"` or `stations = { count = 2 }` / `{ index = ["1", "3"] }`.
#[derive(Default)]
struct RawStations {
    all: bool,
    table: RawStationTable,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawStationTable {
    count: Option<u32>,
    index: Option<Vec<String>>,
}

/// Deserialises `"all"` or a table into `(all, table)`.
struct AllOrTable<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for AllOrTable<T> {
    type Value = (bool, T);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"all\" or a table")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v == "all" {
            Ok((true, T::default()))
        } else {
            Err(E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| (false, t))
    }
}

impl<'de> Deserialize<'de> for RawOnus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (all, table) = d.deserialize_any(AllOrTable::<RawOnuTable>(Default::default()))?;
        Ok(RawOnus { all, table })
    }
}

impl<'de> Deserialize<'de> for RawStations {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (all, table) = d.deserialize_any(AllOrTable::<RawStationTable>(Default::default()))?;
        Ok(RawStations { all, table })
    }
}

/// Whether `name` may name a scenario (it is typed on command lines and sent over the
/// control socket): lower-case letters, digits, `-` and `_`, 1 to 64 of them.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Read a scenario named `name` from the TOML `text` of `file` (used in messages).
pub fn parse(name: &str, file: &str, text: &str) -> Result<Scenario, ScenarioFileErrors> {
    let mut errors = Errors {
        file,
        text,
        list: Vec::new(),
    };
    if !valid_name(name) {
        errors.whole(format!(
            "{name:?} cannot name a scenario: use lower-case letters, digits, '-' and '_' (the file name without .toml)"
        ));
    }
    let raw: RawScenario = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let line = e.span().map_or(0, |s| errors.line_of(&s));
            errors.list.push(ScenarioFileError {
                file: file.to_owned(),
                line,
                message: e.message().trim().to_owned(),
            });
            return Err(ScenarioFileErrors(errors.list));
        }
    };
    let speed = match raw.speed {
        None => 1.0,
        Some(s) if s.get_ref().is_finite() && (0.01..=1000.0).contains(s.get_ref()) => *s.get_ref(),
        Some(s) => {
            errors.at(
                &s.span(),
                format!("speed {} is not between 0.01 and 1000", s.get_ref()),
            );
            1.0
        }
    };
    if raw.event.is_empty() {
        errors.whole("a scenario needs at least one [[event]]".to_owned());
    }
    let mut events = Vec::with_capacity(raw.event.len());
    for (i, raw_event) in raw.event.into_iter().enumerate() {
        let line = errors.line_of(&raw_event.span());
        if let Some(event) = errors.event(i + 1, line, raw_event.into_inner()) {
            events.push(event);
        }
    }
    if !errors.list.is_empty() {
        return Err(ScenarioFileErrors(errors.list));
    }
    Ok(Scenario {
        name: name.to_owned(),
        description: raw
            .description
            .map(|d| d.into_inner().trim().to_owned())
            .unwrap_or_default(),
        speed,
        origin: file.to_owned(),
        events,
    })
}

/// Parse `30s`, `5m`, `1h30m`, `250ms`, `0s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "{text:?} is not a duration: write a number and a unit (ms, s, m, h), e.g. 30s, 5m, 1h30m"
        )
    };
    if t.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (number, tail) = rest.split_at(digits);
        let value: f64 = number.parse().map_err(|_| bad())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let seconds = match unit.trim() {
            "ms" => value / 1000.0,
            "s" => value,
            "m" | "min" => value * 60.0,
            "h" => value * 3600.0,
            _ => return Err(bad()),
        };
        if !(0.0..=30.0 * 86_400.0).contains(&seconds) {
            return Err(format!("{text:?} is longer than 30 days"));
        }
        total += Duration::from_secs_f64(seconds);
        rest = tail.trim_start();
    }
    Ok(total)
}

/// Parse ONU positions: `"5"`, `"17-32"`, `"1-4, 9, 12-13"`.
fn parse_positions(text: &str) -> Result<Vec<RangeInclusive<u32>>, String> {
    let bad = |part: &str| {
        format!(
            "{part:?} in positions is not a position or a range (write \"12\", \"17-32\", \"1-4, 9\")"
        )
    };
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) else {
            return Err(bad(part));
        };
        if a == 0 || b < a {
            return Err(bad(part));
        }
        out.push(a..=b);
    }
    Ok(out)
}

struct Errors<'a> {
    file: &'a str,
    text: &'a str,
    list: Vec<ScenarioFileError>,
}

impl Errors<'_> {
    fn line_of(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        1 + self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }

    fn at(&mut self, span: &Range<usize>, message: String) {
        let line = self.line_of(span);
        self.list.push(ScenarioFileError {
            file: self.file.to_owned(),
            line,
            message,
        });
    }

    fn on_line(&mut self, line: usize, message: String) {
        self.list.push(ScenarioFileError {
            file: self.file.to_owned(),
            line,
            message,
        });
    }

    fn whole(&mut self, message: String) {
        self.on_line(0, message);
    }

    fn duration(&mut self, n: usize, key: &str, raw: Option<Spanned<String>>) -> Option<Duration> {
        let raw = raw?;
        match parse_duration(raw.get_ref()) {
            Ok(d) => Some(d),
            Err(message) => {
                self.at(&raw.span(), format!("event {n}: {key}: {message}"));
                None
            }
        }
    }

    /// Report every key of `event` that its effect does not use.
    fn unused(&mut self, n: usize, effect: &str, keys: &[(&str, Option<Range<usize>>)]) {
        for (key, span) in keys {
            if let Some(span) = span {
                self.at(
                    span,
                    format!("event {n}: `{key}` does not apply to effect \"{effect}\""),
                );
            }
        }
    }

    fn event(&mut self, n: usize, line: usize, raw: RawEvent) -> Option<Event> {
        let before = self.list.len();
        let device = match raw.device.clone() {
            Some(d) if !d.get_ref().trim().is_empty() => d.into_inner().trim().to_owned(),
            Some(d) => {
                self.at(&d.span(), format!("event {n}: device is empty"));
                String::new()
            }
            None => {
                self.on_line(
                    line,
                    format!("event {n}: `device` is missing (the device's name in the network)"),
                );
                String::new()
            }
        };
        let at = self
            .duration(n, "at", raw.at.clone())
            .unwrap_or(Duration::ZERO);
        let lasting_span = raw.lasting.as_ref().map(Spanned::span);
        let lasting = self.duration(n, "for", raw.lasting.clone());
        if let (Some(d), Some(span)) = (lasting, &lasting_span)
            && d.is_zero()
        {
            self.at(span, format!("event {n}: `for` must be longer than 0s"));
        }
        let Some(effect_name) = raw.effect.clone() else {
            self.on_line(
                line,
                format!(
                    "event {n}: `effect` is missing (one of: {})",
                    EFFECTS.join(", ")
                ),
            );
            return None;
        };
        let effect = match effect_name.get_ref().as_str() {
            "onu-down" => self.onu_down(n, line, &raw),
            "rx-drop" => self.rx_drop(n, line, &raw),
            "signal-drop" => self.signal_drop(n, line, &raw),
            "silent" => {
                self.only(n, "silent", &raw, &[]);
                Some(Effect::Silent)
            }
            "reboot" => {
                self.only(n, "reboot", &raw, &["return-over"]);
                let return_over = self
                    .duration(n, "return-over", raw.return_over.clone())
                    .unwrap_or(Duration::from_secs(60));
                Some(Effect::Reboot { return_over })
            }
            "on-battery" => self.on_battery(n, &raw),
            other => {
                self.at(
                    &effect_name.span(),
                    format!(
                        "event {n}: unknown effect {other:?} (one of: {})",
                        EFFECTS.join(", ")
                    ),
                );
                None
            }
        };
        let lasting = match (&effect, lasting) {
            // A reboot's `for` is how long the device is down; it comes back by itself.
            (Some(Effect::Reboot { .. }), None) => Some(Duration::from_secs(120)),
            (_, lasting) => lasting,
        };
        if let Some(recover) = raw.recover.as_ref()
            && lasting.is_none()
        {
            self.at(
                &recover.span(),
                format!("event {n}: `recover` needs `for` (recovery starts when the event ends)"),
            );
        }
        if self.list.len() > before {
            return None;
        }
        Some(Event {
            line,
            at,
            lasting,
            device,
            effect: effect?,
        })
    }

    /// Report the keys `raw` has that `effect` does not take (`allowed` besides the common
    /// device, effect, at and for).
    fn only(&mut self, n: usize, effect: &str, raw: &RawEvent, allowed: &[&str]) {
        let keys = [
            ("onus", raw.onus.as_ref().map(Spanned::span)),
            ("stations", raw.stations.as_ref().map(Spanned::span)),
            ("cause", raw.cause.as_ref().map(Spanned::span)),
            ("spread", raw.spread.as_ref().map(Spanned::span)),
            ("db", raw.db.as_ref().map(Spanned::span)),
            ("ramp", raw.ramp.as_ref().map(Spanned::span)),
            ("over", raw.over.as_ref().map(Spanned::span)),
            ("recover", raw.recover.as_ref().map(Spanned::span)),
            ("return-over", raw.return_over.as_ref().map(Spanned::span)),
            (
                "runtime-minutes",
                raw.runtime_minutes.as_ref().map(Spanned::span),
            ),
            ("drain", raw.drain.as_ref().map(Spanned::span)),
            ("low-at", raw.low_at.as_ref().map(Spanned::span)),
        ];
        let unused: Vec<_> = keys
            .into_iter()
            .filter(|(key, _)| !allowed.contains(key))
            .collect();
        self.unused(n, effect, &unused);
    }

    fn onus(
        &mut self,
        n: usize,
        line: usize,
        effect: &str,
        raw: &RawEvent,
    ) -> Option<OnuSelection> {
        let Some(onus) = &raw.onus else {
            self.on_line(
                line,
                format!(
                    "event {n}: effect \"{effect}\" needs `onus` (\"all\", or a table with one of pon, splitter, positions, lines)"
                ),
            );
            return None;
        };
        let span = onus.span();
        let RawOnus { all, table } = onus.get_ref();
        let mut filters = Vec::new();
        if *all {
            filters.push(OnuFilter::All);
        }
        if let Some(pon) = &table.pon {
            filters.push(OnuFilter::Pon(pon.trim().to_owned()));
        }
        if let Some(splitter) = &table.splitter {
            filters.push(OnuFilter::Splitter(splitter.trim().to_owned()));
        }
        if let Some(positions) = &table.positions {
            match parse_positions(positions) {
                Ok(p) => filters.push(OnuFilter::Positions(p)),
                Err(message) => {
                    self.at(&span, format!("event {n}: onus: {message}"));
                    return None;
                }
            }
        }
        if let Some(lines) = &table.lines {
            if lines.is_empty() {
                self.at(&span, format!("event {n}: onus: `lines` is empty"));
                return None;
            }
            filters.push(OnuFilter::Lines(lines.clone()));
        }
        if table.count == Some(0) {
            self.at(
                &span,
                format!("event {n}: onus: `count` must be at least 1"),
            );
            return None;
        }
        if filters.len() != 1 {
            self.at(
                &span,
                format!(
                    "event {n}: onus: give exactly one of pon, splitter, positions, lines (or \"all\"); count may narrow it"
                ),
            );
            return None;
        }
        Some(OnuSelection {
            filter: filters.remove(0),
            count: table.count,
        })
    }

    fn level_change(
        &mut self,
        n: usize,
        line: usize,
        effect: &str,
        raw: &RawEvent,
    ) -> Option<LevelChange> {
        let db = match &raw.db {
            None => {
                self.on_line(
                    line,
                    format!(
                        "event {n}: effect \"{effect}\" needs `db` (how many dB the level falls)"
                    ),
                );
                None
            }
            Some(db)
                if db.get_ref().is_finite() && *db.get_ref() > 0.0 && *db.get_ref() <= 60.0 =>
            {
                Some(*db.get_ref())
            }
            Some(db) => {
                self.at(
                    &db.span(),
                    format!("event {n}: db {} is not between 0 and 60", db.get_ref()),
                );
                None
            }
        };
        let ramp = match &raw.ramp {
            None => Some(Ramp::Linear),
            Some(r) => match Ramp::parse(r.get_ref()) {
                Some(ramp) => Some(ramp),
                None => {
                    self.at(
                        &r.span(),
                        format!(
                            "event {n}: unknown ramp {:?} (one of: {})",
                            r.get_ref(),
                            RAMPS.join(", ")
                        ),
                    );
                    None
                }
            },
        };
        let over = self.duration(n, "over", raw.over.clone());
        let recover = self.duration(n, "recover", raw.recover.clone());
        Some(LevelChange {
            db: db?,
            ramp: ramp?,
            over: over.unwrap_or(Duration::ZERO),
            recover: recover.unwrap_or(Duration::ZERO),
        })
    }

    fn onu_down(&mut self, n: usize, line: usize, raw: &RawEvent) -> Option<Effect> {
        self.only(n, "onu-down", raw, &["onus", "cause", "spread"]);
        let onus = self.onus(n, line, "onu-down", raw);
        let cause = match &raw.cause {
            None => {
                self.on_line(
                    line,
                    format!(
                        "event {n}: effect \"onu-down\" needs `cause` (los, dying-gasp or offline)"
                    ),
                );
                None
            }
            Some(c) => {
                let cause = DownCause::parse(c.get_ref());
                if cause.is_none() {
                    self.at(
                        &c.span(),
                        format!(
                            "event {n}: unknown cause {:?} (one of: los, dying-gasp, offline)",
                            c.get_ref()
                        ),
                    );
                }
                cause
            }
        };
        let spread = self
            .duration(n, "spread", raw.spread.clone())
            .unwrap_or(Duration::ZERO);
        Some(Effect::OnuDown {
            onus: onus?,
            cause: cause?,
            spread,
        })
    }

    fn rx_drop(&mut self, n: usize, line: usize, raw: &RawEvent) -> Option<Effect> {
        self.only(
            n,
            "rx-drop",
            raw,
            &["onus", "db", "ramp", "over", "recover"],
        );
        let onus = self.onus(n, line, "rx-drop", raw);
        let change = self.level_change(n, line, "rx-drop", raw);
        Some(Effect::RxDrop {
            onus: onus?,
            change: change?,
        })
    }

    fn signal_drop(&mut self, n: usize, line: usize, raw: &RawEvent) -> Option<Effect> {
        self.only(
            n,
            "signal-drop",
            raw,
            &["stations", "db", "ramp", "over", "recover"],
        );
        let stations = match &raw.stations {
            None => Some(StationSelection::All),
            Some(s) => {
                let RawStations { all, table } = s.get_ref();
                match (*all, table.count, &table.index) {
                    (true, None, None) => Some(StationSelection::All),
                    (false, Some(c), None) if c > 0 => Some(StationSelection::Count(c)),
                    (false, None, Some(index)) if !index.is_empty() => {
                        Some(StationSelection::Index(index.clone()))
                    }
                    _ => {
                        self.at(
                            &s.span(),
                            format!(
                                "event {n}: stations: write \"all\", {{ count = N }} (N at least 1) or {{ index = [\"1\", ...] }}"
                            ),
                        );
                        None
                    }
                }
            }
        };
        let change = self.level_change(n, line, "signal-drop", raw);
        Some(Effect::SignalDrop {
            stations: stations?,
            change: change?,
        })
    }

    fn on_battery(&mut self, n: usize, raw: &RawEvent) -> Option<Effect> {
        self.only(
            n,
            "on-battery",
            raw,
            &["runtime-minutes", "drain", "low-at"],
        );
        let mut number = |key: &str, value: &Option<Spanned<f64>>, max: f64| -> Option<f64> {
            let v = value.as_ref()?;
            if v.get_ref().is_finite() && (0.0..=max).contains(v.get_ref()) {
                Some(*v.get_ref())
            } else {
                self.at(
                    &v.span(),
                    format!(
                        "event {n}: {key} {} is not between 0 and {max}",
                        v.get_ref()
                    ),
                );
                None
            }
        };
        let runtime_minutes = number("runtime-minutes", &raw.runtime_minutes, 10_000.0);
        let drain = number("drain", &raw.drain, 100.0).unwrap_or(1.0);
        let low_at = number("low-at", &raw.low_at, 10_000.0).unwrap_or(5.0);
        Some(Effect::OnBattery {
            runtime_minutes,
            drain,
            low_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match parse("t", "t.toml", text) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        for bad in ["", "30", "5 minutes", "m5", "-3s", "1e9h", "40d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_full_scenario_reads() {
        let s = parse(
            "power-cut",
            "power-cut.toml",
            r#"
description = "A power cut"
speed = 2

[[event]]
device = "olt-bordes"
effect = "onu-down"
onus = { pon = "1/1/3", count = 30 }
cause = "dying-gasp"
spread = "5s"
for = "20m"

[[event]]
at = "1m"
device = "ap-clocher-epmp"
effect = "signal-drop"
db = 12.5
ramp = "s-curve"
over = "3m"
for = "10m"
recover = "2m"
"#,
        )
        .expect("valid");
        assert_eq!(s.name, "power-cut");
        assert_eq!(s.speed, 2.0);
        assert_eq!(s.events.len(), 2);
        assert_eq!(s.events[0].line, 5);
        assert_eq!(s.events[1].at, Duration::from_secs(60));
        assert!(matches!(
            &s.events[0].effect,
            Effect::OnuDown { onus: OnuSelection { filter: OnuFilter::Pon(p), count: Some(30) }, cause: DownCause::DyingGasp, .. } if p == "1/1/3"
        ));
        assert!(matches!(
            &s.events[1].effect,
            Effect::SignalDrop { stations: StationSelection::All, change } if change.ramp == Ramp::SCurve && change.db == 12.5
        ));
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = r#"description = "broken"

[[event]]
device = "olt-bordes"
effect = "onu-down"
onus = { pon = "1/1/3", splitter = "SPL-1/1/3-1" }
cause = "dying_gasp"

[[event]]
device = "ap"
effect = "signal-dro"

[[event]]
effect = "rx-drop"
onus = "all"
db = 80
over = "5 minutes"
stations = "all"
"#;
        let got = errors(text);
        assert_eq!(
            got,
            vec![
                "t.toml:6: event 1: onus: give exactly one of pon, splitter, positions, lines (or \"all\"); count may narrow it",
                "t.toml:7: event 1: unknown cause \"dying_gasp\" (one of: los, dying-gasp, offline)",
                "t.toml:11: event 2: unknown effect \"signal-dro\" (one of: onu-down, rx-drop, signal-drop, silent, reboot, on-battery)",
                "t.toml:13: event 3: `device` is missing (the device's name in the network)",
                "t.toml:18: event 3: `stations` does not apply to effect \"rx-drop\"",
                "t.toml:16: event 3: db 80 is not between 0 and 60",
                "t.toml:17: event 3: over: \"5 minutes\" is not a duration: write a number and a unit (ms, s, m, h), e.g. 30s, 5m, 1h30m",
            ],
            "{got:#?}"
        );
    }

    #[test]
    fn toml_mistakes_name_their_line() {
        let got = errors("[[event]]\ndevice = \"x\"\neffect = \"silent\"\ncolour = \"red\"\n");
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].starts_with("t.toml:4: unknown field `colour`"),
            "{got:?}"
        );
        let got = errors("[[event]]\ndevice = \"x\"\neffect = silent\n");
        assert!(got[0].starts_with("t.toml:3: "), "{got:?}");
        let got = errors(
            "[[event]]\ndevice = \"x\"\neffect = \"onu-down\"\ncause = \"los\"\nonus = \"some\"\n",
        );
        assert!(got[0].starts_with("t.toml:5: "), "{got:?}");
        assert_eq!(
            errors("description = \"nothing\"\n"),
            vec!["t.toml: a scenario needs at least one [[event]]"]
        );
    }

    #[test]
    fn names_are_command_line_words() {
        assert!(valid_name("power-cut_2"));
        for bad in ["", "Power", "a b", "a/b", "é"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert!(
            parse(
                "My Scenario",
                "f.toml",
                "[[event]]\ndevice = \"x\"\neffect = \"silent\"\n"
            )
            .is_err()
        );
    }

    #[test]
    fn positions_take_lists_and_ranges() {
        assert_eq!(parse_positions("1-4, 9"), Ok(vec![1..=4, 9..=9]));
        assert!(parse_positions("0").is_err());
        assert!(parse_positions("5-2").is_err());
        assert!(parse_positions("a").is_err());
    }
}
