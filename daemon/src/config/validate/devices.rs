//! `[[device]]`: where to poll it, with which SNMP settings, and its own `poll`.

use super::super::file::*;
use super::super::*;
use super::{Validator, is_identifier};

impl Validator<'_> {
    pub(super) fn target(
        &mut self,
        place: &str,
        text: &str,
        default_port: Option<u16>,
    ) -> Option<Target> {
        let bad = |v: &mut Self| {
            v.problem(
                place,
                format!(
                    "\"{text}\" is not a host{} (for example 192.0.2.10{}, olt.example.coop or [2001:db8::1]:161)",
                    if default_port.is_some() { " or host:port" } else { ":port" },
                    if default_port.is_some() { "" } else { ":443" }
                ),
            );
            None
        };
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let Some((h, after)) = rest.split_once(']') else {
                return bad(self);
            };
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().ok(),
                None if after.is_empty() => default_port,
                None => None,
            };
            (h.to_string(), port)
        } else if text.matches(':').count() > 1 {
            // A bare IPv6 address: no port possible.
            (text.to_string(), default_port)
        } else if let Some((h, p)) = text.rsplit_once(':') {
            (h.to_string(), p.parse().ok())
        } else {
            (text.to_string(), default_port)
        };
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
        match port {
            Some(port) if host_ok && port != 0 => Some(Target { host, port }),
            _ => bad(self),
        }
    }

    pub(super) fn device(
        &mut self,
        place: &str,
        d: &DeviceFile,
        global_poll: &PollFile,
        sites: &HashSet<String>,
    ) -> Option<Device> {
        if !is_identifier(&d.name) {
            self.problem(
                format!("{place}.name"),
                format!("\"{}\" must be 1-64 characters of a-z, 0-9, '-', '_' or '.' (it names the device in metrics and feeds)", d.name),
            );
        }
        let place = format!("{place} \"{}\"", d.name);
        if let Some(site) = &d.site
            && !sites.contains(site)
        {
            self.problem(
                format!("{place}.site"),
                format!("no [[site]] is named \"{site}\""),
            );
        }
        let kind = match DeviceKind::ALL.iter().find(|(s, _)| *s == d.kind) {
            Some((_, k)) => *k,
            None => {
                self.problem(
                    format!("{place}.kind"),
                    format!(
                        "\"{}\" is not one of olt, radio, switch, ups, router, local",
                        d.kind
                    ),
                );
                return None;
            }
        };
        let poll = self.poll(
            &format!("{place}.poll"),
            d.poll.as_ref().unwrap_or(&PollFile::default()),
            Some(global_poll),
        );
        let profile = match d.profile.as_deref() {
            None | Some("auto") => None,
            Some(p) => Some(p.to_string()),
        };
        if kind == DeviceKind::Local {
            if d.address.is_some() || d.snmp.is_some() {
                self.problem(place.clone(), "a device of kind \"local\" is read over netlink: it takes interfaces = [...], not address or snmp");
            }
            let interfaces = d.interfaces.clone().unwrap_or_default();
            if interfaces.is_empty() {
                self.problem(format!("{place}.interfaces"), "list the interfaces to watch, by name or pattern (for example [\"eth0\", \"wan*\"])");
            }
            return Some(Device {
                name: d.name.clone(),
                site: d.site.clone(),
                kind,
                enabled: d.enabled.unwrap_or(true),
                target: None,
                profile,
                snmp: None,
                poll,
                interfaces,
            });
        }
        if d.interfaces.is_some() {
            self.problem(
                format!("{place}.interfaces"),
                "only devices of kind \"local\" take interfaces (SNMP devices report theirs)",
            );
        }
        let target = match &d.address {
            Some(a) => self.target(&format!("{place}.address"), a, Some(defaults::SNMP_PORT)),
            None => {
                self.problem(
                    format!("{place}.address"),
                    "missing: where to reach the device's SNMP agent (host or host:port)",
                );
                None
            }
        };
        let snmp = match &d.snmp {
            Some(s) => self.snmp(&format!("{place}.snmp"), s),
            None => {
                self.problem(format!("{place}.snmp"), "missing: give snmp = { version = \"2c\", community-file = \"...\" } or a v3 user");
                None
            }
        };
        Some(Device {
            name: d.name.clone(),
            site: d.site.clone(),
            kind,
            enabled: d.enabled.unwrap_or(true),
            target,
            profile,
            snmp,
            poll,
            interfaces: Vec::new(),
        })
    }

    pub(super) fn snmp(&mut self, place: &str, s: &SnmpFile) -> Option<SnmpCredentials> {
        let version = s.version.as_deref().unwrap_or("2c");
        match version {
            "1" | "2c" => self.community(place, s, version),
            "3" => self.usm(place, s),
            other => {
                self.problem(
                    format!("{place}.version"),
                    format!("\"{other}\" is not one of \"1\", \"2c\", \"3\""),
                );
                None
            }
        }
    }

    /// SNMP v1 and v2c: a community, and no v3 setting.
    fn community(&mut self, place: &str, s: &SnmpFile, version: &str) -> Option<SnmpCredentials> {
        let v3_keys = s.user.is_some()
            || s.auth_protocol.is_some()
            || s.auth_password.is_some()
            || s.auth_password_file.is_some()
            || s.priv_protocol.is_some()
            || s.priv_password.is_some()
            || s.priv_password_file.is_some();
        if v3_keys {
            self.problem(
                place,
                format!(
                    "user, auth-* and priv-* are SNMPv3 settings, but version is \"{version}\""
                ),
            );
        }
        let community = self.secret(
            place,
            "community",
            s.community.as_ref(),
            s.community_file.as_ref(),
        );
        let Some(community) = community else {
            if s.community.is_none() && s.community_file.is_none() {
                self.problem(
                    place,
                    format!("SNMP v{version} needs community or community-file"),
                );
            }
            return None;
        };
        Some(if version == "1" {
            SnmpCredentials::V1 { community }
        } else {
            SnmpCredentials::V2c { community }
        })
    }

    /// SNMPv3: a USM user, its authentication and privacy.
    fn usm(&mut self, place: &str, s: &SnmpFile) -> Option<SnmpCredentials> {
        if s.community.is_some() || s.community_file.is_some() {
            self.problem(
                place,
                "community is for SNMP v1/v2c; SNMPv3 uses user, auth-* and priv-*",
            );
        }
        let Some(user) = s.user.clone().filter(|u| !u.is_empty()) else {
            self.problem(format!("{place}.user"), "SNMPv3 needs a user");
            return None;
        };
        let auth = self.auth(place, s);
        let privacy = self.privacy(place, s);
        if s.priv_protocol.is_some() && s.auth_protocol.is_none() {
            self.problem(
                place,
                "privacy (priv-*) needs authentication (auth-*) too: USM has no noAuthPriv",
            );
        }
        Some(SnmpCredentials::V3(UsmUser {
            user,
            auth,
            privacy,
            context: s.context.clone(),
        }))
    }

    /// auth-protocol and its password.
    fn auth(&mut self, place: &str, s: &SnmpFile) -> Option<(AuthProtocol, Secret)> {
        let auth_secret = self.secret(
            place,
            "auth-password",
            s.auth_password.as_ref(),
            s.auth_password_file.as_ref(),
        );
        match (&s.auth_protocol, auth_secret) {
            (None, None) => None,
            (Some(p), Some(secret)) => {
                let proto = match p.as_str() {
                    "md5" => Some(AuthProtocol::Md5),
                    "sha" | "sha1" => Some(AuthProtocol::Sha1),
                    "sha224" => Some(AuthProtocol::Sha224),
                    "sha256" => Some(AuthProtocol::Sha256),
                    "sha384" => Some(AuthProtocol::Sha384),
                    "sha512" => Some(AuthProtocol::Sha512),
                    _ => {
                        self.problem(
                            format!("{place}.auth-protocol"),
                            format!(
                                "\"{p}\" is not one of md5, sha1, sha224, sha256, sha384, sha512"
                            ),
                        );
                        None
                    }
                };
                if secret.len() < 8 {
                    self.problem(
                        format!("{place}.auth-password"),
                        "must be at least 8 characters (RFC 3414)",
                    );
                }
                proto.map(|p| (p, secret))
            }
            (Some(_), None) => {
                self.problem(
                    place,
                    "auth-protocol needs auth-password or auth-password-file",
                );
                None
            }
            (None, Some(_)) => {
                self.problem(
                    format!("{place}.auth-protocol"),
                    "missing: say which hash the auth password is for (sha256, sha1...)",
                );
                None
            }
        }
    }

    /// priv-protocol and its password.
    fn privacy(&mut self, place: &str, s: &SnmpFile) -> Option<(PrivProtocol, Secret)> {
        let priv_secret = self.secret(
            place,
            "priv-password",
            s.priv_password.as_ref(),
            s.priv_password_file.as_ref(),
        );
        match (&s.priv_protocol, priv_secret) {
            (None, None) => None,
            (Some(p), Some(secret)) => {
                let proto = match p.as_str() {
                    "des" => Some(PrivProtocol::Des),
                    "aes" | "aes128" => Some(PrivProtocol::Aes128),
                    "aes192" => Some(PrivProtocol::Aes192),
                    "aes256" => Some(PrivProtocol::Aes256),
                    _ => {
                        self.problem(
                            format!("{place}.priv-protocol"),
                            format!("\"{p}\" is not one of des, aes128, aes192, aes256"),
                        );
                        None
                    }
                };
                if secret.len() < 8 {
                    self.problem(
                        format!("{place}.priv-password"),
                        "must be at least 8 characters (RFC 3414)",
                    );
                }
                proto.map(|p| (p, secret))
            }
            (Some(_), None) => {
                self.problem(
                    place,
                    "priv-protocol needs priv-password or priv-password-file",
                );
                None
            }
            (None, Some(_)) => {
                self.problem(
                    format!("{place}.priv-protocol"),
                    "missing: say which cipher the priv password is for (aes128...)",
                );
                None
            }
        }
    }
}
