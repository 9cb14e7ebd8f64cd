//! Writes coopnocd.8 into the directory given as argument (packaging/gen-man.sh runs this).

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| ".".into());
    std::fs::create_dir_all(&dir)?;
    let page = clap_mangen::Man::new(coopnocd::args::command())
        .section("8")
        .manual("coopnoc")
        .generate_to(&dir)?;
    println!("{}", page.display());
    Ok(())
}
