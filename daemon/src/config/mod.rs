//! Configuration in two layers: the file schema (`file`, exactly what the TOML says) and the
//! checked runtime `Config` built by `validate()`, which reports every problem at once with
//! its place. `load()` is the one loader: the daemon, `coopnoc validate` and the tests use it.

mod duration;
mod file;
mod secret;

pub use duration::{format_duration, parse_duration};
pub use secret::Secret;

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use file::*;

/// Defaults, in one place. `config/example.toml` shows the same values.
pub mod defaults {
    pub const STATE_DIRECTORY: &str = "/var/lib/coopnoc";
    pub const LOG_LEVEL: &str = "info";
    pub const COOPERATIVE_NAME: &str = "Our cooperative";
    pub const SHUTDOWN_TIMEOUT: &str = "10s";
    pub const HTTP_LISTEN: &str = "127.0.0.1:9330";
    pub const CTL_SOCKET: &str = "/run/coopnoc/ctl.sock";
    /// Anyone may connect; the daemon decides what each may do from their Unix groups.
    pub const CTL_MODE: u32 = 0o666;
    pub const CTL_TECHNICIANS: &str = "coopnoc-tech";
    pub const CTL_ADMINISTRATORS: &str = "coopnoc-admin";
    pub const CTL_MAX_CONNECTIONS: u32 = 32;
    /// From a request's first byte to its last.
    pub const CTL_REQUEST_TIMEOUT: &str = "10s";
    /// A connection with no request for this long is closed.
    pub const CTL_IDLE_TIMEOUT: &str = "60s";
    pub const STATUS_INTERVAL: &str = "60s";
    pub const LABELS_INTERVAL: &str = "6h";
    pub const SLOW_INTERVAL: &str = "30m";
    pub const OPTICS: bool = false;
    pub const TIMEOUT: &str = "2s";
    pub const RETRIES: u32 = 2;
    pub const MAX_REPETITIONS: u32 = 10;
    pub const WINDOW: u32 = 1;
    pub const UNREACHABLE_AFTER: u32 = 3;
    pub const UNREACHABLE_INTERVAL: &str = "5m";
    pub const OPTICAL_RX_MIN_DBM: f64 = -27.0;
    pub const OPTICAL_RX_MAX_DBM: f64 = -8.0;
    pub const RADIO_SIGNAL_MIN_DBM: f64 = -75.0;
    pub const RADIO_SNR_MIN_DB: f64 = 15.0;
    pub const HYSTERESIS: u32 = 3;
    pub const FLAP_WINDOW: &str = "1h";
    /// State changes within the flap window that make a line "flapping".
    pub const FLAP_COUNT: u32 = 4;
    /// Hourly optical and radio levels per line.
    pub const RETENTION_LEVELS: &str = "35d";
    pub const RETENTION_FINE: &str = "35d";
    pub const RETENTION_DAILY: &str = "400d";
    pub const RETENTION_MONTHLY_AFTER: &str = "1y";
    pub const RETENTION_EVENTS: &str = "400d";
    pub const SNMP_PORT: u16 = 161;
    pub const SMTP_PER_MINUTE: u32 = 30;
    pub const SMTP_TIMEOUT: &str = "30s";
    pub const MQTT_TOPIC_PREFIX: &str = "coopnoc";
    pub const MQTT_CLIENT_ID: &str = "coopnocd";
    pub const MQTT_KEEP_ALIVE: &str = "30s";
    pub const REPORT_LANGUAGE: &str = "fr";
    pub const REPORT_SEND_DAY: u8 = 2;
    pub const REPORT_SEND_HOUR: u8 = 9;
    /// ARCEP/ADEME average for fixed networks (g CO2e per GB), stated with the method in reports.
    pub const CO2E_GRAMS_PER_GB: f64 = 7.6;
    pub const EVENING_PEAK: &str = "19:00-23:00";
}

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86400);

/// Languages the member reports ship in.
pub const REPORT_LANGUAGES: &[&str] = &["fr", "en"];

// ---------------------------------------------------------------------------------------------
// The checked configuration.

#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from, for reloads and messages.
    pub source: Option<PathBuf>,
    pub daemon: DaemonConfig,
    pub http: HttpConfig,
    pub ctl: CtlConfig,
    /// The global `[poll]` settings (each device has its own, merged copy).
    pub poll: PollConfig,
    pub lines: LineThresholds,
    pub retention: RetentionConfig,
    pub sites: Vec<Site>,
    pub devices: Vec<Device>,
    pub components: Vec<Component>,
    pub smtp: Option<SmtpConfig>,
    pub mqtt: Option<MqttConfig>,
    pub reports: ReportsConfig,
}

#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub state_directory: PathBuf,
    pub log_level: String,
    pub time_zone_name: String,
    pub time_zone: jiff::tz::TimeZone,
    pub cooperative_name: String,
    pub shutdown_timeout: Duration,
    /// More device profiles (`*.toml`), beside the built-in ones; a file with the id of a
    /// built-in profile replaces it.
    pub profile_directory: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub enabled: bool,
    pub listen: SocketAddr,
}

#[derive(Debug, Clone)]
pub struct CtlConfig {
    pub socket: PathBuf,
    pub mode: u32,
    /// Unix groups whose members are technicians, and administrators. root and the daemon's
    /// own user are administrators whatever the groups.
    pub technicians: Vec<String>,
    pub administrators: Vec<String>,
    /// Connections served at once; more are refused with a "busy" answer.
    pub max_connections: usize,
    /// The longest a request may take to arrive, from its first byte to its last.
    pub request_timeout: Duration,
    /// A connection with no request for this long is closed.
    pub idle_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PollConfig {
    pub status_interval: Duration,
    pub labels_interval: Duration,
    pub slow_interval: Duration,
    pub optics: bool,
    pub timeout: Duration,
    pub retries: u32,
    pub max_repetitions: u32,
    pub window: u32,
    pub unreachable_after: u32,
    pub unreachable_interval: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LineThresholds {
    pub optical_rx_min_dbm: f64,
    pub optical_rx_max_dbm: f64,
    pub radio_signal_min_dbm: f64,
    pub radio_snr_min_db: f64,
    pub hysteresis: u32,
    pub flap_window: Duration,
    pub flap_count: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RetentionConfig {
    pub fine_buckets: Duration,
    pub daily_per_line: Duration,
    pub monthly_after_membership: Duration,
    pub events: Duration,
    pub levels: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub name: String,
    pub description: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    Olt,
    Radio,
    Switch,
    Ups,
    Router,
    Local,
}

impl DeviceKind {
    pub const ALL: &'static [(&'static str, DeviceKind)] = &[
        ("olt", DeviceKind::Olt),
        ("radio", DeviceKind::Radio),
        ("switch", DeviceKind::Switch),
        ("ups", DeviceKind::Ups),
        ("router", DeviceKind::Router),
        ("local", DeviceKind::Local),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(s, _)| *s)
            .unwrap_or("?")
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub name: String,
    pub site: Option<String>,
    pub kind: DeviceKind,
    pub enabled: bool,
    /// Where to poll it: SNMP devices only (`None` for `local`).
    pub target: Option<Target>,
    /// `None` = detect from sysObjectID/sysDescr.
    pub profile: Option<String>,
    pub snmp: Option<SnmpCredentials>,
    pub poll: PollConfig,
    /// For `local`: interface names or glob patterns.
    pub interfaces: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnmpCredentials {
    V1 { community: Secret },
    V2c { community: Secret },
    V3(UsmUser),
}

impl SnmpCredentials {
    pub fn version(&self) -> &'static str {
        match self {
            SnmpCredentials::V1 { .. } => "1",
            SnmpCredentials::V2c { .. } => "2c",
            SnmpCredentials::V3(_) => "3",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsmUser {
    pub user: String,
    pub auth: Option<(AuthProtocol, Secret)>,
    pub privacy: Option<(PrivProtocol, Secret)>,
    pub context: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthProtocol {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivProtocol {
    Des,
    Aes128,
    Aes192,
    Aes256,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub group: Option<String>,
    pub description: Option<String>,
    pub devices: Vec<String>,
    pub probes: Vec<Probe>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub kind: ProbeKind,
    pub interval: Duration,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProbeKind {
    Tcp(Target),
    Http(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    None,
    StartTls,
    Tls,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub reply_to: Option<String>,
    pub per_minute: u32,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub topic_prefix: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub tls: bool,
    pub keep_alive: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReportsConfig {
    pub enabled: bool,
    pub default_language: String,
    pub template_directory: Option<PathBuf>,
    pub send_day: u8,
    pub send_hour: u8,
    pub co2e_grams_per_gb: f64,
    pub co2e_method: Option<String>,
    /// Local time of day, minutes since midnight: [start, end).
    pub evening_peak: (u16, u16),
}

// ---------------------------------------------------------------------------------------------
// Problems.

/// One thing wrong in a config file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub place: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// Everything wrong with a config file, reported at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "{}: {n} problem{} in the configuration:",
            self.file,
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

/// Reads and checks a config file. The one loader the daemon, the CLI and the tests use.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        problems: vec![Problem {
            place: "file".into(),
            message: format!("cannot be read: {e}"),
        }],
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut config = parse(&text, &base).map_err(|problems| ConfigError { file, problems })?;
    config.source = Some(path.to_path_buf());
    Ok(config)
}

/// Parses and checks config text. Relative secret files are read from `base`.
pub fn parse(text: &str, base: &Path) -> Result<Config, Vec<Problem>> {
    let file: ConfigFile = toml::from_str(text).map_err(|e| {
        // toml's Display gives line, column and a caret under the mistake.
        vec![Problem {
            place: match e.span() {
                Some(span) => format!("line {}", line_of(text, span.start)),
                None => "file".into(),
            },
            message: e.to_string().trim_end().to_string(),
        }]
    })?;
    let mut v = Validator {
        text,
        base,
        problems: Vec::new(),
    };
    let config = v.config(file);
    if v.problems.is_empty() {
        Ok(config)
    } else {
        Err(v.problems)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

struct Validator<'a> {
    text: &'a str,
    base: &'a Path,
    problems: Vec<Problem>,
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

    fn config(&mut self, f: ConfigFile) -> Config {
        let daemon = self.daemon(&f.daemon);
        let http = self.http(&f.http);
        let ctl = self.ctl(&f.ctl);
        let poll_defaults = self.poll("poll", &f.poll, None);
        let lines = self.lines(&f.lines);
        let retention = self.retention(&f.retention);

        let mut site_names = HashSet::new();
        let mut sites = Vec::new();
        for (i, s) in f.sites.iter().enumerate() {
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

        let mut device_names = HashSet::new();
        let mut devices = Vec::new();
        for (i, d) in f.devices.iter().enumerate() {
            let place = self.entry("device", i, d.span());
            if let Some(dev) = self.device(&place, d.get_ref(), &f.poll, &site_names) {
                if !device_names.insert(dev.name.clone()) {
                    self.problem(
                        format!("{place}.name"),
                        format!("device \"{}\" is defined twice", dev.name),
                    );
                }
                devices.push(dev);
            }
        }

        let mut component_ids = HashSet::new();
        let mut components = Vec::new();
        for (i, c) in f.components.iter().enumerate() {
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
                if !f.devices.iter().any(|d| &d.get_ref().name == dev) {
                    self.problem(
                        format!("{place}.devices[{j}]"),
                        format!("no device is named \"{dev}\""),
                    );
                }
            }
            let mut probes = Vec::new();
            for (j, p) in c.probes.iter().enumerate() {
                let pp = format!("{place}.probes[{j}]");
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
                            pp.clone(),
                            "a probe needs exactly one of tcp = \"host:port\" or http = \"URL\"",
                        );
                        None
                    }
                };
                if let Some(kind) = kind {
                    probes.push(Probe {
                        kind,
                        interval,
                        timeout,
                    });
                }
            }
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

    fn daemon(&mut self, d: &DaemonFile) -> DaemonConfig {
        let log_level = d
            .log_level
            .clone()
            .unwrap_or_else(|| defaults::LOG_LEVEL.into());
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            self.problem(
                "daemon.log-level",
                format!("\"{log_level}\" is not a level (error, warn, info, debug, trace) or a filter such as \"info,coopnocd::snmp=debug\""),
            );
        }
        let (time_zone_name, time_zone) = match &d.time_zone {
            Some(name) => match jiff::tz::TimeZone::get(name) {
                Ok(tz) => (name.clone(), tz),
                Err(e) => {
                    self.problem("daemon.time-zone", format!("\"{name}\" is not a known time zone (for example \"Europe/Paris\"): {e}"));
                    ("UTC".into(), jiff::tz::TimeZone::UTC)
                }
            },
            None => {
                let tz = jiff::tz::TimeZone::system();
                (tz.iana_name().unwrap_or("UTC").to_string(), tz)
            }
        };
        let profile_directory = d.profile_directory.as_ref().and_then(|dir| {
            if dir.trim().is_empty() {
                self.problem(
                    "daemon.profile-directory",
                    "empty: leave it out to use the built-in profiles only",
                );
                return None;
            }
            let full = self.base.join(dir);
            if !full.is_dir() {
                self.problem(
                    "daemon.profile-directory",
                    format!("{} is not a directory", full.display()),
                );
                return None;
            }
            // The same loader as the poller's: `coopnoc validate` reports every bad profile.
            if let Err(e) = crate::profile::ProfileSet::load(Some(&full)) {
                self.problem("daemon.profile-directory", e.to_string());
            }
            Some(full)
        });
        let shutdown_timeout = self.duration(
            "daemon.shutdown-timeout",
            d.shutdown_timeout.as_ref(),
            defaults::SHUTDOWN_TIMEOUT,
        );
        self.within(
            "daemon.shutdown-timeout",
            shutdown_timeout,
            SECOND,
            10 * MINUTE,
        );
        DaemonConfig {
            profile_directory,
            state_directory: PathBuf::from(
                d.state_directory
                    .clone()
                    .unwrap_or_else(|| defaults::STATE_DIRECTORY.into()),
            ),
            log_level,
            time_zone_name,
            time_zone,
            cooperative_name: d
                .cooperative_name
                .clone()
                .unwrap_or_else(|| defaults::COOPERATIVE_NAME.into()),
            shutdown_timeout,
        }
    }

    fn http(&mut self, h: &HttpFile) -> HttpConfig {
        let text = h
            .listen
            .clone()
            .unwrap_or_else(|| defaults::HTTP_LISTEN.into());
        let listen = text.parse().unwrap_or_else(|_| {
            self.problem(
                "http.listen",
                format!("\"{text}\" is not an address:port such as 127.0.0.1:9330 or [::]:9330"),
            );
            SocketAddr::from(([127, 0, 0, 1], 9330))
        });
        HttpConfig {
            enabled: h.enabled.unwrap_or(true),
            listen,
        }
    }

    fn ctl(&mut self, c: &CtlFile) -> CtlConfig {
        let mode = match &c.mode {
            None => defaults::CTL_MODE,
            Some(m) => match u32::from_str_radix(m.trim_start_matches("0o"), 8) {
                Ok(v) if v <= 0o777 => v,
                _ => {
                    self.problem(
                        "ctl.mode",
                        format!("\"{m}\" is not an octal file mode such as \"0660\""),
                    );
                    defaults::CTL_MODE
                }
            },
        };
        let socket = PathBuf::from(
            c.socket
                .clone()
                .unwrap_or_else(|| defaults::CTL_SOCKET.into()),
        );
        // sun_path holds 108 bytes on Linux, the terminating NUL included.
        if socket.as_os_str().len() > 107 {
            self.problem(
                "ctl.socket",
                format!(
                    "{} is longer than a Unix socket path may be (107 bytes)",
                    socket.display()
                ),
            );
        }
        let technicians = self.groups("ctl.technicians", &c.technicians, defaults::CTL_TECHNICIANS);
        let administrators = self.groups(
            "ctl.administrators",
            &c.administrators,
            defaults::CTL_ADMINISTRATORS,
        );
        let max_connections = c.max_connections.unwrap_or(defaults::CTL_MAX_CONNECTIONS);
        if !(1..=1024).contains(&max_connections) {
            self.problem("ctl.max-connections", "must be between 1 and 1024");
        }
        let request_timeout = self.duration(
            "ctl.request-timeout",
            c.request_timeout.as_ref(),
            defaults::CTL_REQUEST_TIMEOUT,
        );
        self.within("ctl.request-timeout", request_timeout, SECOND, 5 * MINUTE);
        let idle_timeout = self.duration(
            "ctl.idle-timeout",
            c.idle_timeout.as_ref(),
            defaults::CTL_IDLE_TIMEOUT,
        );
        self.within("ctl.idle-timeout", idle_timeout, SECOND, HOUR);
        CtlConfig {
            socket,
            mode,
            technicians,
            administrators,
            max_connections: max_connections.clamp(1, 1024) as usize,
            request_timeout,
            idle_timeout,
        }
    }

    /// Unix group names (`["coopnoc-tech"]`); an empty list gives the role to no group.
    fn groups(&mut self, place: &str, given: &Option<Vec<String>>, default: &str) -> Vec<String> {
        let Some(names) = given else {
            return vec![default.to_string()];
        };
        for (i, name) in names.iter().enumerate() {
            let fine = !name.is_empty()
                && name.len() <= 32
                && !name.starts_with('-')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '$'));
            if !fine {
                self.problem(
                    format!("{place}[{i}]"),
                    format!("\"{name}\" is not a Unix group name (letters, digits, '-', '_', '.', at most 32)"),
                );
            }
        }
        names.clone()
    }

    /// A duration's sane range: below `min` it hurts (a busy loop, a flood), above `max` it is
    /// a mistake.
    fn within(&mut self, place: &str, value: Duration, min: Duration, max: Duration) {
        if value < min || value > max {
            self.problem(
                place,
                format!(
                    "must be between {} and {}",
                    format_duration(min),
                    format_duration(max)
                ),
            );
        }
    }

    /// A duration's lower bound, with why.
    fn at_least(&mut self, place: &str, value: Duration, min: Duration, why: &str) {
        if value < min {
            self.problem(
                place,
                format!("must be at least {}: {why}", format_duration(min)),
            );
        }
    }

    fn poll(&mut self, place: &str, p: &PollFile, base: Option<&PollFile>) -> PollConfig {
        // Per-device keys override the global [poll] table, which overrides the defaults.
        let pick = |own: &Option<String>, global: Option<&Option<String>>| {
            own.clone().or_else(|| global.and_then(|g| g.clone()))
        };
        let status = pick(&p.status_interval, base.map(|b| &b.status_interval));
        let labels = pick(&p.labels_interval, base.map(|b| &b.labels_interval));
        let slow = pick(&p.slow_interval, base.map(|b| &b.slow_interval));
        let timeout = pick(&p.timeout, base.map(|b| &b.timeout));
        let unreach = pick(
            &p.unreachable_interval,
            base.map(|b| &b.unreachable_interval),
        );
        let num =
            |own: Option<u32>, global: Option<u32>, default: u32| own.or(global).unwrap_or(default);
        let cfg = PollConfig {
            status_interval: self.duration(
                &format!("{place}.status-interval"),
                status.as_ref(),
                defaults::STATUS_INTERVAL,
            ),
            labels_interval: self.duration(
                &format!("{place}.labels-interval"),
                labels.as_ref(),
                defaults::LABELS_INTERVAL,
            ),
            slow_interval: self.duration(
                &format!("{place}.slow-interval"),
                slow.as_ref(),
                defaults::SLOW_INTERVAL,
            ),
            optics: p
                .optics
                .or(base.and_then(|b| b.optics))
                .unwrap_or(defaults::OPTICS),
            timeout: self.duration(
                &format!("{place}.timeout"),
                timeout.as_ref(),
                defaults::TIMEOUT,
            ),
            retries: num(p.retries, base.and_then(|b| b.retries), defaults::RETRIES),
            max_repetitions: num(
                p.max_repetitions,
                base.and_then(|b| b.max_repetitions),
                defaults::MAX_REPETITIONS,
            ),
            window: num(p.window, base.and_then(|b| b.window), defaults::WINDOW),
            unreachable_after: num(
                p.unreachable_after,
                base.and_then(|b| b.unreachable_after),
                defaults::UNREACHABLE_AFTER,
            ),
            unreachable_interval: self.duration(
                &format!("{place}.unreachable-interval"),
                unreach.as_ref(),
                defaults::UNREACHABLE_INTERVAL,
            ),
        };
        if cfg.status_interval < Duration::from_secs(5) {
            self.problem(
                format!("{place}.status-interval"),
                "must be at least 5s: faster polling hurts fragile agents and tells nothing more",
            );
        }
        if cfg.timeout < Duration::from_millis(100) || cfg.timeout > Duration::from_secs(60) {
            self.problem(format!("{place}.timeout"), "must be between 100ms and 60s");
        }
        self.at_least(
            &format!("{place}.unreachable-interval"),
            cfg.unreachable_interval,
            5 * SECOND,
            "an unreachable device is tried again at this pace, not back to back",
        );
        // Labels and optical levels are read within a status cycle when they are due: at most
        // once per status-interval, whatever these say. Zero is a typo, not a wish.
        self.at_least(
            &format!("{place}.labels-interval"),
            cfg.labels_interval,
            SECOND,
            "names and serials are read again when this has passed, at a status poll",
        );
        self.at_least(
            &format!("{place}.slow-interval"),
            cfg.slow_interval,
            SECOND,
            "optical levels are read again when this has passed, at a status poll",
        );
        if cfg.retries > 10 {
            self.problem(format!("{place}.retries"), "must be 10 or fewer");
        }
        if !(1..=200).contains(&cfg.max_repetitions) {
            self.problem(
                format!("{place}.max-repetitions"),
                "must be between 1 and 200",
            );
        }
        if !(1..=16).contains(&cfg.window) {
            self.problem(
                format!("{place}.window"),
                "must be between 1 and 16 requests in flight",
            );
        }
        if cfg.unreachable_after == 0 {
            self.problem(
                format!("{place}.unreachable-after"),
                "must be at least 1 failed cycle",
            );
        }
        cfg
    }

    fn lines(&mut self, l: &LinesFile) -> LineThresholds {
        let t = LineThresholds {
            optical_rx_min_dbm: l.optical_rx_min_dbm.unwrap_or(defaults::OPTICAL_RX_MIN_DBM),
            optical_rx_max_dbm: l.optical_rx_max_dbm.unwrap_or(defaults::OPTICAL_RX_MAX_DBM),
            radio_signal_min_dbm: l
                .radio_signal_min_dbm
                .unwrap_or(defaults::RADIO_SIGNAL_MIN_DBM),
            radio_snr_min_db: l.radio_snr_min_db.unwrap_or(defaults::RADIO_SNR_MIN_DB),
            hysteresis: l.hysteresis.unwrap_or(defaults::HYSTERESIS),
            flap_window: self.duration(
                "lines.flap-window",
                l.flap_window.as_ref(),
                defaults::FLAP_WINDOW,
            ),
            flap_count: l.flap_count.unwrap_or(defaults::FLAP_COUNT),
        };
        self.at_least(
            "lines.flap-window",
            t.flap_window,
            MINUTE,
            "flaps are counted over several polls",
        );
        if t.flap_count < 2 {
            self.problem(
                "lines.flap-count",
                "must be at least 2: one change is a change, not a flap",
            );
        }
        if t.optical_rx_min_dbm >= t.optical_rx_max_dbm {
            self.problem(
                "lines.optical-rx-min-dbm",
                format!(
                    "{} must be below optical-rx-max-dbm ({})",
                    t.optical_rx_min_dbm, t.optical_rx_max_dbm
                ),
            );
        }
        if !(1..=20).contains(&t.hysteresis) {
            self.problem(
                "lines.hysteresis",
                "must be between 1 and 20 agreeing observations",
            );
        }
        t
    }

    fn retention(&mut self, r: &RetentionFile) -> RetentionConfig {
        let c = RetentionConfig {
            fine_buckets: self.duration(
                "retention.fine-buckets",
                r.fine_buckets.as_ref(),
                defaults::RETENTION_FINE,
            ),
            daily_per_line: self.duration(
                "retention.daily-per-line",
                r.daily_per_line.as_ref(),
                defaults::RETENTION_DAILY,
            ),
            monthly_after_membership: self.duration(
                "retention.monthly-after-membership",
                r.monthly_after_membership.as_ref(),
                defaults::RETENTION_MONTHLY_AFTER,
            ),
            events: self.duration(
                "retention.events",
                r.events.as_ref(),
                defaults::RETENTION_EVENTS,
            ),
            levels: self.duration(
                "retention.levels",
                r.levels.as_ref(),
                defaults::RETENTION_LEVELS,
            ),
        };
        if c.fine_buckets < Duration::from_secs(2 * 86400) {
            self.problem(
                "retention.fine-buckets",
                "must keep at least 2d: roll-ups read fine buckets of the day before",
            );
        }
        self.at_least(
            "retention.events",
            c.events,
            DAY,
            "`coopnoc events` and `line show` read at least the last day",
        );
        self.at_least(
            "retention.levels",
            c.levels,
            2 * DAY,
            "`line show` reads the last 24 hours from yesterday's and today's levels",
        );
        self.at_least(
            "retention.monthly-after-membership",
            c.monthly_after_membership,
            62 * DAY,
            "the last month of a membership is reported in the month after it",
        );
        if c.daily_per_line < Duration::from_secs(35 * 86400) {
            self.problem(
                "retention.daily-per-line",
                "must keep at least 35d: a month's report is built from daily totals",
            );
        }
        c
    }

    fn target(&mut self, place: &str, text: &str, default_port: Option<u16>) -> Option<Target> {
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

    fn device(
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

    fn snmp(&mut self, place: &str, s: &SnmpFile) -> Option<SnmpCredentials> {
        let version = s.version.as_deref().unwrap_or("2c");
        let v3_keys = s.user.is_some()
            || s.auth_protocol.is_some()
            || s.auth_password.is_some()
            || s.auth_password_file.is_some()
            || s.priv_protocol.is_some()
            || s.priv_password.is_some()
            || s.priv_password_file.is_some();
        match version {
            "1" | "2c" => {
                if v3_keys {
                    self.problem(place, format!("user, auth-* and priv-* are SNMPv3 settings, but version is \"{version}\""));
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
            "3" => {
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
                let auth_secret = self.secret(
                    place,
                    "auth-password",
                    s.auth_password.as_ref(),
                    s.auth_password_file.as_ref(),
                );
                let priv_secret = self.secret(
                    place,
                    "priv-password",
                    s.priv_password.as_ref(),
                    s.priv_password_file.as_ref(),
                );
                let auth = match (&s.auth_protocol, auth_secret) {
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
                                self.problem(format!("{place}.auth-protocol"), format!("\"{p}\" is not one of md5, sha1, sha224, sha256, sha384, sha512"));
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
                };
                let privacy = match (&s.priv_protocol, priv_secret) {
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
                };
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
            other => {
                self.problem(
                    format!("{place}.version"),
                    format!("\"{other}\" is not one of \"1\", \"2c\", \"3\""),
                );
                None
            }
        }
    }

    fn smtp(&mut self, s: &SmtpFile) -> SmtpConfig {
        let tls = match s.tls.as_deref().unwrap_or("starttls") {
            "none" => SmtpTls::None,
            "starttls" => SmtpTls::StartTls,
            "tls" => SmtpTls::Tls,
            other => {
                self.problem(
                    "smtp.tls",
                    format!("\"{other}\" is not one of none, starttls, tls"),
                );
                SmtpTls::StartTls
            }
        };
        if !s.from.contains('@') {
            self.problem(
                "smtp.from",
                format!("\"{}\" is not an email address", s.from),
            );
        }
        let password = self.secret(
            "smtp",
            "password",
            s.password.as_ref(),
            s.password_file.as_ref(),
        );
        if password.is_some() && s.username.is_none() {
            self.problem("smtp.username", "a password is given but no username");
        }
        let per_minute = s.per_minute.unwrap_or(defaults::SMTP_PER_MINUTE);
        if per_minute == 0 {
            self.problem("smtp.per-minute", "must be at least 1 email per minute");
        }
        let config = SmtpConfig {
            host: s.host.clone(),
            port: s.port.unwrap_or(match tls {
                SmtpTls::None => 25,
                SmtpTls::StartTls => 587,
                SmtpTls::Tls => 465,
            }),
            tls,
            username: s.username.clone(),
            password,
            from: s.from.clone(),
            reply_to: s.reply_to.clone(),
            per_minute,
            timeout: self.duration("smtp.timeout", s.timeout.as_ref(), defaults::SMTP_TIMEOUT),
        };
        self.within("smtp.timeout", config.timeout, SECOND, 10 * MINUTE);
        config
    }

    fn mqtt(&mut self, m: &MqttFile) -> MqttConfig {
        let tls = m.tls.unwrap_or(false);
        let password = self.secret(
            "mqtt",
            "password",
            m.password.as_ref(),
            m.password_file.as_ref(),
        );
        if password.is_some() && m.username.is_none() {
            self.problem("mqtt.username", "a password is given but no username");
        }
        let topic_prefix = m
            .topic_prefix
            .clone()
            .unwrap_or_else(|| defaults::MQTT_TOPIC_PREFIX.into());
        if topic_prefix.is_empty()
            || topic_prefix.contains(['#', '+'])
            || topic_prefix.ends_with('/')
        {
            self.problem(
                "mqtt.topic-prefix",
                format!("\"{topic_prefix}\" must be non-empty, without # or +, and not end with /"),
            );
        }
        let config = MqttConfig {
            host: m.host.clone(),
            port: m.port.unwrap_or(if tls { 8883 } else { 1883 }),
            client_id: m
                .client_id
                .clone()
                .unwrap_or_else(|| defaults::MQTT_CLIENT_ID.into()),
            topic_prefix,
            username: m.username.clone(),
            password,
            tls,
            keep_alive: self.duration(
                "mqtt.keep-alive",
                m.keep_alive.as_ref(),
                defaults::MQTT_KEEP_ALIVE,
            ),
        };
        // MQTT carries the keep-alive in seconds as a 16-bit number (at most 18h12m15s).
        self.within("mqtt.keep-alive", config.keep_alive, 5 * SECOND, 18 * HOUR);
        config
    }

    fn reports(&mut self, r: Option<&ReportsFile>, have_smtp: bool) -> ReportsConfig {
        let empty = ReportsFile {
            enabled: Some(false),
            default_language: None,
            template_directory: None,
            send_day: None,
            send_hour: None,
            co2e_grams_per_gb: None,
            co2e_method: None,
            evening_peak: None,
        };
        let r = r.unwrap_or(&empty);
        let enabled = r.enabled.unwrap_or(true);
        if enabled && !have_smtp {
            self.problem(
                "reports.enabled",
                "monthly reports are sent by email: add an [smtp] table, or set enabled = false",
            );
        }
        let default_language = r
            .default_language
            .clone()
            .unwrap_or_else(|| defaults::REPORT_LANGUAGE.into());
        if !REPORT_LANGUAGES.contains(&default_language.as_str()) {
            self.problem(
                "reports.default-language",
                format!(
                    "\"{default_language}\" is not one of {}",
                    REPORT_LANGUAGES.join(", ")
                ),
            );
        }
        let send_day = r.send_day.unwrap_or(defaults::REPORT_SEND_DAY);
        if !(1..=28).contains(&send_day) {
            self.problem(
                "reports.send-day",
                "must be a day of the month from 1 to 28",
            );
        }
        let send_hour = r.send_hour.unwrap_or(defaults::REPORT_SEND_HOUR);
        if send_hour > 23 {
            self.problem("reports.send-hour", "must be an hour from 0 to 23");
        }
        let co2e = r.co2e_grams_per_gb.unwrap_or(defaults::CO2E_GRAMS_PER_GB);
        if !(0.0..=10_000.0).contains(&co2e) {
            self.problem("reports.co2e-grams-per-gb", "must be between 0 and 10000");
        }
        let peak_text = r
            .evening_peak
            .clone()
            .unwrap_or_else(|| defaults::EVENING_PEAK.into());
        let evening_peak = parse_time_range(&peak_text).unwrap_or_else(|| {
            self.problem(
                "reports.evening-peak",
                format!("\"{peak_text}\" is not a time range such as \"19:00-23:00\""),
            );
            (19 * 60, 23 * 60)
        });
        let template_directory = r.template_directory.as_ref().map(|t| self.base.join(t));
        if let Some(dir) = &template_directory
            && !dir.is_dir()
        {
            self.problem(
                "reports.template-directory",
                format!("{} is not a directory", dir.display()),
            );
        }
        ReportsConfig {
            enabled,
            default_language,
            template_directory,
            send_day,
            send_hour,
            co2e_grams_per_gb: co2e,
            co2e_method: r.co2e_method.clone(),
            evening_peak,
        }
    }
}

fn parse_time_range(text: &str) -> Option<(u16, u16)> {
    let (a, b) = text.split_once('-')?;
    let hm = |s: &str| -> Option<u16> {
        let (h, m) = s.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
    };
    let (start, end) = (hm(a)?, hm(b)?);
    (start < end).then_some((start, end))
}

impl Config {
    /// The database file inside the state directory.
    pub fn database_path(&self) -> PathBuf {
        self.daemon.state_directory.join("coopnoc.db")
    }

    pub fn device(&self, name: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Config {
        match parse(text, Path::new(".")) {
            Ok(c) => c,
            Err(p) => panic!("unexpected problems: {p:#?}"),
        }
    }

    fn problems(text: &str) -> Vec<String> {
        match parse(text, Path::new(".")) {
            Ok(_) => panic!("config was accepted"),
            Err(p) => p.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn empty_config_gets_defaults() {
        let c = parse_ok("[reports]\nenabled = false\n");
        assert_eq!(c.http.listen.to_string(), defaults::HTTP_LISTEN);
        // Anyone may connect: the daemon decides from the peer's groups (issue 10).
        assert_eq!(c.ctl.mode, 0o666);
        assert_eq!(c.ctl.technicians, vec!["coopnoc-tech".to_string()]);
        assert_eq!(c.ctl.administrators, vec!["coopnoc-admin".to_string()]);
        assert_eq!(c.ctl.max_connections, 32);
        assert_eq!(c.ctl.request_timeout, Duration::from_secs(10));
        assert!(c.devices.is_empty());
    }

    #[test]
    fn every_interval_has_a_minimum_reported_with_its_place() {
        let p = problems(
            r#"
[daemon]
shutdown-timeout = "0s"
[ctl]
technicians = ["coopnoc tech", ""]
max-connections = 0
request-timeout = "0s"
idle-timeout = "500ms"
[poll]
status-interval = "1s"
labels-interval = "0s"
slow-interval = "500ms"
timeout = "0s"
unreachable-interval = "0s"
[lines]
flap-window = "0s"
[retention]
events = "0s"
levels = "1d"
monthly-after-membership = "0s"
[[device]]
name = "olt-1"
kind = "olt"
address = "192.0.2.1"
snmp = { version = "2c", community = "public" }
poll = { unreachable-interval = "1s" }
[[component]]
id = "mail"
name = "Mail"
probes = [{ tcp = "192.0.2.40:25", interval = "0s", timeout = "0s" }]
[smtp]
host = "smtp.example.coop"
from = "noc@example.coop"
timeout = "0s"
[mqtt]
host = "127.0.0.1"
keep-alive = "1y"
"#,
        );
        let all = p.join("\n");
        for place in [
            "daemon.shutdown-timeout",
            "ctl.technicians[0]",
            "ctl.technicians[1]",
            "ctl.max-connections",
            "ctl.request-timeout",
            "ctl.idle-timeout",
            "poll.status-interval",
            "poll.labels-interval",
            "poll.slow-interval",
            "poll.timeout",
            "poll.unreachable-interval: must be at least 5s",
            "device[0] (line 21) \"olt-1\".poll.unreachable-interval: must be at least 5s",
            "lines.flap-window",
            "retention.events",
            "retention.levels",
            "retention.monthly-after-membership",
            ".probes[0].interval",
            ".probes[0].timeout",
            "smtp.timeout",
            "mqtt.keep-alive",
        ] {
            assert!(all.contains(place), "{place} not in:\n{all}");
        }
        // The defaults and the example's values are all within bounds.
        parse_ok("[reports]\nenabled = false\n");
        parse_ok("[reports]\nenabled = false\n[poll]\nunreachable-interval = \"5s\"\n");
    }

    #[test]
    fn device_poll_overrides_global_which_overrides_defaults() {
        let c = parse_ok(
            r#"
[reports]
enabled = false
[poll]
timeout = "3s"
retries = 4
[[device]]
name = "olt-1"
kind = "olt"
address = "192.0.2.1"
snmp = { version = "2c", community = "public" }
poll = { retries = 1, optics = true }
"#,
        );
        let d = &c.devices[0];
        assert_eq!(d.poll.timeout, Duration::from_secs(3));
        assert_eq!(d.poll.retries, 1);
        assert!(d.poll.optics);
        assert_eq!(
            d.target,
            Some(Target {
                host: "192.0.2.1".into(),
                port: 161
            })
        );
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_place() {
        let p = problems(
            r#"
[daemon]
time-zone = "Mars/Olympus"
[[device]]
name = "Bad Name"
kind = "olt"
address = "192.0.2.1:99999"
snmp = { version = "3", user = "u", auth-protocol = "sha256", auth-password = "short", priv-protocol = "rot13", priv-password = "longenough" }
[[device]]
name = "r1"
kind = "toaster"
"#,
        );
        let all = p.join("\n");
        assert!(all.contains("daemon.time-zone"), "{all}");
        assert!(all.contains("device[0] (line 4)"), "{all}");
        assert!(all.contains(".address"), "{all}");
        assert!(all.contains("auth-password"), "{all}");
        assert!(all.contains("priv-protocol"), "{all}");
        assert!(all.contains("device[1] (line 9)"), "{all}");
        assert!(all.contains("toaster"), "{all}");
        assert!(p.len() >= 5, "{all}");
    }

    #[test]
    fn unknown_key_is_an_error_with_its_line() {
        let p = problems("[daemon]\nstate-directory = \"/tmp\"\nlog-levle = \"info\"\n");
        assert!(p[0].starts_with("line 3"), "{p:?}");
        assert!(p[0].contains("log-levle"), "{p:?}");
    }

    #[test]
    fn secrets_come_from_files_and_never_show_in_debug() {
        let dir = tempfile::tempdir().expect("test setup");
        std::fs::write(dir.path().join("community"), "s3cret-comm\n").expect("test setup");
        let text = r#"
[reports]
enabled = false
[[device]]
name = "sw"
kind = "switch"
address = "[2001:db8::1]:1161"
snmp = { community-file = "community" }
"#;
        let c = parse(text, dir.path()).expect("test setup");
        let d = &c.devices[0];
        assert_eq!(d.target.as_ref().expect("test setup").port, 1161);
        match &d.snmp {
            Some(SnmpCredentials::V2c { community }) => {
                assert_eq!(community.expose(), "s3cret-comm")
            }
            other => panic!("{other:?}"),
        }
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn a_profile_directory_is_read_from_the_config_folder_and_checked() {
        let dir = tempfile::tempdir().expect("test setup");
        std::fs::create_dir(dir.path().join("profiles")).expect("test setup");
        let text = "[reports]\nenabled = false\n[daemon]\nprofile-directory = \"profiles\"\n";
        let c = parse(text, dir.path()).expect("an empty profile directory is fine");
        assert_eq!(
            c.daemon.profile_directory,
            Some(dir.path().join("profiles"))
        );
        assert_eq!(
            parse("[reports]\nenabled = false\n", dir.path())
                .expect("test setup")
                .daemon
                .profile_directory,
            None
        );

        // A bad profile in it is a config problem, with the file and what is wrong.
        std::fs::write(
            dir.path().join("profiles/olt.toml"),
            "id = \"olt-x\"\nname = \"X\"\nkind = \"toaster\"\n",
        )
        .expect("test setup");
        let p = parse(text, dir.path())
            .expect_err("a broken profile")
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            p.contains("daemon.profile-directory") && p.contains("olt.toml"),
            "{p}"
        );

        let p = parse(
            "[reports]\nenabled = false\n[daemon]\nprofile-directory = \"nowhere\"\n",
            dir.path(),
        )
        .expect_err("missing");
        assert!(
            p.iter().any(|p| p.to_string().contains("not a directory")),
            "{p:?}"
        );
    }

    #[test]
    fn time_range() {
        assert_eq!(parse_time_range("19:00-23:00"), Some((1140, 1380)));
        assert_eq!(parse_time_range("23:00-19:00"), None);
        assert_eq!(parse_time_range("7pm"), None);
    }
}
