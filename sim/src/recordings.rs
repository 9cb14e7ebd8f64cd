//! The device recordings bundled with the crate (see `recordings/PROVENANCE.md`).
//!
//! They are compiled in with `include_str!` so the daemon's `--demo` mode and the tests work
//! on a fresh clone, without `../shared`. Each is parsed at most once per process and shared.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::table::MibTable;

/// Every bundled recording: (name = file name without `.snmprec`, text).
pub const ALL: &[(&str, &str)] = &[
    (
        "airos-af-ltu",
        include_str!("../recordings/airos-af-ltu.snmprec"),
    ),
    (
        "airos-af60_airos-af60",
        include_str!("../recordings/airos-af60_airos-af60.snmprec"),
    ),
    ("aviat-wtm", include_str!("../recordings/aviat-wtm.snmprec")),
    (
        "eaton-mgeups_9px",
        include_str!("../recordings/eaton-mgeups_9px.snmprec"),
    ),
    (
        "epmp_epmp-ap-connected-sta",
        include_str!("../recordings/epmp_epmp-ap-connected-sta.snmprec"),
    ),
    (
        "linux_icecast",
        include_str!("../recordings/linux_icecast.snmprec"),
    ),
    ("mimosa_b5", include_str!("../recordings/mimosa_b5.snmprec")),
    ("routeros", include_str!("../recordings/routeros.snmprec")),
    (
        "routeros_crs317",
        include_str!("../recordings/routeros_crs317.snmprec"),
    ),
    ("siklu", include_str!("../recordings/siklu.snmprec")),
    (
        "vsolution_v1600d",
        include_str!("../recordings/vsolution_v1600d.snmprec"),
    ),
    (
        "zxa10_c320",
        include_str!("../recordings/zxa10_c320.snmprec"),
    ),
];

/// The text of a bundled recording, by name (`"routeros"`, `"zxa10_c320"`...).
pub fn get(name: &str) -> Option<&'static str> {
    ALL.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

/// The names of every bundled recording.
pub fn names() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|(n, _)| *n)
}

/// The parsed table of a bundled recording, parsed once per process and shared by every
/// agent that replays it. Parser warnings are logged at `debug` the first time.
pub(crate) fn table(name: &str) -> Option<Arc<MibTable>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<MibTable>>>> = OnceLock::new();
    let text = get(name)?;
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(table) = cache.get(name) {
        return Some(Arc::clone(table));
    }
    let parsed = crate::snmprec::parse(text);
    for warning in &parsed.warnings {
        tracing::debug!(recording = name, %warning, "recording defect skipped");
    }
    let table = Arc::new(MibTable::from_recording(&parsed.entries));
    cache.insert(name.to_owned(), Arc::clone(&table));
    Some(table)
}
