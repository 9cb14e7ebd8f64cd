//! Device profiles: per vendor model, which columns to walk and how to read them, as data.
//!
//! A profile is a TOML file (`daemon/profiles/*.toml`, built into the binary; a directory
//! named in the config adds models or replaces built-in ones by id). `file.rs` reads and
//! checks the format, `model.rs` is its checked form, `walks.rs` says what to walk,
//! `decode.rs` turns walked columns into observations (reading `values` row by `row`, with
//! `entity` sensors) and what it `found`, and this module picks the profile for a device.

mod decode;
mod entity;
mod file;
mod found;
mod model;
mod row;
mod values;
mod walks;

pub use decode::{IF_DESCR, IF_NAME};
pub use file::{Problem, parse_profile};
pub use found::{Decoded, Discovered, Labels};
pub use model::*;
pub use values::{format_mac, gpon_serial_of, mac_of, reading};
pub use walks::table_from_get;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::collect::snmp::Oid;

/// How well a profile matches: (priority, conditions met, sysObjectID prefix length).
type Specificity = (i32, usize, usize);

/// The id of the profile every device falls back to.
pub const GENERIC_ID: &str = "generic-if-mib";

/// The profiles shipped with coopnoc, by file name.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "generic-if-mib.toml",
        include_str!("../../../profiles/generic-if-mib.toml"),
    ),
    (
        "aviat-wtm.toml",
        include_str!("../../../profiles/aviat-wtm.toml"),
    ),
    (
        "bdcom-gpon.toml",
        include_str!("../../../profiles/bdcom-gpon.toml"),
    ),
    (
        "calix-axos.toml",
        include_str!("../../../profiles/calix-axos.toml"),
    ),
    (
        "calix-exa.toml",
        include_str!("../../../profiles/calix-exa.toml"),
    ),
    (
        "cambium-cnwave.toml",
        include_str!("../../../profiles/cambium-cnwave.toml"),
    ),
    (
        "cambium-epmp.toml",
        include_str!("../../../profiles/cambium-epmp.toml"),
    ),
    (
        "cambium-pmp450.toml",
        include_str!("../../../profiles/cambium-pmp450.toml"),
    ),
    (
        "cdata-olt.toml",
        include_str!("../../../profiles/cdata-olt.toml"),
    ),
    (
        "ceragon-ip20.toml",
        include_str!("../../../profiles/ceragon-ip20.toml"),
    ),
    (
        "ericsson-minilink-6600.toml",
        include_str!("../../../profiles/ericsson-minilink-6600.toml"),
    ),
    (
        "ericsson-minilink-pt.toml",
        include_str!("../../../profiles/ericsson-minilink-pt.toml"),
    ),
    (
        "fiberhome-an5516.toml",
        include_str!("../../../profiles/fiberhome-an5516.toml"),
    ),
    (
        "huawei-smartax.toml",
        include_str!("../../../profiles/huawei-smartax.toml"),
    ),
    (
        "huawei-vrp.toml",
        include_str!("../../../profiles/huawei-vrp.toml"),
    ),
    (
        "mikrotik-routeros.toml",
        include_str!("../../../profiles/mikrotik-routeros.toml"),
    ),
    (
        "mimosa-b5.toml",
        include_str!("../../../profiles/mimosa-b5.toml"),
    ),
    (
        "net-snmp-linux.toml",
        include_str!("../../../profiles/net-snmp-linux.toml"),
    ),
    (
        "netonix.toml",
        include_str!("../../../profiles/netonix.toml"),
    ),
    (
        "nokia-isam.toml",
        include_str!("../../../profiles/nokia-isam.toml"),
    ),
    (
        "radwin-5000.toml",
        include_str!("../../../profiles/radwin-5000.toml"),
    ),
    (
        "raisecom-olt.toml",
        include_str!("../../../profiles/raisecom-olt.toml"),
    ),
    (
        "siae-alfoplus.toml",
        include_str!("../../../profiles/siae-alfoplus.toml"),
    ),
    (
        "siklu-etherhaul.toml",
        include_str!("../../../profiles/siklu-etherhaul.toml"),
    ),
    (
        "ubiquiti-af60.toml",
        include_str!("../../../profiles/ubiquiti-af60.toml"),
    ),
    (
        "ubiquiti-airfiber.toml",
        include_str!("../../../profiles/ubiquiti-airfiber.toml"),
    ),
    (
        "ubiquiti-airmax.toml",
        include_str!("../../../profiles/ubiquiti-airmax.toml"),
    ),
    (
        "ubiquiti-ltu.toml",
        include_str!("../../../profiles/ubiquiti-ltu.toml"),
    ),
    (
        "ubiquiti-ufiber.toml",
        include_str!("../../../profiles/ubiquiti-ufiber.toml"),
    ),
    (
        "ubiquoss-pon.toml",
        include_str!("../../../profiles/ubiquoss-pon.toml"),
    ),
    (
        "ups-mib.toml",
        include_str!("../../../profiles/ups-mib.toml"),
    ),
    (
        "vsol-v1600d.toml",
        include_str!("../../../profiles/vsol-v1600d.toml"),
    ),
    (
        "zte-c3xx.toml",
        include_str!("../../../profiles/zte-c3xx.toml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{} problem(s) in device profiles:\n{}", .0.len(), list(.0))]
    Invalid(Vec<Problem>),
    #[error("profile directory {path}: {message}")]
    Directory { path: String, message: String },
    #[error("no profile has the id \"{0}\" (see `coopnoc profiles` for the list)")]
    Unknown(String),
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every profile the daemon knows, the generic one always among them.
#[derive(Debug, Clone)]
pub struct ProfileSet {
    profiles: Vec<Arc<Profile>>,
}

/// Why a profile was chosen, for the log and the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetectedBy {
    /// The config names it.
    Forced,
    /// sysObjectID/sysDescr/probe matched.
    Matched,
    /// Nothing matched.
    Fallback,
}

#[derive(Debug, Clone)]
pub struct Detection {
    pub profile: Arc<Profile>,
    pub by: DetectedBy,
}

/// Two detections are the same when they chose the same profile the same way.
impl PartialEq for Detection {
    fn eq(&self, other: &Detection) -> bool {
        self.profile.id == other.profile.id && self.by == other.by
    }
}

impl Detection {
    /// "zte-c3xx (matched)", or for the fallback "generic IF-MIB: no specific profile matched".
    pub fn short(&self) -> String {
        match self.by {
            DetectedBy::Forced => format!("{} (set in the config)", self.profile.id),
            DetectedBy::Matched => format!("{} (matched)", self.profile.id),
            DetectedBy::Fallback => "generic IF-MIB: no specific profile matched".to_string(),
        }
    }
}

impl DetectedBy {
    pub fn as_str(&self) -> &'static str {
        match self {
            DetectedBy::Forced => "forced",
            DetectedBy::Matched => "matched",
            DetectedBy::Fallback => "fallback",
        }
    }
}

impl fmt::Display for Detection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.by {
            DetectedBy::Forced => write!(
                f,
                "profile {} ({}), set in the config",
                self.profile.id, self.profile.name
            ),
            DetectedBy::Matched => write!(
                f,
                "profile {} ({}), detected",
                self.profile.id, self.profile.name
            ),
            DetectedBy::Fallback => {
                f.write_str("no specific profile matched; using generic IF-MIB")
            }
        }
    }
}

/// What detection looks at. `probes` are the OIDs of [`ProfileSet::probe_oids`] that
/// answered with a value.
#[derive(Debug, Clone, Default)]
pub struct DetectInput<'a> {
    pub sys_object_id: Option<&'a str>,
    pub sys_descr: Option<&'a str>,
    pub probes_answered: &'a [Oid],
}

impl ProfileSet {
    /// The built-in profiles only.
    pub fn builtin() -> ProfileSet {
        match ProfileSet::from_texts(BUILTIN.iter().map(|(n, t)| (n.to_string(), t.to_string()))) {
            Ok(s) => s,
            // Built-in files are checked by the tests; a broken one must not take the daemon
            // down, so keep what parses.
            Err(_) => ProfileSet {
                profiles: BUILTIN
                    .iter()
                    .filter_map(|(n, t)| parse_profile(t, n).ok())
                    .map(|p| {
                        Arc::new(Profile {
                            source: "built-in".into(),
                            ..p
                        })
                    })
                    .collect(),
            },
        }
    }

    /// Built-in profiles, then every `*.toml` of `dir`: a file with the id of a built-in
    /// profile replaces it, any other adds a model. Every problem of every file is reported.
    pub fn load(dir: Option<&Path>) -> Result<ProfileSet, ProfileError> {
        let mut texts: Vec<(String, String)> = BUILTIN
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let builtin_count = texts.len();
        if let Some(dir) = dir {
            let err = |e: std::io::Error| ProfileError::Directory {
                path: dir.display().to_string(),
                message: e.to_string(),
            };
            let mut files: Vec<_> = std::fs::read_dir(dir)
                .map_err(err)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            for f in files {
                let text = std::fs::read_to_string(&f).map_err(err)?;
                texts.push((f.display().to_string(), text));
            }
        }
        let mut set = ProfileSet::from_texts(texts.into_iter())?;
        for (i, p) in set.profiles.iter_mut().enumerate() {
            if i < builtin_count {
                Arc::make_mut(p).source = "built-in".into();
            }
        }
        Ok(set)
    }

    /// Profiles from (source, text) pairs; a later id replaces an earlier one.
    pub fn from_texts(
        texts: impl Iterator<Item = (String, String)>,
    ) -> Result<ProfileSet, ProfileError> {
        let mut problems = Vec::new();
        let mut profiles: Vec<Arc<Profile>> = Vec::new();
        for (source, text) in texts {
            match parse_profile(&text, &source) {
                Ok(p) => match profiles.iter_mut().find(|q| q.id == p.id) {
                    Some(q) => *q = Arc::new(p),
                    None => profiles.push(Arc::new(p)),
                },
                Err(mut e) => problems.append(&mut e),
            }
        }
        resolve_extends(&mut profiles, &mut problems);
        if !profiles.iter().any(|p| p.id == GENERIC_ID) {
            problems.push(Problem {
                place: "profiles".into(),
                message: format!("the fallback profile \"{GENERIC_ID}\" is missing"),
            });
        }
        if problems.is_empty() {
            Ok(ProfileSet { profiles })
        } else {
            Err(ProfileError::Invalid(problems))
        }
    }

    pub fn all(&self) -> &[Arc<Profile>] {
        &self.profiles
    }

    pub fn get(&self, id: &str) -> Option<Arc<Profile>> {
        self.profiles.iter().find(|p| p.id == id).cloned()
    }

    pub fn generic(&self) -> Arc<Profile> {
        // `from_texts` guarantees it; `builtin()` of a broken build may not.
        self.get(GENERIC_ID).unwrap_or_else(|| {
            Arc::new(Profile {
                id: GENERIC_ID.into(),
                name: "Generic IF-MIB".into(),
                kind: ProfileKind::Host,
                extends: None,
                line_usage: LineUsage::PerLine,
                notes: None,
                detect: Detect::default(),
                tables: Vec::new(),
                source: "built-in".into(),
            })
        })
    }

    /// The OIDs detection may need answered, beyond sysObjectID and sysDescr: GET them
    /// (one request) and pass those that returned a value to [`ProfileSet::detect_with`].
    pub fn probe_oids(&self) -> Vec<Oid> {
        let mut v: Vec<Oid> = Vec::new();
        for p in &self.profiles {
            if let Some(o) = &p.detect.probe
                && !v.contains(o)
            {
                v.push(o.clone());
            }
        }
        v
    }

    /// The profile for a device from its sysObjectID and sysDescr (no probes).
    pub fn detect(
        &self,
        sys_object_id: Option<&str>,
        sys_descr: Option<&str>,
        forced: Option<&str>,
    ) -> Result<Detection, ProfileError> {
        self.detect_with(
            &DetectInput {
                sys_object_id,
                sys_descr,
                probes_answered: &[],
            },
            forced,
        )
    }

    /// Picks the profile: the forced one if any; else, among profiles whose every condition
    /// holds, the highest priority, then the most conditions, then the longest sysObjectID
    /// prefix, then file order; else the generic IF-MIB profile.
    pub fn detect_with(
        &self,
        input: &DetectInput<'_>,
        forced: Option<&str>,
    ) -> Result<Detection, ProfileError> {
        if let Some(id) = forced.filter(|f| *f != "auto") {
            return self
                .get(id)
                .map(|profile| Detection {
                    profile,
                    by: DetectedBy::Forced,
                })
                .ok_or_else(|| ProfileError::Unknown(id.to_string()));
        }
        let object_id = input.sys_object_id.and_then(|s| Oid::parse(s).ok());
        let mut best: Option<(Specificity, &Arc<Profile>)> = None;
        for p in &self.profiles {
            let d = &p.detect;
            if d.is_empty() {
                continue;
            }
            let mut conditions = 0;
            let mut prefix = 0;
            if !d.sys_object_id.is_empty() {
                let Some(o) = &object_id else { continue };
                let Some(longest) = d
                    .sys_object_id
                    .iter()
                    .filter(|pre| o.starts_with(pre))
                    .map(|pre| pre.arcs().len())
                    .max()
                else {
                    continue;
                };
                prefix = longest;
                conditions += 1;
            }
            if let Some(re) = &d.sys_descr {
                match input.sys_descr {
                    Some(s) if re.is_match(s) => conditions += 1,
                    _ => continue,
                }
            }
            if let Some(probe) = &d.probe {
                if !input.probes_answered.contains(probe) {
                    continue;
                }
                conditions += 1;
            }
            let score = (d.priority, conditions, prefix);
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, p));
            }
        }
        Ok(match best {
            Some((_, p)) => Detection {
                profile: p.clone(),
                by: DetectedBy::Matched,
            },
            None => Detection {
                profile: self.generic(),
                by: DetectedBy::Fallback,
            },
        })
    }
}

/// Appends to each profile the tables of the profiles it extends (transitively), its own
/// tables of the same name winning.
fn resolve_extends(profiles: &mut [Arc<Profile>], problems: &mut Vec<Problem>) {
    let originals: Vec<Arc<Profile>> = profiles.to_vec();
    for p in profiles.iter_mut() {
        let mut chain = vec![p.id.clone()];
        let mut next = p.extends.clone();
        let mut extra: Vec<TableSpec> = Vec::new();
        while let Some(base_id) = next {
            if chain.contains(&base_id) {
                problems.push(Problem {
                    place: format!("{}: extends", p.source),
                    message: format!("a loop: {} -> {base_id}", chain.join(" -> ")),
                });
                break;
            }
            let Some(base) = originals.iter().find(|q| q.id == base_id) else {
                problems.push(Problem {
                    place: format!("{}: extends", p.source),
                    message: format!("no profile has the id \"{base_id}\""),
                });
                break;
            };
            for t in &base.tables {
                if !p.tables.iter().any(|own| own.name == t.name)
                    && !extra.iter().any(|x| x.name == t.name)
                {
                    extra.push(t.clone());
                }
            }
            chain.push(base_id);
            next = base.extends.clone();
        }
        if !extra.is_empty() {
            Arc::make_mut(p).tables.extend(extra);
        }
    }
}

#[cfg(test)]
mod tests;
