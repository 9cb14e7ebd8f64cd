//! `coopnoc-sim demo|bench`: run a simulated network in the foreground.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use coopnoc_sim::SimNetwork;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Preset {
    /// A small cooperative of about 2,000 lines.
    Demo,
    /// 8 OLTs of 1,250 ONUs and 100 radios.
    Bench,
    /// One OLT of 10,000 ONUs in the peer benchmark's shape (`bench/peers/gen_snmprec.py`).
    Olt10k,
}

/// Run a simulated coopnoc network (SNMP agents on 127.0.0.1) until Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "coopnoc-sim", version)]
struct Args {
    preset: Preset,
    /// Delay added to every request, in milliseconds (bench default: 2, others: 0).
    #[arg(long)]
    latency_ms: Option<u64>,
    /// Put device i on port P+i instead of ports chosen by the system.
    #[arg(long, value_name = "P")]
    base_port: Option<u16>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    let latency = args.latency_ms.map(Duration::from_millis);
    let specs = match args.preset {
        Preset::Demo => {
            let mut specs = coopnoc_sim::demo();
            if let Some(latency) = latency {
                for spec in &mut specs {
                    spec.behaviour.latency = latency;
                }
            }
            specs
        }
        Preset::Bench => coopnoc_sim::bench(latency.unwrap_or(coopnoc_sim::BENCH_LATENCY)),
        Preset::Olt10k => {
            let mut spec = coopnoc_sim::DeviceSpec::synthetic_olt(
                "olt-bench-1",
                coopnoc_sim::SyntheticOlt::olt10k(),
            );
            spec.behaviour.latency = latency.unwrap_or_default();
            vec![spec]
        }
    };
    let started = Instant::now();
    let network = match args.base_port {
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
