//! coopnocd's entry point: arguments, logging, runtime, signals, exit codes. The daemon
//! itself is `coopnocd::run`.

use std::process::ExitCode;

use clap::Parser;
use coopnocd::args::Args;
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let args = Args::parse();
    if args.demo {
        return demo(&args);
    }
    if args.check {
        return check(&args);
    }
    let config = match coopnocd::check::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprint!("coopnocd: {e}");
            return ExitCode::from(coopnocd::EXIT_CONFIG);
        }
    };
    init_logging(
        args.log_level
            .as_deref()
            .unwrap_or(&config.daemon.log_level),
    );
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let result = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signals(shutdown.clone()));
        coopnocd::run(config, shutdown).await
    });
    exit_code(result)
}

/// `--check`: the whole check of the configuration, and nothing else. `--json` is what
/// `coopnoc validate` reads.
fn check(args: &Args) -> ExitCode {
    let file = args.config.display().to_string();
    match coopnocd::check::load(&args.config) {
        Ok(c) if args.json => {
            println!(
                "{}",
                serde_json::json!({"file": file, "valid": true, "devices": c.devices.len(), "sites": c.sites.len(), "components": c.components.len()})
            );
            ExitCode::SUCCESS
        }
        Ok(c) => {
            println!(
                "{file}: configuration is valid ({} devices)",
                c.devices.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) if args.json => {
            let problems: Vec<String> = e.problems.iter().map(|p| p.to_string()).collect();
            println!(
                "{}",
                serde_json::json!({"file": e.file, "valid": false, "problems": problems})
            );
            ExitCode::from(coopnocd::EXIT_CONFIG)
        }
        Err(e) => {
            eprint!("coopnocd: {e}");
            ExitCode::from(coopnocd::EXIT_CONFIG)
        }
    }
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("coopnocd")
        .enable_all()
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("coopnocd: cannot start the runtime: {e}");
            None
        }
    }
}

fn exit_code(result: Result<(), coopnocd::RunError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("coopnocd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--demo`: the simulated network and the daemon polling it, in one process.
fn demo(args: &Args) -> ExitCode {
    init_logging(args.log_level.as_deref().unwrap_or("info"));
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async {
        let (demo, config) = match coopnocd::demo::start(&args.state_dir).await {
            Ok(d) => d,
            Err(e) => {
                eprintln!("coopnocd: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("{}", coopnocd::demo::banner(&demo));
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signals(shutdown.clone()));
        let (members, lines) = coopnocd::demo::inventory_csv(demo.network.devices());
        let socket = config.ctl.socket.clone();
        tokio::spawn(async move {
            if let Err(e) = coopnocd::demo::seed(&socket, members, lines).await {
                tracing::error!("demo: could not import the demo's members and lines: {e}");
            }
        });
        let result = coopnocd::run(config, shutdown).await;
        demo.network.shutdown().await;
        exit_code(result)
    })
}

fn init_logging(filter: &str) {
    use tracing_subscriber::EnvFilter;
    // async-snmp logs every failed request at ERROR (a silent device, every poll); our SNMP
    // engine counts and reports those itself, so the crate stays quiet unless asked by name.
    let filter = if filter.contains("async_snmp") {
        filter.to_string()
    } else {
        format!("{filter},async_snmp=off")
    };
    let filter =
        EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info,async_snmp=off"));
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
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot listen for SIGTERM/SIGINT");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    shutdown.cancel();
}
