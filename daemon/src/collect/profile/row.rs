//! One row of a table as a decode reads it: its cells by column, and the label, state, level
//! or counter of a role among them (fallback columns standing in where their primary has no
//! value).

use super::model::*;
use super::values::{counter_of, gpon_serial_of, mac_of, mapped_of, reading, text_of};
use crate::collect::observe::{Counter, Sensor};
use std::collections::HashMap;

use crate::collect::snmp::Value;

/// One column's values by index.
pub(super) type Rows<'a> = HashMap<&'a [u32], &'a Value>;

/// The values of one row, by column.
pub(super) struct Row<'s, 'a> {
    pub cells: Vec<(&'s ColumnSpec, Option<&'a Value>)>,
    /// The row's index in its table (`None` for a device's rows folded into one).
    pub index: Option<&'a [u32]>,
}

/// Whether a cell gives its role something: a label, a state, a counter, a reading (a speed
/// of 0 is none: ifHighSpeed says 0 below 1 Mb/s, where ifSpeed knows better).
fn gives(c: &ColumnSpec, v: &Value) -> bool {
    if c.role.is_label() {
        text_of(v).is_some()
    } else if c.role.is_mapped() {
        mapped_of(v, &c.map).is_some()
    } else if c.role.is_counter() {
        counter_of(v, &c.scale).is_some()
    } else {
        reading(v, &c.scale).is_some_and(|x| c.role != Role::SpeedBps || x != 0.0)
    }
}

impl<'s, 'a> Row<'s, 'a> {
    /// The row of `spec` at these cells: a fallback column's cells are left out where its
    /// primary column gives a value, the primary's where it does not and a fallback does.
    pub fn new(
        spec: &'s TableSpec,
        mut cells: Vec<(&'s ColumnSpec, Option<&'a Value>)>,
        index: Option<&'a [u32]>,
    ) -> Self {
        if spec.columns.iter().any(|c| c.fallback_for.is_some()) {
            let given: Vec<bool> = spec
                .columns
                .iter()
                .map(|p| {
                    cells
                        .iter()
                        .any(|(c, v)| std::ptr::eq(*c, p) && v.is_some_and(|v| gives(c, v)))
                })
                .collect();
            // A primary that gives nothing (a speed of 0) gives way to a fallback that does.
            let stood_in: Vec<bool> = spec
                .columns
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    cells.iter().any(|(c, v)| {
                        c.fallback_for == Some(i) && !given[i] && v.is_some_and(|v| gives(c, v))
                    })
                })
                .collect();
            for (c, v) in &mut cells {
                let place = spec.columns.iter().position(|p| std::ptr::eq(*c, p));
                if c.fallback_for.is_some_and(|p| given[p]) || place.is_some_and(|i| stood_in[i]) {
                    *v = None;
                }
            }
        }
        Row { cells, index }
    }

    /// The cell a counter of `role` is read from (the first with a counter value).
    pub fn counter_cell(&self, role: Role) -> Option<&'s ColumnSpec> {
        self.cells
            .iter()
            .find(|(c, v)| c.role == role && v.and_then(|v| counter_of(v, &c.scale)).is_some())
            .map(|(c, _)| *c)
    }
}

impl Row<'_, '_> {
    pub fn walked(&self, pred: impl Fn(Role) -> bool) -> bool {
        self.cells.iter().any(|(c, _)| pred(c.role))
    }

    pub fn label(&self, role: Role) -> Option<String> {
        let wanted = |r: Role| r == role || (role == Role::Serial && r == Role::GponSerial);
        self.cells
            .iter()
            .filter(|(c, _)| wanted(c.role))
            .find_map(|(c, v)| {
                let v = (*v)?;
                match c.role {
                    Role::Mac => mac_of(v),
                    Role::GponSerial => gpon_serial_of(v),
                    _ => text_of(v),
                }
            })
    }

    /// Several readings of one level role (two chains, both directions, a device's rows):
    /// the worst counts, which is what line and device state must see: the lowest level,
    /// the highest temperature.
    pub fn level(&self, role: Role) -> Option<f64> {
        let worst = if role == Role::Sensor(Sensor::TemperatureCelsius) {
            f64::max
        } else {
            f64::min
        };
        self.cells
            .iter()
            .filter(|(c, _)| c.role == role)
            .filter_map(|(c, v)| reading((*v)?, &c.scale))
            .reduce(worst)
    }

    /// Several columns of one counter role: the first with a value (64-bit before 32-bit).
    pub fn counter(&self, role: Role) -> Option<Counter> {
        self.cells
            .iter()
            .filter(|(c, _)| c.role == role)
            .find_map(|(c, v)| counter_of((*v)?, &c.scale))
    }

    pub fn mapped(&self, role: Role) -> Option<Mapped> {
        self.cells
            .iter()
            .filter(|(c, _)| c.role == role)
            .find_map(|(c, v)| mapped_of((*v)?, &c.map))
    }
}
