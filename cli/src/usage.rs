//! `coopnoc usage`, `coopnoc member export` and `coopnoc member erase`.

use std::io::{BufRead, IsTerminal, Write};

use coopnoc_proto::UsageReport;
use coopnoc_proto::{Request, Response};

use crate::{Session, output};

/// Decimal gigabytes with one decimal (1 GB = 10^9 bytes, as members' bills count).
pub fn gb(bytes: u64) -> String {
    format!(
        "{:.1} GB",
        bytes as f64 / coopnoc_proto::BYTES_PER_GB as f64
    )
}

fn percent(share: f64) -> String {
    let p = share * 100.0;
    // Never round an incomplete month up to "100 %".
    if share < 1.0 && p > 99.9 {
        "99.9 %".to_string()
    } else {
        format!("{p:.1} %")
    }
}

fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub async fn usage(
    s: &mut Session,
    target: String,
    month: Option<String>,
    daily: bool,
) -> anyhow::Result<u8> {
    let Response::Usage(r) = s
        .call(Request::Usage {
            target,
            month,
            daily,
        })
        .await?
    else {
        anyhow::bail!("unexpected answer")
    };
    if s.print_json(&r)? {
        return Ok(0);
    }
    print_report(&r);
    Ok(0)
}

fn print_report(r: &UsageReport) {
    let who = if r.subject_kind == "member" {
        "member"
    } else {
        "line"
    };
    println!(
        "Usage of {who} {}, {} ({})",
        r.subject, r.month, r.time_zone
    );
    let unmeasured: Vec<&str> = r
        .lines
        .iter()
        .filter(|l| !l.measured_per_line)
        .map(|l| l.line.as_str())
        .collect();
    for l in &unmeasured {
        println!("  {l}: not measured per line on this device (it only counts per PON port)");
    }
    if r.lines.is_empty() {
        println!("  no lines");
    }
    if !r.lines.is_empty() && unmeasured.len() == r.lines.len() {
        return;
    }
    println!(
        "  download   {:>10}  ({} bytes)",
        gb(r.download_bytes),
        grouped(r.download_bytes)
    );
    println!(
        "  upload     {:>10}  ({} bytes)",
        gb(r.upload_bytes),
        grouped(r.upload_bytes)
    );
    println!(
        "  total      {:>10}  ({} bytes)",
        gb(r.total_bytes),
        grouped(r.total_bytes)
    );
    if r.estimated {
        println!(
            "  estimated: data covers {} of the month so far (gaps are not filled in)",
            percent(r.completeness)
        );
    } else {
        println!("  complete: data covers the whole month so far");
    }
    match r.peak_share {
        Some(share) => println!(
            "  evening peak {}: {} of the total",
            r.evening_peak,
            percent(share)
        ),
        None => println!("  evening peak {}: no traffic", r.evening_peak),
    }
    if !r.days.is_empty() {
        let rows: Vec<Vec<String>> = r
            .days
            .iter()
            .map(|d| {
                vec![
                    d.day.clone(),
                    gb(d.download_bytes),
                    gb(d.upload_bytes),
                    gb(d.peak_bytes),
                    percent(d.completeness),
                ]
            })
            .collect();
        print!(
            "{}",
            output::table(&["DAY", "DOWNLOAD", "UPLOAD", "PEAK", "COVERED"], &rows)
        );
    }
    println!("  (GB = 10^9 bytes; exact bytes with --json)");
}

pub async fn export(s: &mut Session, member: String) -> anyhow::Result<u8> {
    let Response::MemberExport { data } = s.call_raw(Request::MemberExport { member }).await?
    else {
        anyhow::bail!("unexpected answer")
    };
    // The export is for the member: always JSON, machine-readable, exact.
    println!(
        "{}",
        crate::escape::json_safe(serde_json::to_string_pretty(&data)?)
    );
    Ok(0)
}

pub async fn erase(s: &mut Session, member: String, yes: bool) -> anyhow::Result<u8> {
    if !yes {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "erasing {member} needs a confirmation: run it in a terminal, or add --yes"
            );
        }
        print!(
            "This removes member {member}, their usage history and their name from the audit log, for good.\n\
             Their lines stay, unassigned; anonymous cooperative totals stay.\n\
             Type the member reference to confirm: "
        );
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != member {
            println!("not erased");
            return Ok(1);
        }
    }
    let Response::Erased(sum) = s
        .call(Request::MemberErase {
            member: member.clone(),
        })
        .await?
    else {
        anyhow::bail!("unexpected answer")
    };
    if !s.print_json(&sum)? {
        println!(
            "erased member {member}: {} lines detached; {} fine, {} daily and {} monthly usage rows removed; \
             the act is in the audit log without their name",
            sum.lines_detached, sum.fine_rows, sum.daily_rows, sum.monthly_rows
        );
    }
    Ok(0)
}
