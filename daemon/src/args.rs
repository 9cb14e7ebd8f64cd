//! coopnocd's command line. Kept in the library so that the man page (coopnocd.8) is
//! generated from the same definition as the parser (`examples/gen_man.rs`).

use std::path::PathBuf;

use clap::{CommandFactory, Parser};

#[derive(Parser, Debug)]
#[command(
    name = "coopnocd",
    version,
    about = "The operations daemon of a community ISP",
    long_about = "coopnocd polls the cooperative's OLTs, radio links and data-centre devices, \
reads the server's own uplinks over netlink, tracks every subscriber line and its usage in \
SQLite, and serves the control socket that the `coopnoc` CLI talks to.\n\nExit codes: 0 after a \
clean stop, 78 for a bad configuration (the problems are printed on stderr), 1 for any other \
failure.",
    after_long_help = "Signals: SIGHUP re-reads and checks the configuration file; a bad file is \
refused, with the reasons in the log, and the daemon goes on with the configuration it had. \
SIGTERM and SIGINT stop it cleanly.\n\nUnder systemd (coopnocd.service, Type=notify) it reports \
READY=1 once the store and the control socket are up, says what it does in STATUS=, and pings \
the watchdog (WatchdogSec=) only while its store writer and collectors are alive.\n\nFiles: \
/etc/coopnoc/coopnoc.toml (configuration), /var/lib/coopnoc/coopnoc.db (the store), \
/run/coopnoc/ctl.sock (control socket).\n\nSee also: coopnoc(1)."
)]
pub struct Args {
    /// The configuration file (TOML). See config/example.toml for every key.
    #[arg(
        short,
        long,
        value_name = "FILE",
        env = "COOPNOC_CONFIG",
        default_value = "/etc/coopnoc/coopnoc.toml"
    )]
    pub config: PathBuf,

    /// Check the configuration, print what is wrong, and exit (0 good, 78 bad). This is what
    /// `coopnoc validate FILE` runs.
    #[arg(long, conflicts_with = "demo")]
    pub check: bool,

    /// With --check: say it as one JSON object on stdout (`valid`, and `problems` or what
    /// the configuration holds).
    #[arg(long, requires = "check")]
    pub json: bool,

    /// Run on a simulated cooperative network (SNMP agents on 127.0.0.1 replaying real device
    /// recordings), with no configuration file: a demo, and a playground for the CLI.
    #[arg(long)]
    pub demo: bool,

    /// With --demo: where the demo keeps its database, socket and generated configuration.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "demo-state",
        requires = "demo"
    )]
    pub state_dir: PathBuf,

    /// Log level or filter, overriding the config's daemon.log-level (e.g. "debug").
    #[arg(long, value_name = "FILTER", env = "COOPNOC_LOG")]
    pub log_level: Option<String>,
}

/// The clap command, for man pages and completions.
pub fn command() -> clap::Command {
    Args::command()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        super::command().debug_assert();
    }

    #[test]
    fn the_man_page_tells_signals_and_files() {
        let mut page = Vec::new();
        clap_mangen::Man::new(super::command())
            .section("8")
            .render(&mut page)
            .expect("render");
        let page = String::from_utf8(page).expect("utf-8");
        assert!(page.contains(".TH coopnocd 8"), "{page}");
        for needle in [
            "SIGHUP",
            "/etc/coopnoc/coopnoc.toml",
            "/run/coopnoc/ctl.sock",
            "78",
        ] {
            assert!(page.contains(needle), "{needle} missing from coopnocd.8");
        }
    }
}
