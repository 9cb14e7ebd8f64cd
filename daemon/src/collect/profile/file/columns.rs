//! A table's columns as the file gives them, checked: role, schedule, scale, value map, and
//! which column a fallback stands in for.

use std::collections::BTreeMap;

use super::super::model::*;
use super::{Checker, ColumnFile, TableFile};

/// `fallback-for = "NAME"`: the column stands in for the column of that name in the same
/// table, of the same role and schedule, which must not be a fallback itself.
pub(super) fn resolve_fallbacks(
    c: &mut Checker<'_>,
    place: &str,
    t: &TableFile,
    columns: &mut [ColumnSpec],
) {
    for (ci, col) in t.columns.iter().enumerate() {
        let Some(primary) = &col.fallback_for else {
            continue;
        };
        let cp = format!("{place}.column[{ci}].fallback-for");
        let Some(pi) = columns.iter().position(|p| p.name == *primary) else {
            c.problem(
                cp,
                format!("no column of this table is named \"{primary}\""),
            );
            continue;
        };
        let (p, f) = (&columns[pi], &columns[ci]);
        if pi == ci {
            c.problem(cp, "a column cannot stand in for itself");
        } else if t.columns[pi].fallback_for.is_some() {
            c.problem(cp, format!("\"{primary}\" is itself a fallback"));
        } else if p.role != f.role || p.schedule != f.schedule {
            c.problem(
                cp,
                format!(
                    "\"{primary}\" has another role or schedule: a fallback reads the same thing"
                ),
            );
        } else {
            columns[ci].fallback_for = Some(pi);
        }
    }
}

pub(super) fn check_column(
    c: &mut Checker<'_>,
    place: &str,
    col: &ColumnFile,
    table_schedule: Schedule,
) -> Option<ColumnSpec> {
    let oid = c.oid(&format!("{place}.oid"), &col.oid);
    let role = Role::parse(&col.role);
    if role.is_none() {
        let all: Vec<&str> = ROLES.iter().map(|(n, _)| *n).collect();
        c.problem(
            format!("{place}.role"),
            format!(
                "\"{}\" is not a role; roles are: {}",
                col.role,
                all.join(", ")
            ),
        );
    }
    let schedule = match col.schedule.as_deref() {
        Some(s) => Schedule::parse(s).unwrap_or_else(|| {
            c.problem(
                format!("{place}.schedule"),
                format!("\"{s}\" is not one of status, labels, slow"),
            );
            table_schedule
        }),
        None if role.is_some_and(Role::is_label) => Schedule::Labels,
        None => table_schedule,
    };
    let mut scale = Scale::default();
    let scaled = col.offset.is_some()
        || col.divisor.is_some()
        || col.multiplier.is_some()
        || col.convert.is_some()
        || col.pattern.is_some()
        || col.valid_range.is_some();
    if let Some(role) = role {
        if scaled && !role.is_level() {
            c.problem(place, format!("role \"{}\" is not a number: offset, divisor, multiplier, convert, pattern and valid-range do not apply", col.role));
        }
        if col.no_reading.is_some() && !(role.is_level() || role.is_counter()) {
            c.problem(
                format!("{place}.no-reading"),
                format!("role \"{}\" has no readings to exclude", col.role),
            );
        }
        if role.is_mapped() && col.map.as_ref().is_none_or(|m| m.is_empty()) {
            c.problem(
                format!("{place}.map"),
                format!(
                    "role \"{}\" needs a value map, e.g. map = {{ 1 = \"up\", 2 = \"offline\" }}",
                    col.role
                ),
            );
        }
        if !role.is_mapped() && col.map.is_some() {
            c.problem(
                format!("{place}.map"),
                format!("role \"{}\" takes no value map", col.role),
            );
        }
    }
    if let Some(o) = col.offset {
        if !o.is_finite() {
            c.problem(format!("{place}.offset"), "must be a finite number");
        }
        scale.offset = o;
    }
    if let Some(d) = col.divisor {
        if !d.is_finite() || d == 0.0 {
            c.problem(
                format!("{place}.divisor"),
                "must be a finite number other than 0",
            );
        }
        scale.divisor = d;
    }
    if let Some(m) = col.multiplier {
        if !m.is_finite() || m == 0.0 {
            c.problem(
                format!("{place}.multiplier"),
                "must be a finite number other than 0",
            );
        }
        scale.multiplier = m;
    }
    scale.convert = match col.convert.as_deref() {
        None => Convert::None,
        Some("mw-to-dbm") => Convert::MwToDbm,
        Some("uw-to-dbm") => Convert::UwToDbm,
        Some(other) => {
            c.problem(
                format!("{place}.convert"),
                format!("\"{other}\" is not one of mw-to-dbm, uw-to-dbm"),
            );
            Convert::None
        }
    };
    if scale.convert != Convert::None && role.is_some_and(|r| !r.is_dbm()) {
        c.problem(
            format!("{place}.convert"),
            "a conversion to dBm only applies to a dBm role",
        );
    }
    if let Some(p) = &col.pattern
        && let Some(r) = c.regex(&format!("{place}.pattern"), p)
    {
        if r.captures_len() < 2 {
            c.problem(
                format!("{place}.pattern"),
                "needs a group around the number, like \"\\\\((-?[0-9.]+) dBm\\\\)\"",
            );
        }
        scale.pattern = Some(r);
    }
    scale.no_reading = col.no_reading.clone().unwrap_or_default();
    if let Some([lo, hi]) = col.valid_range {
        if lo
            .partial_cmp(&hi)
            .is_none_or(|o| o == std::cmp::Ordering::Greater)
        {
            c.problem(format!("{place}.valid-range"), "write [lowest, highest]");
        }
        scale.valid_range = Some((lo, hi));
    }
    let mut map = BTreeMap::new();
    if let (Some(role), Some(m)) = (role, &col.map) {
        for (raw, word) in m {
            match parse_mapped(role, word) {
                Some(v) => {
                    map.insert(raw.clone(), v);
                }
                None => c.problem(
                    format!("{place}.map.{raw}"),
                    format!("\"{word}\" is not one of {}", mapped_words(role)),
                ),
            }
        }
    }
    Some(ColumnSpec {
        name: col.name.clone().unwrap_or_else(|| col.oid.clone()),
        oid: oid?,
        index_suffix: col.index_suffix.clone().unwrap_or_default(),
        role: role?,
        schedule,
        fallback_for: None,
        scale,
        map,
    })
}
