//! What a decode finds: observations, the line-like subjects a device shows, and the rows it
//! could not read.

use std::collections::BTreeMap;

use super::model::KeyKind;
use crate::collect::observe::{Observation, Subject};

/// What a decode found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    pub observations: Vec<Observation>,
    /// Every line-like subject seen (ONU, station, interface), with its key and labels: what
    /// line matching and the "unassigned" list start from.
    pub discovered: Vec<Discovered>,
    /// Rows that could not be read (a bad index, a missing key), for the log.
    pub problems: Vec<String>,
}

/// A line candidate as the device describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovered {
    pub subject: Subject,
    /// The stable key (serial, MAC, ifName...), when the device gives it.
    pub key: Option<(KeyKind, String)>,
    /// Other labels by role name ("name", "model", "if-alias"...).
    pub labels: Labels,
    /// Which table and row it came from: what `line watch` GETs.
    pub table: String,
    pub index: Vec<u32>,
}

/// A discovered item's labels by role name, in name order. An item has a few and a device
/// thousands of items: one small vector each, where a `BTreeMap` would allocate a node with
/// room for eleven (~460 bytes) per item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels(Vec<(&'static str, String)>);

impl Labels {
    pub fn get(&self, name: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(k, _)| (*k).cmp(name))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// Sets `name` unless it is set already (the first value found wins).
    pub fn insert_new(&mut self, name: &'static str, value: String) {
        if let Err(i) = self.0.binary_search_by(|(k, _)| (*k).cmp(name)) {
            self.0.insert(i, (name, value));
        }
    }

    /// (name, value) in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &String)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// (name, value) in name order, taken.
    pub(super) fn into_pairs(self) -> Vec<(&'static str, String)> {
        self.0
    }
}

impl FromIterator<(&'static str, String)> for Labels {
    fn from_iter<I: IntoIterator<Item = (&'static str, String)>>(iter: I) -> Labels {
        let mut labels = Labels::default();
        for (k, v) in iter {
            labels.insert_new(k, v);
        }
        labels.0.shrink_to_fit();
        labels
    }
}

impl From<BTreeMap<&'static str, String>> for Labels {
    fn from(map: BTreeMap<&'static str, String>) -> Labels {
        Labels(map.into_iter().collect())
    }
}
