//! The command line of `coopnoc`. Kept apart from `main` so that man pages and completions are
//! generated from the same definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::device::DeviceCommand;

#[derive(Parser, Debug)]
#[command(
    name = "coopnoc",
    version,
    about = "Talk to coopnocd: line status, inventory, members' data requests",
    long_about = "coopnoc is the companion of the coopnocd daemon. Technicians check lines and \
devices with it; the cooperative manages members and lines, imports them from CSV, and answers \
members' data requests.\n\nIt talks to the daemon over its control socket (default \
/run/coopnoc/ctl.sock; see --socket). Every command takes --json for machine-readable output."
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
    Validate {
        /// The file to check, e.g. /etc/coopnoc/coopnoc.toml.
        file: PathBuf,
    },
    /// Members: add, list, show; export or erase what is held about one.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Subscriber lines: add, list, show, assign to a member.
    #[command(subcommand)]
    Line(LineCommand),
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
    /// Show a line: by its reference, ONU serial, MAC, interface name, or its member.
    Show {
        /// Line reference, ONU serial, station MAC, interface name or member reference.
        line: String,
    },
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

/// The whole command line, for man pages and completions.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}
