//! coopnoc: the companion CLI of coopnocd.
//!
//! Exit codes: 0 success, 1 the daemon refused or failed the request (or the config is
//! invalid, for `validate`), 2 bad usage (clap), 69 the daemon cannot be reached (for
//! `validate`: no coopnocd is installed to check with), 77 your role does not allow the
//! command.
//!
//! coopnoc links the control protocol (`coopnoc_proto`), not the daemon: `validate` runs
//! `coopnocd --check` (`validate.rs`).
//!
//! Text from devices and members is escaped in every text output (`escape`).

mod args;
mod device;
mod escape;
mod events;
mod line;
mod lines;
mod output;
mod usage;
mod validate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use coopnoc_proto::{
    self as ipc, ImportKind, LineKind, MatchKind, NewLine, NewMember, ReportPreference, Request,
    Response,
};
use coopnoc_proto::{Client, ClientError};

use args::{Cli, Command, ImportKindArg, LineCommand, MemberCommand};

/// EX_UNAVAILABLE: the daemon is not there.
const EXIT_UNREACHABLE: u8 = 69;
/// EX_NOPERM: the daemon refused the command to this user's role.
const EXIT_FORBIDDEN: u8 = 77;
const DEFAULT_SOCKET: &str = "/run/coopnoc/ctl.sock";
const DEMO_SOCKET: &str = "demo-state/ctl.sock";

/// A connection to the daemon plus how to print.
pub struct Session {
    pub client: Client,
    pub json: bool,
}

impl Session {
    /// Sends a request; an error reply becomes an error with the daemon's words. For the text
    /// outputs, every string of the answer comes escaped.
    pub async fn call(&mut self, request: Request) -> anyhow::Result<Response> {
        let answer = self.call_raw(request).await?;
        if self.json {
            return Ok(answer);
        }
        escape::escaped(answer)
    }

    /// `call`, with the answer exactly as the daemon gave it (a member's export).
    pub async fn call_raw(&mut self, request: Request) -> anyhow::Result<Response> {
        match self.client.call(&request).await? {
            Response::Error(e) => {
                self.print_json(&e)?;
                Err(anyhow::Error::new(DaemonRefused::from(e)))
            }
            other => Ok(other),
        }
    }

    /// Prints a response as JSON when --json was given; returns whether it did.
    pub fn print_json<T: serde::Serialize>(&self, value: &T) -> anyhow::Result<bool> {
        if self.json {
            println!(
                "{}",
                escape::json_safe(serde_json::to_string_pretty(value)?)
            );
        }
        Ok(self.json)
    }
}

/// The daemon's refusal, in its words (and the exit code its kind gives).
#[derive(Debug)]
struct DaemonRefused {
    message: String,
    forbidden: bool,
}

impl From<ipc::ErrorReply> for DaemonRefused {
    fn from(e: ipc::ErrorReply) -> DaemonRefused {
        let mut message = e.message;
        for d in &e.details {
            message.push_str("\n  ");
            message.push_str(d);
        }
        DaemonRefused {
            message,
            forbidden: e.kind == ipc::ErrorKind::Forbidden,
        }
    }
}

impl std::fmt::Display for DaemonRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DaemonRefused {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("coopnoc: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Errors quote what they were given (a file name, a device's words): escaped.
            eprintln!("coopnoc: {}", escape::escape_lines(&format!("{e:#}")));
            if e.downcast_ref::<ClientError>()
                .is_some_and(|c| matches!(c, ClientError::Connect { .. }))
            {
                ExitCode::from(EXIT_UNREACHABLE)
            } else if e
                .downcast_ref::<DaemonRefused>()
                .is_some_and(|r| r.forbidden)
            {
                ExitCode::from(EXIT_FORBIDDEN)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn socket_path(given: Option<PathBuf>) -> PathBuf {
    if let Some(p) = given {
        return p;
    }
    let default = PathBuf::from(DEFAULT_SOCKET);
    if !default.exists() && Path::new(DEMO_SOCKET).exists() {
        return PathBuf::from(DEMO_SOCKET);
    }
    default
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Validate { file } => return validate::validate(file, cli.json),
        Command::GenerateMan { dir } => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(args::command(), dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            return Ok(0);
        }
        _ => {}
    }
    let path = socket_path(cli.socket.clone());
    let client = Client::connect(&path, Duration::from_secs(cli.timeout.max(1))).await?;
    let mut s = Session {
        client,
        json: cli.json,
    };
    match cli.command {
        Command::Validate { .. } | Command::GenerateMan { .. } => unreachable!("handled above"),
        Command::Status => status(&mut s).await,
        Command::Member(cmd) => member(&mut s, cmd).await,
        Command::Line(cmd) => line(&mut s, cmd).await,
        Command::Import { file, kind } => import(&mut s, &file, kind).await,
        Command::Device(cmd) => device::run(&mut s, cmd).await,
        Command::Poll { device } => device::poll(&mut s, &device).await,
        Command::Usage {
            target,
            month,
            daily,
        } => usage::usage(&mut s, target, month, daily).await,
        Command::Lines {
            problems: _,
            unassigned,
        } => lines::run(&mut s, unassigned).await,
        Command::Events {
            since,
            line,
            device,
            limit,
        } => {
            events::run(
                &mut s,
                events::EventsArgs {
                    since,
                    line,
                    device,
                    limit,
                },
            )
            .await
        }
    }
}

async fn status(s: &mut Session) -> anyhow::Result<u8> {
    let Response::Status(st) = s.call(Request::Status).await? else {
        anyhow::bail!("unexpected answer to status");
    };
    if s.print_json(&st)? {
        return Ok(0);
    }
    println!(
        "coopnocd {} for {} (pid {})",
        st.version, st.cooperative, st.pid
    );
    println!(
        "  up since   {} ({})",
        st.started_at,
        output::duration(st.uptime_seconds)
    );
    if let Some(c) = &st.config_file {
        println!("  config     {c}");
    }
    println!(
        "  inventory  {} sites, {} devices, {} members",
        st.sites, st.devices, st.members
    );
    println!(
        "  lines      {} ({} unassigned)",
        st.lines, st.lines_unassigned
    );
    println!(
        "  store      {} (schema {}, {})",
        st.store.path,
        st.store.schema_version,
        output::bytes(st.store.size_bytes)
    );
    Ok(0)
}

fn print_member(m: &ipc::Member) {
    println!("{}  {}", m.reference, m.display_name);
    println!("  email     {}", m.email.as_deref().unwrap_or("-"));
    println!("  language  {}", m.language);
    println!(
        "  reports   {}",
        match m.reports {
            ReportPreference::Email => "monthly summary by email",
            ReportPreference::None => "none (opted out)",
        }
    );
    println!(
        "  lines     {}",
        if m.lines.is_empty() {
            "-".to_string()
        } else {
            m.lines.join(", ")
        }
    );
    println!("  since     {}", m.created_at);
    if let Some(left) = &m.left_at {
        println!("  left      {left}");
    }
}

async fn member(s: &mut Session, cmd: MemberCommand) -> anyhow::Result<u8> {
    match cmd {
        MemberCommand::Add(a) => {
            let req = Request::MemberAdd(NewMember {
                reference: a.reference,
                display_name: a.name,
                email: a.email,
                language: a.language,
                reports: if a.no_reports {
                    ReportPreference::None
                } else {
                    ReportPreference::Email
                },
            });
            let Response::Member(m) = s.call(req).await? else {
                anyhow::bail!("unexpected answer")
            };
            if !s.print_json(&m)? {
                println!("added member {}", m.reference);
            }
        }
        MemberCommand::List => {
            let Response::Members { members } = s.call(Request::MemberList).await? else {
                anyhow::bail!("unexpected answer")
            };
            if !s.print_json(&members)? {
                let rows: Vec<Vec<String>> = members
                    .iter()
                    .map(|m| {
                        vec![
                            m.reference.clone(),
                            m.display_name.clone(),
                            m.language.clone(),
                            m.reports.as_str().to_string(),
                            m.lines.len().to_string(),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    output::table(&["MEMBER", "NAME", "LANG", "REPORTS", "LINES"], &rows)
                );
                println!("{} members", members.len());
            }
        }
        MemberCommand::Export { member } => return usage::export(s, member).await,
        MemberCommand::Erase { member, yes } => return usage::erase(s, member, yes).await,
        MemberCommand::Leave { member, on, undo } => {
            let Response::Member(m) = s.call(Request::MemberLeave { member, on, undo }).await?
            else {
                anyhow::bail!("unexpected answer")
            };
            if !s.print_json(&m)? {
                match &m.left_at {
                    Some(left) => println!("member {} left on {left}", m.reference),
                    None => println!("member {}: membership goes on (no end date)", m.reference),
                }
            }
        }
        MemberCommand::Show { member } => {
            let Response::Member(m) = s.call(Request::MemberShow { member }).await? else {
                anyhow::bail!("unexpected answer")
            };
            if !s.print_json(&m)? {
                print_member(&m);
            }
        }
    }
    Ok(0)
}

async fn line(s: &mut Session, cmd: LineCommand) -> anyhow::Result<u8> {
    match cmd {
        LineCommand::Add(a) => {
            let kind = LineKind::parse(&a.kind)
                .with_context(|| format!("--kind {}: use fibre, radio or port", a.kind))?;
            let match_kind = MatchKind::parse(&a.match_kind).with_context(|| {
                format!(
                    "--match {}: use serial, mac, ifname, ifalias or onu",
                    a.match_kind
                )
            })?;
            let req = Request::LineAdd(NewLine {
                reference: a.reference,
                kind,
                device: a.device,
                match_kind,
                match_key: a.key,
                member: a.member,
                description: a.description,
            });
            let Response::Line(d) = s.call(req).await? else {
                anyhow::bail!("unexpected answer")
            };
            if !s.print_json(&d)? {
                println!("added line {}", d.line.reference);
            }
        }
        LineCommand::List { unassigned } => {
            let Response::Lines { lines } = s
                .call(Request::LineList {
                    unassigned_only: unassigned,
                })
                .await?
            else {
                anyhow::bail!("unexpected answer")
            };
            if !s.print_json(&lines)? {
                let rows: Vec<Vec<String>> = lines
                    .iter()
                    .map(|l| {
                        vec![
                            l.reference.clone(),
                            output::state(&l.state),
                            l.member.clone().unwrap_or_else(|| "-".into()),
                            l.device.clone().unwrap_or_else(|| "-".into()),
                            format!("{} {}", l.match_kind.as_str(), l.match_key),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    output::table(&["LINE", "STATE", "MEMBER", "DEVICE", "FOUND BY"], &rows)
                );
                println!("{} lines", lines.len());
            }
        }
        LineCommand::Show { line } => return line::show_command(s, line).await,
        LineCommand::Watch { line, every, count } => {
            return line::watch(s, line, every, count).await;
        }
        LineCommand::Thresholds(a) => return line::thresholds(s, a).await,
        LineCommand::Assign { line, member, none } => {
            let member = if none { None } else { member };
            let Response::Line(d) = s.call(Request::LineAssign { line, member }).await? else {
                anyhow::bail!("unexpected answer")
            };
            if !s.print_json(&d)? {
                match &d.line.member {
                    Some(m) => println!("line {} now belongs to member {m}", d.line.reference),
                    None => println!("line {} is now unassigned", d.line.reference),
                }
            }
        }
    }
    Ok(0)
}

async fn import(s: &mut Session, file: &Path, kind: Option<ImportKindArg>) -> anyhow::Result<u8> {
    let csv =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let kind = match kind {
        Some(ImportKindArg::Members) => ImportKind::Members,
        Some(ImportKindArg::Lines) => ImportKind::Lines,
        None => coopnoc_proto::ImportKind::guess(&csv).with_context(|| {
            format!(
                "{}: cannot tell members from lines by its header; say --kind members or --kind lines",
                file.display()
            )
        })?,
    };
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    let Response::Imported(sum) = s
        .call(Request::Import {
            kind,
            csv,
            file_name,
        })
        .await?
    else {
        anyhow::bail!("unexpected answer")
    };
    if !s.print_json(&sum)? {
        println!(
            "imported {}: {} rows ({} new, {} updated)",
            escape::escape(&file.display().to_string()),
            sum.rows,
            sum.created,
            sum.updated
        );
    }
    Ok(0)
}
