//! `coopnoc line thresholds`: a line's own thresholds, checked before they are sent.

use std::fmt::Write as _;

use coopnoc_proto::{LineDetail, Request, Response, ThresholdOverrides};

use crate::Session;
use crate::args::ThresholdArgs;
use crate::output::{self, Style, WIDTH};

/// Plausible values only: a sign forgotten (`--optical-rx-min 28`) would turn every reading
/// into "degraded".
pub(super) fn check_thresholds(o: &ThresholdOverrides) -> Result<(), String> {
    let checks = [
        ("--optical-rx-min", o.optical_rx_min_dbm, -60.0, 10.0, "dBm"),
        ("--optical-rx-max", o.optical_rx_max_dbm, -60.0, 10.0, "dBm"),
        (
            "--radio-signal-min",
            o.radio_signal_min_dbm,
            -120.0,
            0.0,
            "dBm",
        ),
        ("--radio-snr-min", o.radio_snr_min_db, 0.0, 90.0, "dB"),
    ];
    for (flag, v, lo, hi, unit) in checks {
        if let Some(v) = v
            && !(v.is_finite() && (lo..=hi).contains(&v))
        {
            return Err(format!(
                "{flag} {v}: expected a level between {lo} and {hi} {unit}"
            ));
        }
    }
    if let (Some(lo), Some(hi)) = (o.optical_rx_min_dbm, o.optical_rx_max_dbm)
        && lo >= hi
    {
        return Err(format!(
            "--optical-rx-min {lo} must be below --optical-rx-max {hi}"
        ));
    }
    Ok(())
}

/// What a line's thresholds are after `line thresholds`.
pub fn thresholds_text(d: &LineDetail, o: &ThresholdOverrides, st: Style) -> String {
    let mut out = String::new();
    let reference = &d.line.reference;
    if o.is_empty() {
        let _ = writeln!(
            out,
            "{reference} follows the configured thresholds again ([lines] in coopnoc.toml)"
        );
    } else {
        let _ = writeln!(
            out,
            "{reference} has its own thresholds now; the others are the configured ones"
        );
        let rows = [
            ("optical rx min", o.optical_rx_min_dbm, "dBm"),
            ("optical rx max", o.optical_rx_max_dbm, "dBm"),
            ("radio signal min", o.radio_signal_min_dbm, "dBm"),
            ("radio SNR min", o.radio_snr_min_db, "dB"),
        ];
        for (label, v, unit) in rows {
            let text = match v {
                Some(v) => format!("{v:.1} {unit} (this line)"),
                None => "as configured".to_string(),
            };
            let _ = writeln!(out, "  {label:<18}{text}");
        }
    }
    let _ = writeln!(
        out,
        "  {:<18}{}; the next polls judge it with these",
        "state now",
        st.state(&d.line.state)
    );
    output::clip(&out, WIDTH, st)
}

pub async fn thresholds(s: &mut Session, a: ThresholdArgs) -> anyhow::Result<u8> {
    let o = if a.clear {
        ThresholdOverrides::default()
    } else {
        // Flags given replace the line's own values; the others it already has stay.
        let Response::Line(current) = s
            .call(Request::LineShow {
                line: a.line.clone(),
            })
            .await?
        else {
            anyhow::bail!("unexpected answer to line show")
        };
        let had = &current.thresholds;
        ThresholdOverrides {
            optical_rx_min_dbm: a.optical_rx_min.or(had.optical_rx_min_dbm),
            optical_rx_max_dbm: a.optical_rx_max.or(had.optical_rx_max_dbm),
            radio_signal_min_dbm: a.radio_signal_min.or(had.radio_signal_min_dbm),
            radio_snr_min_db: a.radio_snr_min.or(had.radio_snr_min_db),
        }
    };
    check_thresholds(&o).map_err(anyhow::Error::msg)?;
    let Response::Line(d) = s
        .call(Request::LineThresholds {
            line: a.line,
            thresholds: o.clone(),
        })
        .await?
    else {
        anyhow::bail!("unexpected answer to line thresholds")
    };
    if s.json {
        s.print_json(&serde_json::json!({ "line": d.line.reference, "thresholds": o }))?;
    } else {
        print!("{}", thresholds_text(&d, &o, Style::detect()));
    }
    Ok(0)
}
