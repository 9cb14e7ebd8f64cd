//! Writes coopnoc.1 and one page per subcommand (coopnoc-line.1, ...) into the directory
//! given as argument (packaging/gen-man.sh runs this). The CLI is a binary crate, so its
//! clap definition is included from the source files; `Session` is only named there.

#![allow(dead_code)]

#[path = "../src/args.rs"]
mod args;
#[path = "../src/device.rs"]
mod device;

/// Stands for the CLI's session in the signatures of `device.rs`; never built here.
pub struct Session;

fn main() -> std::io::Result<()> {
    use clap::CommandFactory;
    let dir = std::env::args_os().nth(1).map(std::path::PathBuf::from).unwrap_or_else(|| ".".into());
    std::fs::create_dir_all(&dir)?;
    clap_mangen::generate_to(args::Cli::command(), &dir)?;
    println!("{}", dir.display());
    Ok(())
}
