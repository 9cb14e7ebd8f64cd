//! `coopnoc-sim`: run a simulated network in the foreground, or drive the failure scenarios
//! of one that runs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use coopnoc_sim::{BenchShape, DeviceSpec, ScenarioLibrary, SimNetwork, SyntheticOlt};

/// A simulated community-ISP network: SNMP agents on 127.0.0.1, and failure scenarios.
#[derive(Debug, Parser)]
#[command(name = "coopnoc-sim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A small cooperative of about 2,000 lines (runs until Ctrl-C).
    Demo(Run),
    /// The benchmark network: OLTs of synthetic ONUs and radios (runs until Ctrl-C).
    Bench {
        /// Number of OLTs.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(0..=1000))]
        olts: u32,
        /// ONUs (lines) per OLT.
        #[arg(long, default_value_t = 1250, value_parser = clap::value_parser!(u32).range(1..=200_000))]
        onus_per_olt: u32,
        /// Number of radios (replaying the radio recordings in turn).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=20_000))]
        radios: u32,
        #[command(flatten)]
        run: Run,
    },
    /// One OLT of 10,000 ONUs in the peer benchmark's shape (`bench/peers/gen_snmprec.py`).
    Olt10k(Run),
    /// Start, stop or list the failure scenarios of a running network, or check files.
    Scenario(ScenarioArgs),
}

#[derive(Debug, Args)]
struct Run {
    /// Delay added to every request, in milliseconds (bench default: 2, others: 0).
    #[arg(long)]
    latency_ms: Option<u64>,
    /// Put device i on port P+i instead of ports chosen by the system.
    #[arg(long, value_name = "P")]
    base_port: Option<u16>,
    /// Listen for scenario commands on this Unix socket (`coopnoc-sim scenario --socket`).
    #[arg(long, value_name = "PATH")]
    control: Option<PathBuf>,
    /// Scenario files (`*.toml`) that add to or replace the built-in ones.
    #[arg(long, value_name = "DIR")]
    scenarios: Option<PathBuf>,
    /// Start this scenario once the network runs (may be repeated).
    #[arg(long = "scenario", value_name = "NAME")]
    start: Vec<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  coopnoc-sim scenario --list --socket demo-state/sim.sock
  coopnoc-sim scenario power-cut --socket sim.sock            start (or start over)
  coopnoc-sim scenario rain-fade --speed 10 --socket sim.sock  ten times faster
  coopnoc-sim scenario power-cut --stop --socket sim.sock      stop one
  coopnoc-sim scenario --stop --socket sim.sock                stop every one
  coopnoc-sim scenario --check my-scenario.toml                check a file
Built-in scenarios: power-cut, fibre-cut, rain-fade, dirty-connector, olt-reboot,
ups-on-battery, olt-unreachable. The file format is in the sim's README.")]
struct ScenarioArgs {
    /// The scenario to start (or, with --stop, to stop).
    name: Option<String>,
    /// The running network's control socket (coopnocd --demo: <state-dir>/sim.sock).
    #[arg(long, value_name = "PATH", env = "COOPNOC_SIM_SOCKET")]
    socket: Option<PathBuf>,
    /// Scenario seconds per real second (default: the file's, 1 unless it says).
    #[arg(long)]
    speed: Option<f64>,
    /// Stop the named scenario, or every one without a name.
    #[arg(long, conflicts_with_all = ["list", "check", "speed"])]
    stop: bool,
    /// List the scenarios that can start, run, or ended.
    #[arg(long, conflicts_with_all = ["check", "speed"])]
    list: bool,
    /// Check scenario files (no network needed); the problems are printed with their line.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["socket", "speed"])]
    check: Vec<PathBuf>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(run) => {
            let mut specs = coopnoc_sim::demo();
            if let Some(ms) = run.latency_ms {
                for spec in &mut specs {
                    spec.behaviour.latency = Duration::from_millis(ms);
                }
            }
            serve(specs, run).await
        }
        Command::Bench {
            olts,
            onus_per_olt,
            radios,
            run,
        } => {
            let shape = BenchShape {
                olts,
                onus_per_olt,
                radios,
                latency: run
                    .latency_ms
                    .map_or(coopnoc_sim::BENCH_LATENCY, Duration::from_millis),
            };
            if shape.lines() > 2_000_000 {
                eprintln!(
                    "coopnoc-sim: {} lines is more than the 2,000,000 the bench numbers (L-00001...)",
                    shape.lines()
                );
                return ExitCode::from(2);
            }
            serve(coopnoc_sim::bench(shape), run).await
        }
        Command::Olt10k(run) => {
            let mut spec = DeviceSpec::synthetic_olt("olt-bench-1", SyntheticOlt::olt10k());
            spec.behaviour.latency = Duration::from_millis(run.latency_ms.unwrap_or(0));
            serve(vec![spec], run).await
        }
        Command::Scenario(args) => scenario(args).await,
    }
}

async fn serve(specs: Vec<DeviceSpec>, run: Run) -> ExitCode {
    let started = Instant::now();
    let network = match run.base_port {
        Some(port) => SimNetwork::start_at(specs, port).await,
        None => SimNetwork::start(specs).await,
    };
    let network = match network {
        Ok(network) => network,
        Err(error) => {
            eprintln!("coopnoc-sim: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("# name\tkind\taddress\tcommunity\tlines\tsite\trecording");
    for d in network.devices() {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            d.name, d.kind, d.addr, d.community, d.lines, d.site, d.recording
        );
    }
    for d in network.devices() {
        if let Some(v3) = &d.v3 {
            println!(
                "# {} also answers SNMPv3: user {}, authPriv SHA-256/AES-128 (demo secrets: see coopnoc_sim::demo_v3_user)",
                d.name, v3.user
            );
        }
    }
    if let Some(socket) = &run.control {
        if let Err(error) = network.serve_control(socket, run.scenarios.clone()).await {
            eprintln!("coopnoc-sim: {error}");
            network.shutdown().await;
            return ExitCode::FAILURE;
        }
        println!(
            "# scenarios: coopnoc-sim scenario --list --socket {}",
            socket.display()
        );
    }
    let library = match &run.scenarios {
        Some(dir) => ScenarioLibrary::with_dir(dir),
        None => ScenarioLibrary::builtin(),
    };
    for problem in &library.problems {
        eprintln!("coopnoc-sim: scenario file skipped:\n{problem}");
    }
    for name in &run.start {
        let Some(scenario) = library.get(name) else {
            eprintln!(
                "coopnoc-sim: no scenario named {name:?} (available: {})",
                library.names().join(", ")
            );
            network.shutdown().await;
            return ExitCode::from(2);
        };
        match network.start_scenario(scenario.clone()).await {
            Ok(status) => println!("# scenario {} started: {}", status.name, status.description),
            Err(error) => {
                eprintln!("coopnoc-sim: {error}");
                network.shutdown().await;
                return ExitCode::FAILURE;
            }
        }
    }
    println!(
        "# {} devices, {} lines, started in {} ms. Stop with Ctrl-C (or kill -INT {}).",
        network.devices().len(),
        network.lines(),
        started.elapsed().as_millis(),
        std::process::id()
    );
    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("coopnoc-sim: cannot wait for Ctrl-C: {error}");
    }
    network.shutdown().await;
    ExitCode::SUCCESS
}

async fn scenario(args: ScenarioArgs) -> ExitCode {
    if !args.check.is_empty() {
        let mut bad = false;
        for path in &args.check {
            match ScenarioLibrary::read_file(path) {
                Ok(s) => println!(
                    "{}: ok, scenario {} ({} events)",
                    path.display(),
                    s.name,
                    s.events.len()
                ),
                Err(errors) => {
                    bad = true;
                    eprintln!("{errors}");
                }
            }
        }
        return if bad {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    let Some(socket) = args.socket else {
        eprintln!(
            "coopnoc-sim: --socket PATH is needed: the running network's control socket (coopnocd --demo: <state-dir>/sim.sock)"
        );
        return ExitCode::from(2);
    };
    let command = match (&args.name, args.stop, args.list) {
        (_, _, true) => "list".to_owned(),
        (Some(name), true, _) => format!("stop {name}"),
        (None, true, _) => "stop".to_owned(),
        (Some(name), false, _) => match args.speed {
            Some(speed) => format!("start {name} {speed}"),
            None => format!("start {name}"),
        },
        (None, false, false) => {
            eprintln!(
                "coopnoc-sim: name a scenario to start, or use --list or --stop (see --help)"
            );
            return ExitCode::from(2);
        }
    };
    match coopnoc_sim::control::request(&socket, &command).await {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("coopnoc-sim: {error}");
            ExitCode::FAILURE
        }
    }
}
