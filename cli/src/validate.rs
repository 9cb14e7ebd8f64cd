//! `coopnoc validate FILE`: a configuration checked by the daemon's own loader, without
//! linking the daemon: coopnoc runs `coopnocd --check --json -c FILE` (the coopnocd beside
//! the coopnoc executable, else the first on PATH) and says what it answered.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use serde::Deserialize;

use crate::escape;

/// The daemon's name, as installed beside coopnoc.
const DAEMON: &str = "coopnocd";

/// Exit code when no coopnocd can be found (EX_UNAVAILABLE).
const EXIT_NO_DAEMON: u8 = 69;

/// What `coopnocd --check --json` prints.
#[derive(Deserialize)]
struct Checked {
    file: String,
    valid: bool,
    #[serde(default)]
    problems: Vec<String>,
    #[serde(default)]
    sites: usize,
    #[serde(default)]
    devices: usize,
    #[serde(default)]
    components: usize,
}

/// Checks `file`; 0 valid, 1 not, 69 when there is no coopnocd to check it with.
pub fn validate(file: &Path, json: bool) -> anyhow::Result<u8> {
    let Some(daemon) = find_daemon() else {
        let beside = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(|d| d.display().to_string()))
            .unwrap_or_else(|| "coopnoc's folder".into());
        eprintln!(
            "coopnoc: `coopnoc validate` runs coopnocd's own check (`coopnocd --check`), and no \
             coopnocd was found beside coopnoc ({}) or on PATH.\nInstall coopnocd, or run \
             `coopnocd --check -c {}` where it is installed.",
            escape::escape_lines(&beside),
            escape::escape_lines(&file.display().to_string())
        );
        return Ok(EXIT_NO_DAEMON);
    };
    let out = Command::new(&daemon)
        .arg("--check")
        .arg("--json")
        .arg("--config")
        .arg(file)
        // The file named on the command line, not one from the environment.
        .env_remove("COOPNOC_CONFIG")
        .output()
        .with_context(|| format!("running {}", daemon.display()))?;
    let answer = String::from_utf8_lossy(&out.stdout);
    let checked: Checked = match serde_json::from_str(answer.trim()) {
        Ok(c) => c,
        Err(_) => anyhow::bail!(
            "{} --check did not answer as expected (is it the same version as coopnoc?): {}",
            daemon.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    };
    if json {
        println!("{}", answer.trim());
    } else if checked.valid {
        println!(
            "{}: valid ({} sites, {} devices, {} components)",
            file.display(),
            checked.sites,
            checked.devices,
            checked.components
        );
    } else {
        eprint!("{}", escape::escape_lines(&problems_text(&checked)));
    }
    Ok(if checked.valid { 0 } else { 1 })
}

/// The problems as the daemon's loader words them: the file, then one problem a line.
fn problems_text(c: &Checked) -> String {
    let n = c.problems.len();
    let mut text = format!(
        "{}: {n} problem{} in the configuration:\n",
        c.file,
        if n == 1 { "" } else { "s" }
    );
    for p in &c.problems {
        text.push_str(&format!("  - {p}\n"));
    }
    text
}

/// coopnocd beside this executable (as packages install them), else the first on PATH.
fn find_daemon() -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(DAEMON)))
        .filter(|p| is_executable(p));
    beside.or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(DAEMON))
            .find(|p| is_executable(p))
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.file_name() == Some(OsStr::new(DAEMON))
        && std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
