//! A device's profile (`crate::collect::profile`) inside its polls: which profile reads it
//! (detection), what to walk beyond the IF-MIB columns the poller reads itself, and what the
//! decode of those walks found.
//!
//! The poller reads the system group and the generic profile's IF-MIB interfaces itself
//! (`ifmib.rs`: 32-bit fallbacks, ifType), which `device show` relies on. The profile's
//! tables that only repeat those columns are not walked again: their columns, as the poller
//! walked them, go into the decode, which then names ports and finds interfaces as lines; its
//! interface observations for the same ifIndexes are left out, the poller's own being the
//! ones sent.

use std::collections::HashSet;
use std::sync::Arc;

use super::ifmib::IfMib;
use crate::collect::observe::{Observation, Subject};
use crate::collect::profile::{
    DetectInput, Detection, Discovered, Profile, ProfileSet, Schedule, SubjectKind,
};
use crate::collect::snmp::{Oid, Session, SnmpError, Table, Value};

/// What one device's profile adds to its polls.
pub(super) struct Vendor {
    /// The profile decoding follows: the detected one, or the generic one when there is none.
    pub profile: Arc<Profile>,
    status: Vec<Vec<Oid>>,
    labels: Vec<Vec<Oid>>,
    slow: Vec<Vec<Oid>>,
    /// The labels tables of the last labels poll, the poller's own IF-MIB labels included:
    /// they name the rows of the status and slow tables.
    pub labels_cache: Vec<Table>,
    /// What the decode found, by table (`profile.tables` order), from the last poll that
    /// read that table.
    by_table: Vec<Arc<Vec<Discovered>>>,
    /// All of it, each subject once: what the polls send on. The same `Arc` poll after poll
    /// while nothing changes (the state and line matching keep it, not a copy of it).
    all: Arc<Vec<Discovered>>,
}

impl Vendor {
    /// `generic` is the profile set's generic IF-MIB profile, `own` what the poller reads
    /// of it itself.
    pub fn new(profile: Arc<Profile>, generic: &Profile, own: &IfMib) -> Vendor {
        // Interface tables of the generic profile: the poller reads their columns itself.
        let generic_if: HashSet<&Oid> = generic
            .tables
            .iter()
            .filter(|t| t.subject == SubjectKind::Interface)
            .flat_map(|t| t.columns.iter().map(|c| &c.oid))
            .collect();
        let rest = Profile {
            tables: profile
                .tables
                .iter()
                .filter(|t| !t.columns.iter().all(|c| generic_if.contains(&c.oid)))
                .cloned()
                .collect(),
            ..(*profile).clone()
        };
        let plan = |schedule: Schedule| {
            let walked: HashSet<Oid> = own.oids(schedule);
            rest.walks(schedule)
                .into_iter()
                .map(|w| {
                    w.into_iter()
                        .filter(|o| !walked.contains(o))
                        .collect::<Vec<_>>()
                })
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
        };
        Vendor {
            status: plan(Schedule::Status),
            labels: plan(Schedule::Labels),
            slow: plan(Schedule::Slow),
            by_table: vec![Arc::default(); profile.tables.len()],
            profile,
            labels_cache: Vec::new(),
            all: Arc::default(),
        }
    }

    /// The walks (one per table) this profile adds on `schedule`.
    pub fn walks(&self, schedule: Schedule) -> &[Vec<Oid>] {
        match schedule {
            Schedule::Status => &self.status,
            Schedule::Labels => &self.labels,
            Schedule::Slow => &self.slow,
        }
    }

    /// Decodes this poll's status (and slow) tables with the cached labels; adds the
    /// observations to `items`, except interface ones the poller made itself (`own_indexes`);
    /// returns everything found so far, each table as its latest read found it.
    pub fn decode(
        &mut self,
        fresh: &[Table],
        own_indexes: &HashSet<u32>,
        device: &str,
        items: &mut Vec<Observation>,
    ) -> Arc<Vec<Discovered>> {
        let inputs: Vec<&Table> = fresh.iter().chain(&self.labels_cache).collect();
        let decoded = self.profile.decode(&inputs);
        if !decoded.problems.is_empty() {
            tracing::debug!(
                "device {device}: {} row(s) could not be read with profile {}: {}",
                decoded.problems.len(),
                self.profile.id,
                decoded
                    .problems
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        items.extend(decoded.observations.into_iter().filter(|o| {
            !matches!(o, Observation::Interface { subject: Subject::Interface { index, .. }, .. } if own_indexes.contains(index))
        }));

        // A table read in this poll replaces what the last read of it found (an ONU gone is
        // gone); tables not read now (optics between slow polls) keep theirs. Most polls find
        // what the last one did: then nothing is replaced and the last list is sent again.
        let present: HashSet<&Oid> = inputs
            .iter()
            .flat_map(|t| t.columns.iter().map(|c| &c.oid))
            .collect();
        let tables = &self.profile.tables;
        let mut found: Vec<Vec<Discovered>> = vec![Vec::new(); tables.len()];
        for d in decoded.discovered {
            if let Some(i) = tables.iter().position(|t| t.name == d.table) {
                found[i].push(d);
            }
        }
        let mut changed = false;
        for ((t, found), kept) in tables.iter().zip(found).zip(&mut self.by_table) {
            if t.columns.iter().any(|c| present.contains(&c.oid)) && **kept != found {
                *kept = Arc::new(found);
                changed = true;
            }
        }
        if changed {
            self.all = merge(&self.by_table);
        }
        self.all.clone()
    }
}

/// Every table's findings in profile order, each subject once (an interface may be in
/// several tables, found by different polls). One decode finds each subject once: a device
/// whose items all come from one table (most) shares that table's list rather than a copy.
fn merge(by_table: &[Arc<Vec<Discovered>>]) -> Arc<Vec<Discovered>> {
    let mut non_empty = by_table.iter().filter(|found| !found.is_empty());
    match (non_empty.next(), non_empty.next()) {
        (None, _) => Arc::default(),
        (Some(only), None) => only.clone(),
        _ => {
            let mut seen: HashSet<&Subject> = HashSet::new();
            let mut all = Vec::new();
            for d in by_table.iter().flat_map(|found| found.iter()) {
                if seen.insert(&d.subject) {
                    all.push(d.clone());
                }
            }
            Arc::new(all)
        }
    }
}

/// GETs the probes detection needs (sysObjectID and sysDescr come with the labels) and
/// picks the device's profile: `Err` with a message when the config forces one that does
/// not exist. `forced` is the device's `profile` setting ("auto" is none).
pub(super) async fn detect(
    set: &ProfileSet,
    session: &Session,
    forced: Option<&str>,
    sys_object_id: Option<String>,
    sys_descr: Option<String>,
) -> Result<Result<Detection, String>, SnmpError> {
    let forced = forced.filter(|f| *f != "auto");
    let mut answered = Vec::new();
    let probes = set.probe_oids();
    if forced.is_none() && !probes.is_empty() {
        match session.get(&probes).await {
            Ok(got) => {
                answered = got
                    .into_iter()
                    .filter(|(_, v)| !v.is_exception() && *v != Value::Null)
                    .map(|(o, _)| o)
                    .collect();
            }
            // An agent that refuses the whole request answered none of them.
            Err(SnmpError::Agent { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let input = DetectInput {
        sys_object_id: sys_object_id.as_deref(),
        sys_descr: sys_descr.as_deref(),
        probes_answered: &answered,
    };
    Ok(set
        .detect_with(&input, forced)
        .map_err(|e| format!("profile: {e}")))
}
