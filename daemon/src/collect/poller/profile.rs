//! Device profiles as data: which objects to read, in what role, on which schedule.
//!
//! The generic IF-MIB profile ships inside the binary (`poller/generic-if-mib.toml`); vendor
//! profiles (OLTs, radios) are more files of the same shape.

use serde::Deserialize;

use crate::collect::snmp::Oid;

/// What a value means to coopnoc. Vendor profiles add roles (optics, radio, ONU state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    SysDescr,
    SysObjectId,
    SysName,
    SysUpTime,
    IfName,
    IfDescr,
    IfAlias,
    IfType,
    IfOperStatus,
    /// 64-bit counters when the role has no `-32` suffix.
    IfInOctets,
    IfOutOctets,
    #[serde(rename = "if-in-octets-32")]
    IfInOctets32,
    #[serde(rename = "if-out-octets-32")]
    IfOutOctets32,
    IfSpeedMbps,
    IfSpeedBps,
    IfCounterDiscontinuity,
}

/// When an object is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// Status and counters (`status-interval`, 60 s by default).
    Status,
    /// Names and descriptions (`labels-interval`, 6 h, and after a reboot).
    Labels,
    /// Slow metrics such as per-ONU optics (`slow-interval`), only with `optics = true`.
    Slow,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ProfileFile {
    name: String,
    description: String,
    object: Vec<ObjectFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ObjectFile {
    role: Role,
    oid: String,
    schedule: Schedule,
    index: Option<String>,
    fallback_for: Option<Role>,
}

/// One object a profile reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub role: Role,
    pub oid: Oid,
    pub schedule: Schedule,
    /// The index space of a column (`None` = a scalar, read with GET).
    pub index: Option<String>,
    /// Read only when the device lacks this role's primary object.
    pub fallback_for: Option<Role>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub objects: Vec<Object>,
}

#[derive(Debug, thiserror::Error)]
#[error("profile {file}: {message}")]
pub struct ProfileError {
    pub file: String,
    pub message: String,
}

impl Profile {
    /// Parses a profile file, reporting every bad OID at once.
    pub fn parse(file: &str, text: &str) -> Result<Profile, ProfileError> {
        let err = |message: String| ProfileError {
            file: file.to_string(),
            message,
        };
        let raw: ProfileFile = toml::from_str(text).map_err(|e| err(format!("{e}")))?;
        let mut problems = Vec::new();
        let mut objects = Vec::new();
        for (i, o) in raw.object.into_iter().enumerate() {
            match Oid::parse(&o.oid) {
                Ok(oid) => objects.push(Object {
                    role: o.role,
                    oid,
                    schedule: o.schedule,
                    index: o.index,
                    fallback_for: o.fallback_for,
                }),
                Err(e) => problems.push(format!("object[{i}].oid: {e}")),
            }
        }
        if !problems.is_empty() {
            return Err(err(problems.join("; ")));
        }
        Ok(Profile {
            name: raw.name,
            description: raw.description,
            objects,
        })
    }

    /// The profile every SNMP device gets until vendor profiles exist.
    pub fn generic() -> Profile {
        const TEXT: &str = include_str!("generic-if-mib.toml");
        match Profile::parse("generic-if-mib.toml", TEXT) {
            Ok(p) => p,
            // The file is part of the binary and tested below: this cannot happen at run time.
            Err(e) => panic!("built-in profile is broken: {e}"),
        }
    }

    pub fn scalars(&self, schedule: Schedule) -> impl Iterator<Item = &Object> {
        self.objects
            .iter()
            .filter(move |o| o.schedule == schedule && o.index.is_none())
    }

    pub fn columns(&self, schedule: Schedule) -> impl Iterator<Item = &Object> {
        self.objects
            .iter()
            .filter(move |o| o.schedule == schedule && o.index.is_some())
    }

    pub fn has(&self, schedule: Schedule) -> bool {
        self.objects.iter().any(|o| o.schedule == schedule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generic_profile_parses_and_has_what_the_poller_needs() {
        let p = Profile::generic();
        assert_eq!(p.name, "generic-if-mib");
        let roles: Vec<Role> = p.objects.iter().map(|o| o.role).collect();
        for r in [
            Role::SysUpTime,
            Role::IfName,
            Role::IfOperStatus,
            Role::IfInOctets,
            Role::IfInOctets32,
        ] {
            assert!(roles.contains(&r), "{r:?}");
        }
        assert_eq!(p.scalars(Schedule::Status).count(), 1);
        assert!(!p.has(Schedule::Slow));
    }

    #[test]
    fn a_bad_profile_is_refused_with_every_problem() {
        let text = "name = \"x\"\ndescription = \"y\"\n[[object]]\nrole = \"if-name\"\noid = \"1.x\"\nschedule = \"labels\"\n[[object]]\nrole = \"if-descr\"\noid = \"\"\nschedule = \"labels\"\n";
        let e = Profile::parse("x.toml", text).expect_err("bad OIDs");
        assert!(
            e.message.contains("object[0]") && e.message.contains("object[1]"),
            "{e}"
        );
        let e = Profile::parse("x.toml", "name = \"x\"\ndescription = \"y\"\nobjekt = []\n")
            .expect_err("typo");
        assert!(e.to_string().contains("objekt"), "{e}");
    }
}
