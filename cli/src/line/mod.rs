//! `coopnoc line show`, `line watch` and `line thresholds`: one line, as a technician needs it
//! over SSH (`show`, `watch`, `thresholds`).

mod show;
mod thresholds;
mod watch;

pub use show::show;
pub use thresholds::thresholds;
pub use watch::watch;

use coopnoc_proto::{Levels, Request, Response};

use crate::Session;
use crate::output::Style;

/// A level a line can have, in the order shown.
struct Metric {
    /// As the daemon names it in `LevelDay::metric`.
    name: &'static str,
    label: &'static str,
    unit: &'static str,
    decimals: usize,
    /// Higher is better (a receiver's level, a signal, an SNR); not so for a laser's output.
    higher_is_better: bool,
}

const METRICS: [Metric; 5] = [
    Metric {
        name: "rx",
        label: "rx",
        unit: "dBm",
        decimals: 2,
        higher_is_better: true,
    },
    Metric {
        name: "tx",
        label: "tx",
        unit: "dBm",
        decimals: 2,
        higher_is_better: false,
    },
    Metric {
        name: "olt-rx",
        label: "OLT rx",
        unit: "dBm",
        decimals: 2,
        higher_is_better: true,
    },
    Metric {
        name: "signal",
        label: "signal",
        unit: "dBm",
        decimals: 1,
        higher_is_better: true,
    },
    Metric {
        name: "snr",
        label: "SNR",
        unit: "dB",
        decimals: 1,
        higher_is_better: true,
    },
];

fn level_of(levels: &Levels, metric: &str) -> Option<f64> {
    match metric {
        "rx" => levels.rx_dbm,
        "tx" => levels.tx_dbm,
        "olt-rx" => levels.olt_rx_dbm,
        "signal" => levels.signal_dbm,
        "snr" => levels.snr_db,
        _ => None,
    }
    .filter(|v| v.is_finite())
}

pub async fn show_command(s: &mut Session, line: String) -> anyhow::Result<u8> {
    let Response::Line(d) = s.call(Request::LineShow { line }).await? else {
        anyhow::bail!("unexpected answer to line show")
    };
    if !s.print_json(&d)? {
        print!("{}", show(&d, jiff::Timestamp::now(), Style::detect()));
    }
    Ok(0)
}

#[cfg(test)]
mod tests;
