//! From the file (`super::file`) to the checked `Config`: every problem found, with its place
//! (`device[3] (line 31).address: ...`), nothing given up at the first one. The sections are
//! checked in `daemon` (daemon, http, ctl, poll, lines, retention), `devices` (devices and
//! their SNMP settings) and `outputs` (smtp, mqtt, reports).

mod daemon;
mod devices;
pub(super) mod outputs;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use super::file::*;
use super::*;

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

pub(super) struct Validator<'a> {
    pub text: &'a str,
    pub base: &'a Path,
    pub problems: Vec<Problem>,
}

/// Names that end up in metric labels, MQTT topics and URLs.
fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

impl Validator<'_> {
    fn problem(&mut self, place: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            place: place.into(),
            message: message.into(),
        });
    }

    /// `device[2] (line 31)`: an entry of an array of tables, with its line.
    fn entry(&self, table: &str, index: usize, span: std::ops::Range<usize>) -> String {
        format!("{table}[{index}] (line {})", line_of(self.text, span.start))
    }

    fn duration(&mut self, place: &str, given: Option<&String>, default: &str) -> Duration {
        let text = given.map(String::as_str).unwrap_or(default);
        match parse_duration(text) {
            Ok(d) => d,
            Err(e) => {
                self.problem(place, e);
                parse_duration(default).unwrap_or_default()
            }
        }
    }

    /// A secret given inline or as a file (`community` / `community-file`).
    fn secret(
        &mut self,
        place: &str,
        key: &str,
        inline: Option<&String>,
        file: Option<&String>,
    ) -> Option<Secret> {
        match (inline, file) {
            (Some(_), Some(_)) => {
                self.problem(place, format!("give either {key} or {key}-file, not both"));
                None
            }
            (Some(v), None) => Some(Secret::new(v.clone())),
            (None, Some(path)) => {
                let full = self.base.join(path);
                match std::fs::read_to_string(&full) {
                    Ok(s) => {
                        let value = s.trim_end_matches(['\n', '\r']).to_string();
                        if value.is_empty() {
                            self.problem(
                                format!("{place}.{key}-file"),
                                format!("{} is empty", full.display()),
                            );
                        }
                        Some(Secret::new(value))
                    }
                    Err(e) => {
                        self.problem(
                            format!("{place}.{key}-file"),
                            format!("cannot read {}: {e}", full.display()),
                        );
                        None
                    }
                }
            }
            (None, None) => None,
        }
    }

    pub(super) fn config(&mut self, f: ConfigFile) -> Config {
        let daemon = self.daemon(&f.daemon);
        let http = self.http(&f.http);
        let ctl = self.ctl(&f.ctl);
        let poll_defaults = self.poll("poll", &f.poll, None);
        let lines = self.lines(&f.lines);
        let retention = self.retention(&f.retention);

        let (sites, site_names) = self.sites(&f.sites);
        let devices = self.devices(&f.devices, &f.poll, &site_names);
        let components = self.components(&f.components, &f.devices);

        let smtp = f.smtp.as_ref().map(|s| self.smtp(s.get_ref()));
        let mqtt = f.mqtt.as_ref().map(|m| self.mqtt(m.get_ref()));
        let reports = self.reports(f.reports.as_ref().map(|r| r.get_ref()), smtp.is_some());

        Config {
            source: None,
            daemon,
            http,
            ctl,
            lines,
            retention,
            sites,
            devices,
            components,
            smtp,
            mqtt,
            reports,
            poll: poll_defaults,
        }
    }

    /// `[[site]]`: names unique and fit for URLs, coordinates on Earth.
    fn sites(&mut self, given: &[toml::Spanned<SiteFile>]) -> (Vec<Site>, HashSet<String>) {
        let mut site_names = HashSet::new();
        let mut sites = Vec::new();
        for (i, s) in given.iter().enumerate() {
            let place = self.entry("site", i, s.span());
            let s = s.get_ref();
            if !is_identifier(&s.name) {
                self.problem(
                    format!("{place}.name"),
                    format!(
                        "\"{}\" must be 1-64 characters of a-z, 0-9, '-', '_' or '.' (it names the site in URLs and feeds)",
                        s.name
                    ),
                );
            }
            if !site_names.insert(s.name.clone()) {
                self.problem(
                    format!("{place}.name"),
                    format!("site \"{}\" is defined twice", s.name),
                );
            }
            if let Some(lat) = s.latitude
                && !(-90.0..=90.0).contains(&lat)
            {
                self.problem(
                    format!("{place}.latitude"),
                    format!("{lat} is not between -90 and 90"),
                );
            }
            if let Some(lon) = s.longitude
                && !(-180.0..=180.0).contains(&lon)
            {
                self.problem(
                    format!("{place}.longitude"),
                    format!("{lon} is not between -180 and 180"),
                );
            }
            sites.push(Site {
                name: s.name.clone(),
                description: s.description.clone(),
                latitude: s.latitude,
                longitude: s.longitude,
            });
        }

        (sites, site_names)
    }

    /// `[[device]]`, each once.
    fn devices(
        &mut self,
        given: &[toml::Spanned<DeviceFile>],
        poll: &PollFile,
        site_names: &HashSet<String>,
    ) -> Vec<Device> {
        let mut device_names = HashSet::new();
        let mut devices = Vec::new();
        for (i, d) in given.iter().enumerate() {
            let place = self.entry("device", i, d.span());
            if let Some(dev) = self.device(&place, d.get_ref(), poll, site_names) {
                if !device_names.insert(dev.name.clone()) {
                    self.problem(
                        format!("{place}.name"),
                        format!("device \"{}\" is defined twice", dev.name),
                    );
                }
                devices.push(dev);
            }
        }

        devices
    }

    /// `[[component]]`: ids unique and fit for URLs, devices that exist, probes that work.
    fn components(
        &mut self,
        given: &[toml::Spanned<ComponentFile>],
        devices: &[toml::Spanned<DeviceFile>],
    ) -> Vec<Component> {
        let mut component_ids = HashSet::new();
        let mut components = Vec::new();
        for (i, c) in given.iter().enumerate() {
            let place = self.entry("component", i, c.span());
            let c = c.get_ref();
            if !is_identifier(&c.id) {
                self.problem(
                    format!("{place}.id"),
                    format!("\"{}\" must be 1-64 characters of a-z, 0-9, '-', '_' or '.' (it is the component's stable id in URLs, feeds and MQTT topics)", c.id),
                );
            }
            if !component_ids.insert(c.id.clone()) {
                self.problem(
                    format!("{place}.id"),
                    format!("component \"{}\" is defined twice", c.id),
                );
            }
            for (j, dev) in c.devices.iter().enumerate() {
                if !devices.iter().any(|d| &d.get_ref().name == dev) {
                    self.problem(
                        format!("{place}.devices[{j}]"),
                        format!("no device is named \"{dev}\""),
                    );
                }
            }
            let probes = c
                .probes
                .iter()
                .enumerate()
                .filter_map(|(j, p)| self.probe(&format!("{place}.probes[{j}]"), p))
                .collect();
            if c.devices.is_empty() && c.probes.is_empty() {
                self.problem(
                    place.clone(),
                    "a component needs at least one device or probe to compute its state from",
                );
            }
            components.push(Component {
                id: c.id.clone(),
                name: c.name.clone(),
                group: c.group.clone(),
                description: c.description.clone(),
                devices: c.devices.clone(),
                probes,
            });
        }

        components
    }

    /// One probe of a component.
    fn probe(&mut self, pp: &str, p: &ProbeFile) -> Option<Probe> {
        let interval = self.duration(&format!("{pp}.interval"), p.interval.as_ref(), "60s");
        let timeout = self.duration(&format!("{pp}.timeout"), p.timeout.as_ref(), "5s");
        self.at_least(
            &format!("{pp}.interval"),
            interval,
            5 * SECOND,
            "a probe is a check, not a load test",
        );
        self.within(
            &format!("{pp}.timeout"),
            timeout,
            Duration::from_millis(100),
            60 * SECOND,
        );
        if timeout >= interval && interval >= 5 * SECOND {
            self.problem(
                format!("{pp}.timeout"),
                "must be shorter than the probe's interval",
            );
        }
        let kind = match (&p.tcp, &p.http) {
            (Some(t), None) => self
                .target(&format!("{pp}.tcp"), t, None)
                .map(ProbeKind::Tcp),
            (None, Some(u)) => {
                if u.starts_with("http://") || u.starts_with("https://") {
                    Some(ProbeKind::Http(u.clone()))
                } else {
                    self.problem(
                        format!("{pp}.http"),
                        format!("\"{u}\" is not an http:// or https:// URL"),
                    );
                    None
                }
            }
            _ => {
                self.problem(
                    pp.to_string(),
                    "a probe needs exactly one of tcp = \"host:port\" or http = \"URL\"",
                );
                None
            }
        };
        kind.map(|kind| Probe {
            kind,
            interval,
            timeout,
        })
    }
}
