//! The file schema: what a cooperative writes in `coopnoc.toml`, exactly as written.
//!
//! Every struct denies unknown keys so that a typo is an error, never silence. Defaults live
//! in `super::defaults` and are applied by `validate()`, not here, so that "the user did not
//! say" stays distinguishable from "the user said the default".

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    #[serde(default)]
    pub daemon: DaemonFile,
    #[serde(default)]
    pub http: HttpFile,
    #[serde(default)]
    pub ctl: CtlFile,
    #[serde(default)]
    pub poll: PollFile,
    #[serde(default)]
    pub lines: LinesFile,
    #[serde(default)]
    pub retention: RetentionFile,
    #[serde(default, rename = "site")]
    pub sites: Vec<Spanned<SiteFile>>,
    #[serde(default, rename = "device")]
    pub devices: Vec<Spanned<DeviceFile>>,
    #[serde(default, rename = "component")]
    pub components: Vec<Spanned<ComponentFile>>,
    pub smtp: Option<Spanned<SmtpFile>>,
    pub mqtt: Option<Spanned<MqttFile>>,
    pub reports: Option<Spanned<ReportsFile>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DaemonFile {
    pub state_directory: Option<String>,
    pub log_level: Option<String>,
    pub time_zone: Option<String>,
    pub cooperative_name: Option<String>,
    pub shutdown_timeout: Option<String>,
    pub profile_directory: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpFile {
    pub listen: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CtlFile {
    pub socket: Option<String>,
    pub mode: Option<String>,
    pub technicians: Option<Vec<String>>,
    pub administrators: Option<Vec<String>>,
    pub max_connections: Option<u32>,
    pub request_timeout: Option<String>,
    pub idle_timeout: Option<String>,
}

/// Poll settings: a global `[poll]` table, and the same keys per device (`poll = {...}`)
/// overriding it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PollFile {
    pub status_interval: Option<String>,
    pub labels_interval: Option<String>,
    pub slow_interval: Option<String>,
    pub optics: Option<bool>,
    pub timeout: Option<String>,
    pub retries: Option<u32>,
    pub max_repetitions: Option<u32>,
    pub window: Option<u32>,
    pub unreachable_after: Option<u32>,
    pub unreachable_interval: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LinesFile {
    pub optical_rx_min_dbm: Option<f64>,
    pub optical_rx_max_dbm: Option<f64>,
    pub radio_signal_min_dbm: Option<f64>,
    pub radio_snr_min_db: Option<f64>,
    pub hysteresis: Option<u32>,
    pub flap_window: Option<String>,
    pub flap_count: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RetentionFile {
    pub fine_buckets: Option<String>,
    pub daily_per_line: Option<String>,
    pub monthly_after_membership: Option<String>,
    pub events: Option<String>,
    pub levels: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SiteFile {
    pub name: String,
    pub description: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeviceFile {
    pub name: String,
    pub site: Option<String>,
    pub kind: String,
    pub address: Option<String>,
    pub profile: Option<String>,
    pub snmp: Option<SnmpFile>,
    pub poll: Option<PollFile>,
    /// For `kind = "local"`: interface names or glob patterns (`eth*`) read over netlink.
    pub interfaces: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SnmpFile {
    pub version: Option<String>,
    pub community: Option<String>,
    pub community_file: Option<String>,
    pub user: Option<String>,
    pub auth_protocol: Option<String>,
    pub auth_password: Option<String>,
    pub auth_password_file: Option<String>,
    pub priv_protocol: Option<String>,
    pub priv_password: Option<String>,
    pub priv_password_file: Option<String>,
    pub context: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ComponentFile {
    pub id: String,
    pub name: String,
    pub group: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub devices: Vec<String>,
    #[serde(default)]
    pub probes: Vec<ProbeFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProbeFile {
    pub tcp: Option<String>,
    pub http: Option<String>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SmtpFile {
    pub host: String,
    pub port: Option<u16>,
    pub tls: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
    pub from: String,
    pub reply_to: Option<String>,
    pub per_minute: Option<u32>,
    pub timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MqttFile {
    pub host: String,
    pub port: Option<u16>,
    pub client_id: Option<String>,
    pub topic_prefix: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
    pub tls: Option<bool>,
    pub keep_alive: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReportsFile {
    pub enabled: Option<bool>,
    pub default_language: Option<String>,
    pub template_directory: Option<String>,
    pub send_day: Option<u8>,
    pub send_hour: Option<u8>,
    pub co2e_grams_per_gb: Option<f64>,
    pub co2e_method: Option<String>,
    pub evening_peak: Option<String>,
}
