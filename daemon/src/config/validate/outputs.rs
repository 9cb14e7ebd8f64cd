//! `[smtp]`, `[mqtt]` and `[reports]`.

use super::super::file::*;
use super::super::*;
use super::Validator;

impl Validator<'_> {
    pub(super) fn smtp(&mut self, s: &SmtpFile) -> SmtpConfig {
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

    pub(super) fn mqtt(&mut self, m: &MqttFile) -> MqttConfig {
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

    pub(super) fn reports(&mut self, r: Option<&ReportsFile>, have_smtp: bool) -> ReportsConfig {
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

pub(in crate::config) fn parse_time_range(text: &str) -> Option<(u16, u16)> {
    let (a, b) = text.split_once('-')?;
    let hm = |s: &str| -> Option<u16> {
        let (h, m) = s.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
    };
    let (start, end) = (hm(a)?, hm(b)?);
    (start < end).then_some((start, end))
}
