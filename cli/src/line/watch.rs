//! `coopnoc line watch`: the line's ONU or station read again and again, each level's change
//! since the previous reading.

use std::fmt::Write as _;
use std::time::Duration;

use coopnoc_proto::{ErrorKind, LineDetail, Request, Response, WatchReading};

use super::show::place;
use super::{METRICS, Metric, level_of};
use crate::Session;
use crate::output::{self, Style, WIDTH};

/// The levels watched, chosen once from what the line has.
pub(super) struct Watch {
    metrics: Vec<&'static Metric>,
    /// Previous reading's levels, per metric.
    prev: Vec<Option<f64>>,
    first: Vec<Option<f64>>,
    lowest: Vec<Option<f64>>,
    highest: Vec<Option<f64>>,
    prev_reason: Option<String>,
}

impl Watch {
    pub(super) fn new(metrics: Vec<&'static Metric>) -> Watch {
        let n = metrics.len();
        Watch {
            metrics,
            prev: vec![None; n],
            first: vec![None; n],
            lowest: vec![None; n],
            highest: vec![None; n],
            prev_reason: None,
        }
    }

    pub(super) fn header(&self) -> String {
        let mut h = format!("{:<11}{:<10}", "TIME", "STATE");
        for m in &self.metrics {
            let _ = write!(
                h,
                "{:<17}",
                format!("{} {}", m.label.to_uppercase(), m.unit)
            );
        }
        h.push_str("GET");
        h
    }

    /// One reading as a row (and its reason on a line of its own when it changed).
    pub(super) fn row(&mut self, r: &WatchReading, time: &str, st: Style) -> String {
        let mut line = format!("{time:<11}{}", output::pad(&st.state(&r.state), 10));
        for (i, m) in self.metrics.iter().enumerate() {
            let value = level_of(&r.levels, m.name);
            let dec = m.decimals;
            let cell = match (value, self.prev[i]) {
                (Some(v), Some(p)) => {
                    let delta = if (v - p).abs() < 0.005 { 0.0 } else { v - p };
                    let better = (delta.abs() >= 0.05 && m.name != "tx")
                        .then_some((delta > 0.0) == m.higher_is_better);
                    format!(
                        "{v:.dec$} {}",
                        st.better_worse(&format!("({delta:+.2})"), better)
                    )
                }
                (Some(v), None) => format!("{v:.dec$}"),
                (None, _) => "-".to_string(),
            };
            line.push_str(&output::pad(&cell, 17));
            if let Some(v) = value {
                self.first[i].get_or_insert(v);
                self.lowest[i] = Some(self.lowest[i].map_or(v, |x| x.min(v)));
                self.highest[i] = Some(self.highest[i].map_or(v, |x| x.max(v)));
            }
            self.prev[i] = value;
        }
        let _ = write!(line, "{} ms", r.took_ms);
        if r.reason != self.prev_reason
            && let Some(why) = &r.reason
        {
            let _ = write!(line, "\n{:<11}{why}", "");
        }
        self.prev_reason = r.reason.clone();
        output::clip(&line, WIDTH, st)
    }

    /// First and last level, lowest and highest, for the end of a watch.
    pub(super) fn summary(&self) -> Vec<String> {
        self.metrics
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let (first, last, lo, hi) = (self.first[i]?, self.prev[i]?, self.lowest[i]?, self.highest[i]?);
                let dec = m.decimals;
                Some(format!(
                    "{}: first {first:.dec$}, last {last:.dec$} ({:+.2}); lowest {lo:.dec$}, highest {hi:.dec$} {}",
                    m.label,
                    last - first,
                    m.unit
                ))
            })
            .collect()
    }
}

/// Which levels to watch: those the line has (now or in its last day), else those the
/// first reading gives.
pub(super) fn watched_metrics(d: &LineDetail, first: &WatchReading) -> Vec<&'static Metric> {
    METRICS
        .iter()
        .filter(|m| {
            let known = d.live.as_ref().is_some_and(|v| {
                level_of(&v.levels, m.name).is_some()
                    || v.day.iter().any(|x| x.metric == m.name && x.min.is_some())
            });
            known || level_of(&first.levels, m.name).is_some()
        })
        .collect()
}

fn clock() -> String {
    jiff::Timestamp::now().strftime("%H:%M:%SZ").to_string()
}

/// Reads the line again and again; see `coopnoc line watch --help`.
pub async fn watch(
    s: &mut Session,
    line: String,
    every: Duration,
    count: Option<u64>,
) -> anyhow::Result<u8> {
    let st = Style::detect();
    let Response::Line(d) = s.call(Request::LineShow { line: line.clone() }).await? else {
        anyhow::bail!("unexpected answer to line show")
    };
    let reference = d.line.reference.clone();
    let device = d
        .live
        .as_ref()
        .and_then(|v| v.location.as_ref())
        .map(|l| l.device.clone());
    if !s.json {
        let at = d
            .live
            .as_ref()
            .and_then(|v| v.location.as_ref())
            .map(|l| format!(" on {} {}", l.device, place(l)))
            .unwrap_or_default();
        let every_text = if every.subsec_millis() == 0 {
            output::duration(every.as_secs())
        } else {
            format!("{} ms", every.as_millis())
        };
        let text = format!("{reference}{at}: read every {every_text}, Ctrl-C to stop\n");
        print!("{}", output::clip(&text, WIDTH, st));
    }
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut table: Option<Watch> = None;
    let (mut readings, mut failed) = (0u64, 0u64);
    let request = Request::LineWatch {
        line: reference.clone(),
    };
    loop {
        if count.is_some_and(|c| readings + failed >= c) {
            break;
        }
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = ticker.tick() => {}
        }
        let answer = tokio::select! {
            _ = &mut ctrl_c => break,
            a = s.client.call(&request) => a?,
        };
        let answer = if s.json {
            answer
        } else {
            crate::escape::escaped(answer)?
        };
        match answer {
            Response::Watch(r) => {
                readings += 1;
                if s.json {
                    println!("{}", crate::escape::json_safe(serde_json::to_string(&r)?));
                    continue;
                }
                let t = table.get_or_insert_with(|| {
                    let w = Watch::new(watched_metrics(&d, &r));
                    println!("{}", w.header());
                    w
                });
                println!("{}", t.row(&r, &clock(), st));
            }
            Response::Error(e) => {
                failed += 1;
                // A line not seen on any device has nothing to re-read; so has a line whose
                // device's profile reads nothing per row, or a daemon without a poller. A
                // device that did not answer this time is worth trying again.
                let device_error = device
                    .as_deref()
                    .is_some_and(|dev| e.message.starts_with(&format!("{dev}:")));
                let fatal = readings == 0
                    && (e.kind == ErrorKind::NotFound
                        || (e.kind == ErrorKind::Unsupported && !device_error));
                if s.json {
                    println!("{}", crate::escape::json_safe(serde_json::to_string(&e)?));
                } else if !fatal {
                    println!(
                        "{}",
                        output::clip(
                            &format!("{:<11}no reading: {}", clock(), e.message),
                            WIDTH,
                            st
                        )
                    );
                }
                if fatal {
                    eprintln!("coopnoc: {}", e.message);
                    return Ok(1);
                }
            }
            _ => anyhow::bail!("unexpected answer to line watch"),
        }
    }
    if !s.json {
        let mut end = format!("{readings} reading{}", if readings == 1 { "" } else { "s" });
        if failed > 0 {
            let _ = write!(end, ", {failed} without an answer");
        }
        println!("{end}");
        for l in table.as_ref().map(Watch::summary).unwrap_or_default() {
            println!("{}", output::clip(&format!("  {l}"), WIDTH, st));
        }
    }
    Ok(0)
}
