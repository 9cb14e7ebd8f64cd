//! coopnocd's entry point: arguments, logging, runtime, signals, exit codes. The daemon
//! itself is `coopnocd::run`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(
    name = "coopnocd",
    version,
    about = "The operations daemon of a community ISP",
    long_about = "coopnocd polls the cooperative's OLTs, radio links and data-centre devices, \
tracks every subscriber line and its usage in SQLite, and serves the control socket that the \
`coopnoc` CLI talks to.\n\nExit codes: 0 after a clean stop, 78 for a bad configuration (the \
problems are printed on stderr), 1 for any other failure."
)]
struct Args {
    /// The configuration file (TOML). See config/example.toml for every key.
    #[arg(short, long, value_name = "FILE", env = "COOPNOC_CONFIG", default_value = "/etc/coopnoc/coopnoc.toml")]
    config: PathBuf,

    /// Check the configuration, print what is wrong, and exit (0 good, 78 bad).
    #[arg(long)]
    check: bool,

    /// Log level or filter, overriding the config's daemon.log-level (e.g. "debug").
    #[arg(long, value_name = "FILTER", env = "COOPNOC_LOG")]
    log_level: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match coopnocd::config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprint!("coopnocd: {e}");
            return ExitCode::from(coopnocd::EXIT_CONFIG);
        }
    };
    if args.check {
        println!("{}: configuration is valid ({} devices)", args.config.display(), config.devices.len());
        return ExitCode::SUCCESS;
    }
    init_logging(args.log_level.as_deref().unwrap_or(&config.daemon.log_level));

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("coopnocd")
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("coopnocd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signals(shutdown.clone()));
        coopnocd::run(config, shutdown).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("coopnocd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(filter: &str) {
    use tracing_subscriber::EnvFilter;
    // async-snmp logs every failed request at ERROR (a silent device, every poll); our SNMP
    // engine counts and reports those itself, so the crate stays quiet unless asked by name.
    let filter = if filter.contains("async_snmp") { filter.to_string() } else { format!("{filter},async_snmp=off") };
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info,async_snmp=off"));
    // Under journald the journal stamps each line itself.
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if journald {
        builder.without_time().with_ansi(false).init();
    } else {
        builder.init();
    }
}

async fn cancel_on_signals(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("cannot listen for SIGTERM/SIGINT");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    shutdown.cancel();
}
