//! From a scenario to what devices serve: events resolved against the running network
//! (which ONUs, which rows), each device's state at a moment, and the overlay that serves it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_snmp::{Oid, Value};

use crate::overlay::Overlay;
use crate::rng::{mix2, unit};
use crate::running::RunningDevice;
use crate::synth::{DownCause, SyntheticOlt};
use crate::table::{Cell, Entry};

use super::{Effect, Event, LevelChange, OnuFilter, OnuSelection, Scenario, StationSelection};

/// An event bound to the network: a device index and the ONUs or rows it changes.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedEvent {
    pub(crate) device: usize,
    pub(crate) at: Duration,
    pub(crate) lasting: Option<Duration>,
    pub(crate) effect: ResolvedEffect,
}

#[derive(Debug, Clone)]
pub(crate) enum ResolvedEffect {
    /// ONUs with the share of `spread` after which each goes down.
    OnuDown {
        onus: Vec<(u32, f64)>,
        cause: DownCause,
        spread: Duration,
    },
    RxDrop {
        onus: Vec<u32>,
        change: LevelChange,
    },
    SignalDrop {
        rows: Vec<LevelRow>,
        change: LevelChange,
    },
    Silent,
    /// The ONUs that register again (with their share of `return_over`).
    Reboot {
        return_over: Duration,
        onus: Vec<(u32, f64)>,
    },
    OnBattery {
        runtime: f64,
        drain: f64,
        low_at: f64,
        input_voltages: Vec<Oid>,
    },
}

/// Kinds of radio levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LevelKind {
    /// A received signal in dBm: falls by the drop.
    Signal,
    /// A signal-to-noise ratio in dB: falls by the drop (the noise floor stays), not below 0.
    Snr,
}

/// One recorded radio level a signal drop moves.
#[derive(Debug, Clone)]
pub(crate) struct LevelRow {
    pub(crate) oid: Oid,
    pub(crate) value: Value,
    pub(crate) kind: LevelKind,
    /// Raw units per dB (10 for a level in 0.1 dB).
    pub(crate) per_db: f64,
}

/// The radio level columns the sim knows (those of the radio recordings and coopnoc's
/// profiles), with their units. A station is a row index found under them.
const LEVEL_COLUMNS: &[(&[u32], LevelKind, f64)] = &[
    // Cambium ePMP connectedSTA: UL RSSI, DL RSSI, UL SNR, DL SNR.
    (
        &[1, 3, 6, 1, 4, 1, 17713, 21, 1, 2, 30, 1, 4],
        LevelKind::Signal,
        1.0,
    ),
    (
        &[1, 3, 6, 1, 4, 1, 17713, 21, 1, 2, 30, 1, 5],
        LevelKind::Signal,
        1.0,
    ),
    (
        &[1, 3, 6, 1, 4, 1, 17713, 21, 1, 2, 30, 1, 6],
        LevelKind::Snr,
        1.0,
    ),
    (
        &[1, 3, 6, 1, 4, 1, 17713, 21, 1, 2, 30, 1, 7],
        LevelKind::Snr,
        1.0,
    ),
    // MikroTik mtxrWlRtabStrength, mtxrWl60GStaRssi.
    (
        &[1, 3, 6, 1, 4, 1, 14988, 1, 1, 1, 2, 1, 3],
        LevelKind::Signal,
        1.0,
    ),
    (
        &[1, 3, 6, 1, 4, 1, 14988, 1, 1, 1, 9, 1, 9],
        LevelKind::Signal,
        1.0,
    ),
    // Ubiquiti LTU afLTUStaRxPower0/1.
    (
        &[1, 3, 6, 1, 4, 1, 41112, 1, 10, 1, 4, 1, 5],
        LevelKind::Signal,
        1.0,
    ),
    (
        &[1, 3, 6, 1, 4, 1, 41112, 1, 10, 1, 4, 1, 6],
        LevelKind::Signal,
        1.0,
    ),
    // Ubiquiti AF60 af60StaRSSI, af60StaSNR, af60StaRemoteRSSI, af60StaRemoteSNR.
    (
        &[1, 3, 6, 1, 4, 1, 41112, 1, 11, 1, 3, 1, 3],
        LevelKind::Signal,
        1.0,
    ),
    (
        &[1, 3, 6, 1, 4, 1, 41112, 1, 11, 1, 3, 1, 4],
        LevelKind::Snr,
        1.0,
    ),
    (
        &[1, 3, 6, 1, 4, 1, 41112, 1, 11, 1, 3, 1, 18],
        LevelKind::Signal,
        1.0,
    ),
    (
        &[1, 3, 6, 1, 4, 1, 41112, 1, 11, 1, 3, 1, 19],
        LevelKind::Snr,
        1.0,
    ),
    // Siklu EtherHaul rfAverageCinr, rfAverageRssi.
    (&[1, 3, 6, 1, 4, 1, 31926, 2, 1, 1, 18], LevelKind::Snr, 1.0),
    (
        &[1, 3, 6, 1, 4, 1, 31926, 2, 1, 1, 19],
        LevelKind::Signal,
        1.0,
    ),
    // Mimosa B5 mimosaRxPower and mimosaSNR, in 0.1 dB.
    (
        &[1, 3, 6, 1, 4, 1, 43356, 2, 1, 2, 6, 1, 1, 3],
        LevelKind::Signal,
        10.0,
    ),
    (
        &[1, 3, 6, 1, 4, 1, 43356, 2, 1, 2, 6, 1, 1, 5],
        LevelKind::Snr,
        10.0,
    ),
];

const UPS_BATTERY_STATUS: [u32; 11] = [1, 3, 6, 1, 2, 1, 33, 1, 2, 1, 0];
const UPS_SECONDS_ON_BATTERY: [u32; 11] = [1, 3, 6, 1, 2, 1, 33, 1, 2, 2, 0];
const UPS_MINUTES_REMAINING: [u32; 11] = [1, 3, 6, 1, 2, 1, 33, 1, 2, 3, 0];
const UPS_CHARGE_REMAINING: [u32; 11] = [1, 3, 6, 1, 2, 1, 33, 1, 2, 4, 0];
const UPS_INPUT_VOLTAGE: [u32; 12] = [1, 3, 6, 1, 2, 1, 33, 1, 3, 3, 1, 3];
const UPS_OUTPUT_SOURCE: [u32; 11] = [1, 3, 6, 1, 2, 1, 33, 1, 4, 1, 0];

/// Why an event cannot run on this network.
pub(crate) struct Unresolved {
    pub(crate) event: usize,
    pub(crate) line: usize,
    pub(crate) message: String,
}

/// Bind every event of `scenario` to `devices`.
pub(crate) fn resolve(
    scenario: &Scenario,
    devices: &[RunningDevice],
) -> Result<Vec<ResolvedEvent>, Unresolved> {
    scenario
        .events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            resolve_event(event, devices).map_err(|message| Unresolved {
                event: i + 1,
                line: event.line,
                message,
            })
        })
        .collect()
}

fn resolve_event(event: &Event, devices: &[RunningDevice]) -> Result<ResolvedEvent, String> {
    let index = devices
        .iter()
        .position(|d| d.name == event.device)
        .ok_or_else(|| format!("no device named {:?} in this network", event.device))?;
    let device = &devices[index];
    let effect = match &event.effect {
        Effect::OnuDown {
            onus,
            cause,
            spread,
        } => {
            let olt = olt_of(device, "onu-down")?;
            let onus = select_onus(device, olt, onus)?;
            if onus.iter().all(|&n| !olt.onu(n).up) {
                return Err(
                    "every ONU it selects is down from the start: nothing would change".into(),
                );
            }
            ResolvedEffect::OnuDown {
                onus: with_shares(olt, onus),
                cause: *cause,
                spread: *spread,
            }
        }
        Effect::RxDrop { onus, change } => {
            let olt = olt_of(device, "rx-drop")?;
            if olt.extra.is_empty() {
                return Err(format!(
                    "{} serves no per-ONU optical level (an OLT with IF-MIB only): an rx drop would not show",
                    device.name
                ));
            }
            let onus = select_onus(device, olt, onus)?;
            if onus.iter().all(|&n| !olt.onu(n).up) {
                return Err(
                    "every ONU it selects is down from the start: their levels do not show".into(),
                );
            }
            ResolvedEffect::RxDrop {
                onus,
                change: *change,
            }
        }
        Effect::SignalDrop { stations, change } => ResolvedEffect::SignalDrop {
            rows: level_rows(device, stations)?,
            change: *change,
        },
        Effect::Silent => ResolvedEffect::Silent,
        Effect::Reboot { return_over } => ResolvedEffect::Reboot {
            return_over: *return_over,
            onus: device.olt.as_deref().map_or_else(Vec::new, |olt| {
                with_shares(olt, (1..=olt.onus).filter(|&n| olt.onu(n).up).collect())
            }),
        },
        Effect::OnBattery {
            runtime_minutes,
            drain,
            low_at,
        } => {
            if device
                .handler
                .base_cell(&Oid::from(UPS_OUTPUT_SOURCE))
                .is_none()
            {
                return Err(format!(
                    "{} serves no UPS-MIB upsOutputSource.0: it is not a UPS the sim can put on battery",
                    device.name
                ));
            }
            let recorded = match device.handler.base_cell(&Oid::from(UPS_MINUTES_REMAINING)) {
                Some(Cell::Fixed(Value::Integer(m))) => f64::from(m.max(0)),
                _ => 30.0,
            };
            ResolvedEffect::OnBattery {
                runtime: runtime_minutes.unwrap_or(recorded),
                drain: *drain,
                low_at: *low_at,
                input_voltages: rows_under(device, &UPS_INPUT_VOLTAGE)
                    .into_iter()
                    .map(|(oid, _)| oid)
                    .collect(),
            }
        }
    };
    Ok(ResolvedEvent {
        device: index,
        at: event.at,
        lasting: event.lasting,
        effect,
    })
}

fn olt_of<'a>(device: &'a RunningDevice, effect: &str) -> Result<&'a SyntheticOlt, String> {
    device.olt.as_deref().ok_or_else(|| {
        format!(
            "{} is a {} replaying a recording, not a simulated OLT: effect \"{effect}\" needs its ONUs",
            device.name, device.kind
        )
    })
}

/// Each ONU with its deterministic share of a spread (who fails first, who last).
fn with_shares(olt: &SyntheticOlt, onus: Vec<u32>) -> Vec<(u32, f64)> {
    onus.into_iter()
        .map(|n| (n, unit(mix2(olt.seed ^ 0x5ca1, u64::from(n)))))
        .collect()
}

/// The positions a selection takes, in order.
fn select_onus(
    device: &RunningDevice,
    olt: &SyntheticOlt,
    selection: &OnuSelection,
) -> Result<Vec<u32>, String> {
    let all = 1..=olt.onus;
    let mut onus: Vec<u32> = match &selection.filter {
        OnuFilter::All => all.collect(),
        OnuFilter::Pon(pon) => {
            let onus: Vec<u32> = all.filter(|&n| olt.pon_name(n) == *pon).collect();
            if onus.is_empty() {
                return Err(format!(
                    "{} has no PON {pon:?} (its PONs: {} to {})",
                    device.name,
                    olt.pon_name(1),
                    olt.pon_name(olt.onus.max(1))
                ));
            }
            onus
        }
        OnuFilter::Splitter(splitter) => {
            let onus: Vec<u32> = all.filter(|&n| olt.splitter_name(n) == *splitter).collect();
            if onus.is_empty() {
                return Err(format!(
                    "{} has no splitter {splitter:?} (its splitters: {} to {}, {} ONUs each)",
                    device.name,
                    olt.splitter_name(1),
                    olt.splitter_name(olt.onus.max(1)),
                    olt.onus_per_splitter()
                ));
            }
            onus
        }
        OnuFilter::Positions(ranges) => {
            let mut set = BTreeSet::new();
            for range in ranges {
                if *range.end() > olt.onus {
                    return Err(format!(
                        "position {} is past the last ONU of {} ({})",
                        range.end(),
                        device.name,
                        olt.onus
                    ));
                }
                set.extend(range.clone());
            }
            set.into_iter().collect()
        }
        OnuFilter::Lines(labels) => {
            let mut set = BTreeSet::new();
            for label in labels {
                let n = label
                    .strip_prefix("L-")
                    .and_then(|digits| digits.parse::<u32>().ok())
                    .and_then(|number| number.checked_sub(olt.first_line))
                    .map(|offset| offset + 1)
                    .filter(|&n| all.contains(&n) && olt.line_label(n) == *label)
                    .ok_or_else(|| format!("line {label:?} is not on {}", device.name))?;
                set.insert(n);
            }
            set.into_iter().collect()
        }
    };
    if let Some(count) = selection.count {
        onus.truncate(count as usize);
    }
    Ok(onus)
}

/// Every row under `prefix` the device serves.
fn rows_under(device: &RunningDevice, prefix: &[u32]) -> Vec<(Oid, Cell)> {
    let mut rows = Vec::new();
    let mut at = Oid::from(prefix.to_vec());
    while let Some((oid, cell)) = device.handler.base_next(&at) {
        if !oid.arcs().starts_with(prefix) {
            break;
        }
        at = oid.clone();
        rows.push((oid, cell));
    }
    rows
}

/// The level rows of the stations a selection takes.
fn level_rows(
    device: &RunningDevice,
    stations: &StationSelection,
) -> Result<Vec<LevelRow>, String> {
    let mut rows = Vec::new();
    let mut order: Vec<String> = Vec::new();
    for (prefix, kind, per_db) in LEVEL_COLUMNS {
        for (oid, cell) in rows_under(device, prefix) {
            let Cell::Fixed(value @ (Value::Integer(_) | Value::Gauge32(_))) = cell else {
                continue;
            };
            let station = index_of(&oid, prefix.len());
            if !order.contains(&station) {
                order.push(station.clone());
            }
            rows.push((
                station,
                LevelRow {
                    oid,
                    value,
                    kind: *kind,
                    per_db: *per_db,
                },
            ));
        }
    }
    if rows.is_empty() {
        return Err(format!(
            "{} ({}) serves no radio level the sim knows (the signal and SNR columns of ePMP, MikroTik, LTU, AF60, Siklu and Mimosa radios)",
            device.name, device.recording
        ));
    }
    let chosen: Vec<String> = match stations {
        StationSelection::All => order.clone(),
        StationSelection::Count(n) => order.iter().take(*n as usize).cloned().collect(),
        StationSelection::Index(index) => {
            for wanted in index {
                if !order.contains(wanted) {
                    return Err(format!(
                        "{} has no station {wanted:?} (its stations: {})",
                        device.name,
                        order.join(", ")
                    ));
                }
            }
            index.clone()
        }
    };
    Ok(rows
        .into_iter()
        .filter(|(station, _)| chosen.contains(station))
        .map(|(_, row)| row)
        .collect())
}

/// The arcs after a column prefix, dotted (`"3"`, `"0.39.16.50.237.96.9"`).
fn index_of(oid: &Oid, prefix_len: usize) -> String {
    let arcs: Vec<String> = oid.arcs()[prefix_len..]
        .iter()
        .map(u32::to_string)
        .collect();
    arcs.join(".")
}

impl ResolvedEvent {
    /// When the event is over, in scenario time (`None`: it lasts until stopped).
    pub(crate) fn ends_after(&self) -> Option<Duration> {
        let tail = match &self.effect {
            ResolvedEffect::OnuDown { spread, .. } => *spread,
            ResolvedEffect::RxDrop { change, .. } | ResolvedEffect::SignalDrop { change, .. } => {
                change.recover
            }
            ResolvedEffect::Reboot { return_over, .. } => *return_over,
            ResolvedEffect::Silent | ResolvedEffect::OnBattery { .. } => Duration::ZERO,
        };
        self.lasting.map(|l| self.at + l + tail)
    }

    pub(crate) fn is_reboot(&self) -> bool {
        matches!(self.effect, ResolvedEffect::Reboot { .. })
    }

    /// Whether a reboot event has reached the moment its device boots again.
    pub(crate) fn boots_by(&self, scenario_elapsed: Duration) -> bool {
        matches!(self.effect, ResolvedEffect::Reboot { .. })
            && self
                .lasting
                .is_some_and(|down| scenario_elapsed >= self.at + down)
    }

    /// Add what this event does at `scenario_elapsed` to its device's state.
    pub(crate) fn contribute(&self, scenario_elapsed: Duration, state: &mut DeviceState) {
        let Some(e) = scenario_elapsed.checked_sub(self.at) else {
            return;
        };
        let running = self.lasting.is_none_or(|l| e < l);
        match &self.effect {
            ResolvedEffect::OnuDown {
                onus,
                cause,
                spread,
            } => {
                for &(n, share) in onus {
                    let delay = spread.mul_f64(share);
                    let back = self.lasting.map(|l| l + delay);
                    if e >= delay && back.is_none_or(|b| e < b) {
                        state.onu(n).cause.get_or_insert(*cause);
                    }
                }
            }
            ResolvedEffect::RxDrop { onus, change } => {
                let offset = change.offset_db(e, self.lasting);
                if offset > 0.0 {
                    for &n in onus {
                        state.onu(n).rx_offset_db += offset;
                    }
                }
            }
            ResolvedEffect::SignalDrop { rows, change } => {
                let offset = change.offset_db(e, self.lasting);
                if offset > 0.0 {
                    for row in rows {
                        state
                            .levels
                            .entry(row.oid.clone())
                            .or_insert_with(|| (row.clone(), 0.0))
                            .1 += offset;
                    }
                }
            }
            ResolvedEffect::Silent => state.silent |= running,
            ResolvedEffect::Reboot { return_over, onus } => {
                state.silent |= running;
                if let Some(down) = self.lasting
                    && !running
                {
                    let since_boot = e - down;
                    for &(n, share) in onus {
                        if since_boot < return_over.mul_f64(share) {
                            state.onu(n).cause.get_or_insert(DownCause::Offline);
                        }
                    }
                }
            }
            ResolvedEffect::OnBattery {
                runtime,
                drain,
                low_at,
                input_voltages,
            } => {
                if running {
                    state.ups = Some(UpsState {
                        seconds_on_battery: e.as_secs(),
                        minutes: (runtime - drain * e.as_secs_f64() / 60.0).max(0.0),
                        runtime: *runtime,
                        low_at: *low_at,
                        input_voltages: input_voltages.clone(),
                    });
                }
            }
        }
    }
}

/// What the running scenarios do to one device at one moment.
#[derive(Debug, Default)]
pub(crate) struct DeviceState {
    pub(crate) silent: bool,
    pub(crate) onus: BTreeMap<u32, OnuChange>,
    pub(crate) levels: BTreeMap<Oid, (LevelRow, f64)>,
    pub(crate) ups: Option<UpsState>,
}

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct OnuChange {
    pub(crate) cause: Option<DownCause>,
    pub(crate) rx_offset_db: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct UpsState {
    seconds_on_battery: u64,
    minutes: f64,
    runtime: f64,
    low_at: f64,
    input_voltages: Vec<Oid>,
}

impl DeviceState {
    fn onu(&mut self, n: u32) -> &mut OnuChange {
        self.onus.entry(n).or_default()
    }

    /// The overlay serving this state on `device` (`None` when nothing changes).
    pub(crate) fn overlay(&self, device: &RunningDevice) -> Option<Overlay> {
        let mut rows = Vec::new();
        let mut hidden = Vec::new();
        if let Some(olt) = device.olt.as_deref() {
            for (&n, change) in &self.onus {
                let before = olt.onu(n);
                let after = before
                    .clone()
                    .with_condition(change.cause, change.rx_offset_db);
                if after.up == before.up && change.rx_offset_db == 0.0 {
                    continue;
                }
                let new_rows = olt.onu_rows(&after);
                let kept: BTreeSet<&Oid> = new_rows.iter().map(|e| &e.oid).collect();
                hidden.extend(
                    olt.onu_rows(&before)
                        .into_iter()
                        .map(|e| e.oid)
                        .filter(|oid| !kept.contains(oid)),
                );
                rows.extend(new_rows);
            }
        }
        for (row, offset) in self.levels.values() {
            rows.push(Entry {
                oid: row.oid.clone(),
                cell: Cell::Fixed(lowered(row, *offset)),
            });
        }
        if let Some(ups) = &self.ups {
            rows.extend(ups.rows());
        }
        let overlay = Overlay::new(rows, hidden);
        (!overlay.is_empty()).then_some(overlay)
    }
}

/// A level row's value after falling by `offset` dB.
fn lowered(row: &LevelRow, offset: f64) -> Value {
    let drop = (offset * row.per_db).round() as i64;
    match row.value {
        Value::Integer(v) => {
            let v = i64::from(v);
            let lowered = match row.kind {
                // An SNR does not fall below 0 (nor below where it already was).
                LevelKind::Snr => (v - drop).max(v.min(0)),
                LevelKind::Signal => v - drop,
            };
            Value::Integer(lowered.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
        }
        Value::Gauge32(v) => Value::Gauge32((i64::from(v) - drop).max(0) as u32),
        ref other => other.clone(),
    }
}

impl UpsState {
    fn rows(&self) -> Vec<Entry> {
        let fixed = |arcs: &[u32], v: i32| Entry {
            oid: Oid::from(arcs.to_vec()),
            cell: Cell::Fixed(Value::Integer(v)),
        };
        // 2 normal, 3 low, 4 depleted.
        let status = if self.minutes <= 0.0 {
            4
        } else if self.minutes <= self.low_at {
            3
        } else {
            2
        };
        let charge = if self.runtime > 0.0 {
            (100.0 * self.minutes / self.runtime)
                .round()
                .clamp(0.0, 100.0) as i32
        } else {
            0
        };
        let mut rows = vec![
            fixed(&UPS_OUTPUT_SOURCE, 5),
            fixed(&UPS_BATTERY_STATUS, status),
            fixed(
                &UPS_SECONDS_ON_BATTERY,
                i32::try_from(self.seconds_on_battery).unwrap_or(i32::MAX),
            ),
            fixed(&UPS_MINUTES_REMAINING, self.minutes.ceil() as i32),
            fixed(&UPS_CHARGE_REMAINING, charge),
        ];
        for oid in &self.input_voltages {
            rows.push(Entry {
                oid: oid.clone(),
                cell: Cell::Fixed(Value::Integer(0)),
            });
        }
        rows
    }
}
