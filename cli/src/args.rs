//! The command line of `coopnoc`. Kept apart from `main` so that man pages and completions are
//! generated from the same definition.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::device::DeviceCommand;

#[derive(Parser, Debug)]
#[command(
    name = "coopnoc",
    version,
    about = "Talk to coopnocd: line status, inventory, members' data requests",
    long_about = "coopnoc is the companion of the coopnocd daemon. Technicians check lines and \
devices with it; the cooperative manages members and lines, imports them from CSV, and answers \
members' data requests.\n\nIt talks to the daemon over its control socket (default \
/run/coopnoc/ctl.sock; see --socket). Every command takes --json for machine-readable output. \
Text from devices and members is shown with control characters escaped (\\x1b).\n\n\
What you may do depends on your Unix groups: technicians (group coopnoc-tech) read status, \
devices, lines and events and poll; administrators (coopnoc-admin, and root) also manage \
members, their usage and data requests, imports and lines.\n\n\
Exit status: 0 done, 1 refused or failed, 2 bad usage, 69 the daemon cannot be reached, \
77 your role does not allow the command."
)]
pub struct Cli {
    /// The daemon's control socket [default: $COOPNOC_SOCKET, else /run/coopnoc/ctl.sock,
    /// else ./demo-state/ctl.sock when the demo runs from this folder]
    #[arg(long, global = true, value_name = "PATH", env = "COOPNOC_SOCKET")]
    pub socket: Option<PathBuf>,

    /// Print JSON instead of text, for scripts.
    #[arg(long, global = true)]
    pub json: bool,

    /// Seconds to wait for the daemon's answer.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The daemon's version, uptime, inventory counts and store size.
    Status,
    /// Check a configuration file with the daemon's own loader (exit 0 valid, 1 not).
    ///
    /// Runs `coopnocd --check` on it: the coopnocd installed beside coopnoc, else the first on
    /// PATH (exit 69 when there is none).
    Validate {
        /// The file to check, e.g. /etc/coopnoc/coopnoc.toml.
        file: PathBuf,
    },
    /// Members: add, list, show, leave; export or erase what is held about one.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Subscriber lines: show, watch, add, list, assign to a member, set thresholds.
    #[command(subcommand)]
    Line(LineCommand),
    /// Lines in trouble, worst first; or ONUs and stations that no line matches.
    ///
    /// Without an option: every line down, degraded or flapping, worst first, with how many
    /// lines are unknown (their device unreachable, or not seen on it). With --unassigned: the
    /// ONUs and radio stations the devices show that no line matches, and the `coopnoc line
    /// add` command that makes a line of one.
    Lines {
        /// Lines down, degraded or flapping (the default).
        #[arg(long, conflicts_with = "unassigned")]
        problems: bool,
        /// ONUs and stations no line matches, with the command that makes a line of one.
        #[arg(long)]
        unassigned: bool,
    },
    /// What changed, newest first: lines, devices and their links.
    ///
    /// State changes of lines (up, degraded, down, unknown) with their reason, and of devices
    /// and their links. Times in UTC.
    Events {
        /// From when: a duration back from now (30m, 24h, 7d), a date (2026-11-28, from
        /// midnight UTC) or a time with its offset (2026-11-28T10:00:00Z).
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Only this line's events (reference, ONU serial, MAC, interface or member).
        #[arg(long, conflicts_with = "device")]
        line: Option<String>,
        /// Only this device's events, its interfaces' included.
        #[arg(long)]
        device: Option<String>,
        /// Show at most this many, the newest.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10000))]
        limit: u32,
    },
    /// Import members or lines from a CSV file, all rows or none.
    ///
    /// members.csv columns: ref,name[,email,language,reports]
    /// lines.csv columns:   ref,kind,match,key[,device,member,description]
    /// (kind: fibre|radio|port; match: serial|mac|ifname|ifalias|onu). The kind of file is
    /// guessed from its header unless --kind says it.
    Import {
        /// The CSV file (UTF-8, with a header row).
        file: PathBuf,
        /// What the file holds, when the header does not make it plain.
        #[arg(long, value_enum)]
        kind: Option<ImportKindArg>,
    },
    /// Polled devices: list, show.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Poll a device now, outside its schedule, and show the result.
    Poll {
        /// The device's name, as in the configuration.
        device: String,
    },
    /// Write coopnoc's man pages (coopnoc.1 and one page per subcommand) into DIR; for
    /// packaging.
    #[command(hide = true)]
    GenerateMan {
        /// Where to write the pages.
        dir: PathBuf,
    },
    /// Data used by a line or a member in a month: download, upload, evening-peak share,
    /// completeness. Volumes in decimal GB (10^9 bytes); exact bytes with --json.
    Usage {
        /// A line (reference, ONU serial, MAC, interface) or a member reference.
        target: String,
        /// The month, YYYY-MM, in the cooperative's time zone [default: this month].
        #[arg(long, value_name = "YYYY-MM")]
        month: Option<String>,
        /// Also show each day.
        #[arg(long)]
        daily: bool,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ImportKindArg {
    Members,
    Lines,
}

#[derive(Subcommand, Debug)]
pub enum MemberCommand {
    /// Add a member.
    Add(MemberAddArgs),
    /// List members.
    List,
    /// Show a member and their lines.
    Show {
        /// The member's reference (member number).
        member: String,
    },
    /// Everything held about a member, as JSON (for a data-access request).
    Export {
        /// The member's reference (member number).
        member: String,
    },
    /// Remove a member and their usage history for good (their lines stay, unassigned;
    /// anonymous cooperative totals stay). Asks for confirmation unless --yes.
    Erase {
        /// The member's reference (member number).
        member: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Record that a membership ended. Usage history stays; the monthly totals are pruned
    /// once [retention] monthly-after-membership has passed since that day.
    Leave {
        /// The member's reference (member number).
        member: String,
        /// The day the membership ended, YYYY-MM-DD in the cooperative's time zone
        /// [default: today].
        #[arg(long, value_name = "YYYY-MM-DD", conflicts_with = "undo")]
        on: Option<String>,
        /// The membership goes on after all: clear the end date.
        #[arg(long)]
        undo: bool,
    },
}

#[derive(Args, Debug)]
pub struct MemberAddArgs {
    /// The member's reference (member number), e.g. M-0042.
    #[arg(long = "ref", value_name = "REF")]
    pub reference: String,
    /// Name as shown to technicians and in the member's own reports.
    #[arg(long)]
    pub name: String,
    /// Where the monthly summary goes.
    #[arg(long)]
    pub email: Option<String>,
    /// Language of the member's reports (fr, en).
    #[arg(long, default_value = "fr")]
    pub language: String,
    /// The member does not want the monthly summary by email.
    #[arg(long)]
    pub no_reports: bool,
}

#[derive(Subcommand, Debug)]
pub enum LineCommand {
    /// Add a line.
    Add(LineAddArgs),
    /// List lines.
    List {
        /// Only lines not yet attached to a member.
        #[arg(long)]
        unassigned: bool,
    },
    /// Show a line: its state, where it hangs, its levels, what happened to it.
    ///
    /// State and since when, member, site / device / port / ONU, levels now with their last
    /// 24 hours, traffic, flaps, last events.
    Show {
        /// Line reference, ONU serial, station MAC, interface name or member reference.
        line: String,
    },
    /// Read a line's levels again and again, to see a repair take effect.
    ///
    /// One row per reading with each level's change since the previous one: to see a cleaned
    /// connector or a re-aimed antenna take effect. Each reading is a single SNMP GET of the
    /// line's ONU or station, judged without hysteresis. Stops on Ctrl-C or after --count
    /// readings; a reading the device does not answer is reported and the watch goes on. With
    /// --json, one JSON object per reading and line.
    Watch {
        /// Line reference, ONU serial, station MAC, interface name or member reference.
        line: String,
        /// Time between two readings (at least 1s).
        #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_interval)]
        every: Duration,
        /// Stop after this many readings.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
    },
    /// Give a line its own thresholds, or remove them with --clear.
    ///
    /// For a line that lives outside the usual range: a long rural fibre may be fine at -28
    /// dBm. The values given are set; the line's other own values stay; a threshold the line
    /// has no value for is the configured one ([lines] in coopnoc.toml).
    Thresholds(ThresholdArgs),
    /// Attach a line to a member (or detach it with --none).
    Assign {
        /// The line (reference, serial, MAC or interface name).
        line: String,
        /// The member's reference.
        #[arg(required_unless_present = "none")]
        member: Option<String>,
        /// Detach the line from its member.
        #[arg(long, conflicts_with = "member")]
        none: bool,
    },
}

#[derive(Args, Debug)]
pub struct LineAddArgs {
    /// The line's reference, e.g. L-0042.
    #[arg(long = "ref", value_name = "REF")]
    pub reference: String,
    /// fibre, radio or port.
    #[arg(long)]
    pub kind: String,
    /// How the line is found on its device: serial (ONU), mac (radio station), ifname, ifalias,
    /// onu (PON port and ONU id as the OLT names them, e.g. gpon_1/1/3:12).
    #[arg(long = "match", value_name = "HOW")]
    pub match_kind: String,
    /// The ONU serial, station MAC, or interface name/alias.
    #[arg(long)]
    pub key: String,
    /// The device it hangs on (required for ifname/ifalias).
    #[arg(long)]
    pub device: Option<String>,
    /// The member it belongs to.
    #[arg(long)]
    pub member: Option<String>,
    /// A note for technicians (where the ONU is, access...).
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Args, Debug)]
#[command(group(
    ArgGroup::new("thresholds")
        .required(true)
        .multiple(true)
        .args(["optical_rx_min", "optical_rx_max", "radio_signal_min", "radio_snr_min", "clear"])
))]
pub struct ThresholdArgs {
    /// Line reference, ONU serial, station MAC, interface name or member reference.
    pub line: String,
    /// Degraded below this optical receive level (at the ONU and at the OLT).
    #[arg(long, value_name = "DBM", allow_negative_numbers = true)]
    pub optical_rx_min: Option<f64>,
    /// Degraded above this optical receive level (overload).
    #[arg(long, value_name = "DBM", allow_negative_numbers = true)]
    pub optical_rx_max: Option<f64>,
    /// Degraded below this radio signal level.
    #[arg(long, value_name = "DBM", allow_negative_numbers = true)]
    pub radio_signal_min: Option<f64>,
    /// Degraded below this radio signal-to-noise ratio.
    #[arg(long, value_name = "DB", allow_negative_numbers = true)]
    pub radio_snr_min: Option<f64>,
    /// Remove the line's own thresholds: the configured ones apply again.
    #[arg(long, conflicts_with_all = ["optical_rx_min", "optical_rx_max", "radio_signal_min", "radio_snr_min"])]
    pub clear: bool,
}

/// `--every`: a duration of at least a second.
/// The shortest interval between two reads of `line watch`: an OLT's SNMP agent is slow and
/// shared.
pub const MIN_WATCH_INTERVAL: Duration = Duration::from_secs(1);

fn parse_interval(text: &str) -> Result<Duration, String> {
    let d = coopnoc_proto::parse_duration(text)?;
    if d < MIN_WATCH_INTERVAL {
        return Err(format!("{text} is too often for the device: at least 1s"));
    }
    Ok(d)
}

/// The whole command line, for man pages and completions.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("coopnoc").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn the_technician_commands_parse() {
        let cli = parse(&["line", "thresholds", "L-1", "--optical-rx-min", "-28"])
            .expect("negative level");
        let Command::Line(LineCommand::Thresholds(t)) = cli.command else {
            panic!("thresholds")
        };
        assert_eq!(t.optical_rx_min, Some(-28.0));
        assert!(
            parse(&["line", "thresholds", "L-1"]).is_err(),
            "nothing to set"
        );
        assert!(
            parse(&[
                "line",
                "thresholds",
                "L-1",
                "--clear",
                "--radio-snr-min",
                "20"
            ])
            .is_err()
        );
        let cli = parse(&["line", "watch", "L-1"]).expect("watch");
        let Command::Line(LineCommand::Watch { every, count, .. }) = cli.command else {
            panic!("watch")
        };
        assert_eq!((every, count), (Duration::from_secs(2), None));
        assert!(
            parse(&["line", "watch", "L-1", "--every", "200ms"]).is_err(),
            "too often"
        );
        assert!(
            parse(&["line", "watch", "L-1", "--every", "5"]).is_err(),
            "no unit"
        );
        assert!(parse(&["lines", "--problems", "--unassigned"]).is_err());
        assert!(parse(&["events", "--line", "L-1", "--device", "olt"]).is_err());
        let cli = parse(&["events", "--since", "24h"]).expect("events");
        let Command::Events { limit, .. } = cli.command else {
            panic!("events")
        };
        assert_eq!(limit, 50);
    }
}
