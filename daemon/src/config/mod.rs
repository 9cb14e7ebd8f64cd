//! Configuration in two layers: the file schema (`file`, exactly what the TOML says) and the
//! checked runtime `Config` built by `validate()`, which reports every problem at once with
//! its place. `load()` reads and checks the file; `crate::check::load` adds the checks of
//! what the config names that other rooms own (the device profiles), and is the one loader
//! the daemon, `coopnocd --check` (behind `coopnoc validate`) and the tests use.

mod file;
mod secret;
#[cfg(test)]
mod tests;
mod validate;

pub use coopnoc_proto::duration::{format_duration, parse_duration};
pub use secret::Secret;

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use file::ConfigFile;
use validate::{Validator, line_of};

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

impl Device {
    /// Whether the SNMP poller takes care of this device.
    pub fn polled_by_snmp(&self) -> bool {
        self.enabled && self.target.is_some() && self.snmp.is_some()
    }
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
