//! `coopnocd --demo`: the daemon on a simulated cooperative, with no setup.
//!
//! Starts the simulated network of `coopnoc-sim` (SNMP agents on 127.0.0.1 replaying real
//! device recordings, with counters that move), writes a config for it into the state
//! directory (so people can read what a real one looks like), and loads that config through
//! the same loader as any other.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use coopnoc_sim::{RunningDevice, SimNetwork};

use crate::config::{self, Config};

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo state directory {path}: {source}")]
    StateDirectory {
        path: String,
        source: std::io::Error,
    },
    #[error("starting the simulated network: {0}")]
    Network(#[from] coopnoc_sim::SimError),
    #[error("the generated demo configuration is invalid (a bug): {0}")]
    Config(#[from] config::ConfigError),
}

pub struct Demo {
    pub network: SimNetwork,
    pub config_path: PathBuf,
    /// The simulated network's scenario socket (`coopnoc-sim scenario NAME --socket`), if
    /// it could be opened.
    pub scenario_socket: Option<PathBuf>,
}

/// Starts the simulated network and returns it with the config that polls it.
pub async fn start(state_dir: &Path) -> Result<(Demo, Config), DemoError> {
    let io = |source| DemoError::StateDirectory {
        path: state_dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(state_dir).map_err(io)?;
    let state_dir = state_dir.canonicalize().map_err(io)?;
    let network = SimNetwork::start(coopnoc_sim::demo()).await?;
    // Failure scenarios are started from outside through the sim's own socket, never
    // through the daemon's control protocol; a trainer's files go in `scenarios/`.
    let socket = state_dir.join("sim.sock");
    let scenario_socket = match network
        .serve_control(&socket, Some(state_dir.join("scenarios")))
        .await
    {
        Ok(()) => Some(socket),
        Err(e) => {
            tracing::warn!("demo: no failure scenarios: {e}");
            None
        }
    };
    let text = config_text(&state_dir, network.devices());
    let config_path = state_dir.join("coopnoc.toml");
    std::fs::write(&config_path, text).map_err(io)?;
    let config = crate::check::load(&config_path)?;
    Ok((
        Demo {
            network,
            config_path,
            scenario_socket,
        },
        config,
    ))
}

/// A site's name as an identifier: "Château d'eau de Villiers" -> "chateau-d-eau-de-villiers".
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = match c {
            'à' | 'â' | 'ä' | 'À' | 'Â' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            c => c.to_ascii_lowercase(),
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(64).collect()
}

fn config_text(state_dir: &Path, devices: &[RunningDevice]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Written by `coopnocd --demo` for the simulated network it started; rewritten at each start.\n\
         # A real configuration is described in config/example.toml.\n\n\
         [daemon]\nstate-directory = \"{dir}\"\ncooperative-name = \"Coopérative de démonstration\"\n\
         time-zone = \"Europe/Paris\"\nshutdown-timeout = \"5s\"\n\n\
         [ctl]\nsocket = \"{dir}/ctl.sock\"\n\n\
         [reports]\nenabled = false\n\n\
         [poll]\n# Livelier than the defaults, for a demo.\nstatus-interval = \"15s\"\nslow-interval = \"2m\"\ntimeout = \"1s\"\n",
        dir = state_dir.display()
    );
    let mut sites: Vec<(&str, String)> = Vec::new();
    for d in devices {
        if !sites.iter().any(|(name, _)| *name == d.site) {
            sites.push((&d.site, slug(&d.site)));
        }
    }
    for (name, id) in &sites {
        let _ = writeln!(
            t,
            "[[site]]\nname = \"{id}\"\ndescription = \"{}\"\n",
            name.replace('"', "'")
        );
    }
    for d in devices {
        let site = sites
            .iter()
            .find(|(n, _)| *n == d.site)
            .map(|(_, id)| id.as_str())
            .unwrap_or("");
        let snmp = match &d.v3 {
            Some(v3) => format!(
                "{{ version = \"3\", user = \"{}\", auth-protocol = \"sha256\", auth-password = \"{}\", priv-protocol = \"aes128\", priv-password = \"{}\" }}",
                v3.user, v3.auth_password, v3.priv_password
            ),
            None => format!("{{ version = \"2c\", community = \"{}\" }}", d.community),
        };
        let _ = writeln!(
            t,
            "# {} ({} lines, replays {})\n[[device]]\nname = \"{}\"\nsite = \"{site}\"\nkind = \"{}\"\naddress = \"{}\"\nsnmp = {snmp}",
            d.name,
            d.lines,
            d.recording,
            d.name,
            d.kind.as_str(),
            d.addr
        );
        if d.kind.as_str() == "olt" {
            let _ = writeln!(t, "poll = {{ optics = true }}");
        }
        t.push('\n');
    }
    for (name, id) in &sites {
        let members: Vec<String> = devices
            .iter()
            .filter(|d| d.site == *name)
            .map(|d| format!("\"{}\"", d.name))
            .collect();
        let _ = writeln!(
            t,
            "[[component]]\nid = \"{id}\"\nname = \"{}\"\ndevices = [{}]\n",
            name.replace('"', "'"),
            members.join(", ")
        );
    }
    t
}

/// The demo cooperative's members and lines, as the CSV files a cooperative would import:
/// one household per ONU of the simulated OLTs, found by the ifAlias the OLT carries. The
/// radio stations are left unassigned, for `coopnoc lines --unassigned`.
pub fn inventory_csv(devices: &[RunningDevice]) -> (String, String) {
    let mut members = String::from("ref,name,email,language,reports\n");
    let mut lines = String::from("ref,kind,match,key,device,member,description\n");
    for d in devices {
        for label in &d.line_labels {
            let number = label.trim_start_matches("L-");
            let _ = writeln!(members, "M-{number},Foyer {number},,fr,none");
            let _ = writeln!(
                lines,
                "{label},fibre,ifalias,{label},{},M-{number},",
                d.name
            );
        }
    }
    (members, lines)
}

/// Imports the demo's members and lines through the control socket, the way a cooperative
/// does with `coopnoc import`, once the daemon answers; nothing when it already has lines
/// (a demo restarted on its state directory).
pub async fn seed(socket: &Path, members: String, lines: String) -> Result<(), String> {
    use coopnoc_proto::Client;
    use coopnoc_proto::{ImportKind, Request, Response};
    let timeout = std::time::Duration::from_secs(60);
    let mut client = None;
    for _ in 0..200 {
        if let Ok(c) = Client::connect(socket, timeout).await {
            client = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut client =
        client.ok_or_else(|| format!("the daemon did not answer on {}", socket.display()))?;
    let status = client
        .call(&Request::Status)
        .await
        .map_err(|e| e.to_string())?;
    if let Response::Status(s) = status
        && s.lines > 0
    {
        return Ok(());
    }
    for (kind, csv, file_name) in [
        (ImportKind::Members, members, "demo-members.csv"),
        (ImportKind::Lines, lines, "demo-lines.csv"),
    ] {
        match client
            .call(&Request::Import {
                kind,
                csv,
                file_name: file_name.to_string(),
            })
            .await
            .map_err(|e| e.to_string())?
        {
            Response::Imported(s) => tracing::info!("demo: imported {} {kind:?}", s.rows),
            Response::Error(e) => return Err(format!("importing {file_name}: {}", e.message)),
            _ => return Err(format!("importing {file_name}: unexpected answer")),
        }
    }
    Ok(())
}

/// What to print when the demo is up: what runs, and what to try.
pub fn banner(demo: &Demo) -> String {
    let net = &demo.network;
    let mut b = String::new();
    let _ = writeln!(
        b,
        "\ncoopnoc demo: {} simulated devices carrying {} subscriber lines, on 127.0.0.1.",
        net.devices().len(),
        net.lines()
    );
    let _ = writeln!(b, "Configuration written to {}", demo.config_path.display());
    let _ = writeln!(b, "\nTry, in another terminal from this folder:");
    for cmd in [
        "status",
        "device list",
        "device show olt-bordes",
        "lines --problems",
        "line show L-00042",
        "line watch L-00042",
        "lines --unassigned",
        "events --since 1h",
    ] {
        let _ = writeln!(b, "  cargo run -p coopnoc -- {cmd}");
    }
    if let Some(socket) = &demo.scenario_socket {
        let _ = writeln!(
            b,
            "\nFailure scenarios (power cut, fibre cut, rain fade, OLT reboot...):\n  cargo run -p coopnoc-sim -- scenario --list --socket {0}\n  cargo run -p coopnoc-sim -- scenario power-cut --socket {0}",
            socket.display()
        );
    }
    let _ = writeln!(b, "\nStop with Ctrl-C.");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_names_become_identifiers() {
        assert_eq!(
            slug("Château d'eau de Villiers-le-Haut"),
            "chateau-d-eau-de-villiers-le-haut"
        );
        assert_eq!(
            slug("Mairie de Chaumont-la-Forêt"),
            "mairie-de-chaumont-la-foret"
        );
    }

    #[tokio::test]
    async fn the_demo_config_is_valid_and_names_every_device() {
        let dir = tempfile::tempdir().expect("tmp");
        let (demo, config) = start(dir.path()).await.expect("demo");
        assert_eq!(config.devices.len(), demo.network.devices().len());
        assert!(demo.network.lines() >= 1500, "about 2,000 lines");
        assert!(demo.scenario_socket.as_ref().is_some_and(|s| s.exists()));
        assert!(
            config
                .devices
                .iter()
                .any(|d| matches!(d.snmp, Some(config::SnmpCredentials::V3(_))))
        );
        demo.network.shutdown().await;
    }
}
