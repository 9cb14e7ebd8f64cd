//! `[daemon]`, `[http]`, `[ctl]`, `[poll]`, `[lines]` and `[retention]`, and the bounds every
//! interval is held to.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::super::file::*;
use super::super::*;
use super::Validator;

impl Validator<'_> {
    pub(super) fn daemon(&mut self, d: &DaemonFile) -> DaemonConfig {
        let log_level = d
            .log_level
            .clone()
            .unwrap_or_else(|| defaults::LOG_LEVEL.into());
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            self.problem(
                "daemon.log-level",
                format!("\"{log_level}\" is not a level (error, warn, info, debug, trace) or a filter such as \"info,coopnocd::collect::snmp=debug\""),
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
            // The profiles in it are checked after the config (`crate::check`).
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

    pub(super) fn http(&mut self, h: &HttpFile) -> HttpConfig {
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

    pub(super) fn ctl(&mut self, c: &CtlFile) -> CtlConfig {
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
    pub(super) fn groups(
        &mut self,
        place: &str,
        given: &Option<Vec<String>>,
        default: &str,
    ) -> Vec<String> {
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
    pub(super) fn within(&mut self, place: &str, value: Duration, min: Duration, max: Duration) {
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
    pub(super) fn at_least(&mut self, place: &str, value: Duration, min: Duration, why: &str) {
        if value < min {
            self.problem(
                place,
                format!("must be at least {}: {why}", format_duration(min)),
            );
        }
    }

    pub(super) fn poll(
        &mut self,
        place: &str,
        p: &PollFile,
        base: Option<&PollFile>,
    ) -> PollConfig {
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

    pub(super) fn lines(&mut self, l: &LinesFile) -> LineThresholds {
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

    pub(super) fn retention(&mut self, r: &RetentionFile) -> RetentionConfig {
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
}
