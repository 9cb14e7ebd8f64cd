//! ENTITY-SENSOR-MIB (RFC 3433) rows as device readings.

use std::borrow::Cow;

use super::model::*;
use super::row::Rows;
use crate::collect::observe::{Observation, Sensor, Subject};

/// ENTITY-SENSOR-MIB (RFC 3433): each row says its own kind (entPhySensorType), unit scale
/// (entPhySensorScale, 9 = units, 8 = milli, 10 = kilo...) and decimals
/// (entPhySensorPrecision). A device gets one reading per kind, the worst of its sensors:
/// the hottest temperature, the lowest voltage, the highest current. Sensors whose status
/// is not ok(1) give no reading; kinds coopnoc has no use for are left out.
pub(super) fn entity_sensors(
    present: &[(&ColumnSpec, Cow<'_, Rows<'_>>)],
    obs: &mut Vec<Observation>,
) {
    let col = |r: Role| {
        present
            .iter()
            .find(|(c, _)| c.role == r)
            .map(|(_, rows)| rows)
    };
    let (Some(types), Some(values)) = (col(Role::EntitySensorType), col(Role::EntitySensorValue))
    else {
        return;
    };
    let int = |rows: Option<&Cow<'_, Rows<'_>>>, idx: &[u32]| {
        rows.and_then(|r| r.get(idx)).and_then(|v| v.as_i64())
    };
    let mut worst: Vec<(Sensor, Option<f64>)> = Vec::new();
    let mut idxs: Vec<&&[u32]> = values.keys().collect();
    idxs.sort();
    for idx in idxs {
        let (sensor, factor) = match int(Some(types), idx) {
            Some(3 | 4) => (Sensor::Volts, 1.0),
            Some(5) => (Sensor::Milliamperes, 1000.0),
            Some(8) => (Sensor::TemperatureCelsius, 1.0),
            _ => continue,
        };
        // yocto(1) .. milli(8), units(9), kilo(10) .. tera(13), exa(14), peta(15), zetta(16),
        // yotta(17): the MIB lists exa before peta.
        let exponent = match int(col(Role::EntitySensorScale), idx) {
            Some(14) => 18,
            Some(15) => 15,
            Some(s @ 1..=17) => (s as i32 - 9) * 3,
            _ => 0,
        };
        let precision = int(col(Role::EntitySensorPrecision), idx)
            .unwrap_or(0)
            .clamp(-8, 9) as i32;
        let ok = int(col(Role::EntitySensorStatus), idx).is_none_or(|s| s == 1);
        let value = values
            .get(idx)
            .and_then(|v| v.as_i64())
            .filter(|_| ok)
            .map(|raw| {
                // Divide rather than multiply by a negative power: 12040 / 1000 is 12.04.
                let e = exponent - precision;
                let x = if e >= 0 {
                    raw as f64 * 10f64.powi(e)
                } else {
                    raw as f64 / 10f64.powi(-e)
                };
                x * factor
            })
            .filter(|x| x.is_finite());
        let combine = |a: f64, b: f64| match sensor {
            Sensor::Volts => a.min(b),
            _ => a.max(b),
        };
        match worst.iter_mut().find(|(s, _)| *s == sensor) {
            Some((_, w)) => {
                *w = match (*w, value) {
                    (Some(a), Some(b)) => Some(combine(a, b)),
                    (a, b) => a.or(b),
                }
            }
            None => worst.push((sensor, value)),
        }
    }
    for (sensor, value) in worst {
        obs.push(Observation::Sensor {
            subject: Subject::Device,
            sensor,
            value,
        });
    }
}
