//! `line watch`: a line's rows on its device, read again with a single GET, and what that
//! reading alone says (thresholds applied, no hysteresis).

use std::sync::Arc;

use super::readings::down_reason_text;
use super::state::{LineReading, LineState, evaluate};
use crate::collect::observe::Observation;
use crate::collect::profile::{Profile, table_from_get};
use crate::collect::snmp::{Oid, Value};
use crate::config::LineThresholds;
use crate::model::view::LevelsNow;
use coopnoc_proto::{LineKind, ThresholdOverrides};

/// A line's rows on its device, for a single GET.
#[derive(Debug, Clone)]
pub struct WatchTarget {
    pub device: String,
    pub profile: Arc<Profile>,
    /// (table, index) of each row that is the line.
    pub rows: Vec<(String, Vec<u32>)>,
    /// "gpon_1/1/3:12", the port, or the station's MAC.
    pub location: Option<String>,
    pub thresholds: ThresholdOverrides,
    pub kind: LineKind,
}

/// What one GET of a line's rows says.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchedReading {
    pub state: LineState,
    pub reason: Option<String>,
    pub levels: LevelsNow,
    /// The device's word on the ONU/station (or its port).
    pub device_says_up: Option<bool>,
    /// Values the device answered (exceptions left out).
    pub values: u32,
}

impl WatchTarget {
    /// The instance OIDs to GET: each row of the line, and the rows of the profile's other
    /// tables indexed the same way (an ONU's interface is in IF-MIB's table and in the
    /// vendor's per-ONU counters table). Empty when the profile reads nothing per row.
    pub fn oids(&self) -> Vec<Oid> {
        let tables = &self.profile.tables;
        let mut oids: Vec<Oid> = Vec::new();
        for (table, index) in &self.rows {
            let Some(spec) = tables.iter().find(|t| &t.name == table) else {
                continue;
            };
            for sibling in tables
                .iter()
                .filter(|t| t.subject == spec.subject && t.index == spec.index)
            {
                for oid in self.profile.row_oids(&sibling.name, index) {
                    if !oids.contains(&oid) {
                        oids.push(oid);
                    }
                }
            }
        }
        oids
    }

    /// Reads what a single GET of the line's rows answered: its levels and the device's word.
    pub fn read(&self, answers: &[(Oid, Value)], t: &LineThresholds) -> WatchedReading {
        let table = table_from_get(&self.profile, answers);
        let decoded = self.profile.decode(&[&table]);
        let mut levels = LevelsNow::default();
        let mut says: Option<(bool, Option<String>)> = None;
        let mut oper: Option<bool> = None;
        for o in &decoded.observations {
            match o {
                Observation::Optical {
                    rx_dbm,
                    tx_dbm,
                    olt_rx_dbm,
                    ..
                } => {
                    levels.rx_dbm = levels.rx_dbm.or(*rx_dbm);
                    levels.tx_dbm = levels.tx_dbm.or(*tx_dbm);
                    levels.olt_rx_dbm = levels.olt_rx_dbm.or(*olt_rx_dbm);
                }
                Observation::Radio {
                    signal_dbm, snr_db, ..
                } => {
                    levels.signal_dbm = levels.signal_dbm.or(*signal_dbm);
                    levels.snr_db = levels.snr_db.or(*snr_db);
                }
                Observation::LineState { up, reason, .. } => {
                    says = Some((*up, (!*up).then(|| down_reason_text(*reason))))
                }
                Observation::Interface { oper_up, .. } => oper = oper.or(*oper_up),
                _ => {}
            }
        }
        levels.at = Some(crate::store::now());
        let (device_says_up, down_reason) = match &says {
            Some((up, why)) => (Some(*up), why.clone()),
            None => (
                oper,
                oper.is_some_and(|u| !u)
                    .then(|| "interface down".to_string()),
            ),
        };
        let reading = LineReading {
            device_reachable: true,
            device_says_up,
            down_reason,
            rx_dbm: levels.rx_dbm,
            tx_dbm: levels.tx_dbm,
            olt_rx_dbm: levels.olt_rx_dbm,
            signal_dbm: levels.signal_dbm,
            snr_db: levels.snr_db,
        };
        let e = evaluate(&reading, t, &self.thresholds);
        WatchedReading {
            state: e.state,
            reason: e.reason,
            levels,
            device_says_up,
            values: answers.iter().filter(|(_, v)| !v.is_exception()).count() as u32,
        }
    }
}
