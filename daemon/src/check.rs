//! The whole check of a configuration: the file itself (`crate::config`), then what it names
//! that other rooms own: the device profiles of `[daemon] profile-directory`, loaded the way
//! the poller loads them. Every problem is reported at once, with its place.
//!
//! This is the loader the daemon (at start and on SIGHUP), `coopnocd --check` (what
//! `coopnoc validate` runs) and the tests use.

use std::path::Path;

use crate::collect::profile::ProfileSet;
use crate::config::{self, Config, ConfigError, Problem};

/// Reads and checks a config file and the profiles it names.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let config = config::load(path)?;
    let problems = named(&config);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError {
            file: path.display().to_string(),
            problems,
        })
    }
}

/// Parses and checks config text (relative paths from `base`) and the profiles it names.
pub fn parse(text: &str, base: &Path) -> Result<Config, Vec<Problem>> {
    let config = config::parse(text, base)?;
    let problems = named(&config);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems)
    }
}

/// The problems of what the config names: the profiles of its profile directory.
fn named(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(dir) = &config.daemon.profile_directory
        && let Err(e) = ProfileSet::load(Some(dir))
    {
        problems.push(Problem {
            place: "daemon.profile-directory".into(),
            message: e.to_string(),
        });
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_directory_is_read_from_the_config_folder_and_checked() {
        let dir = tempfile::tempdir().expect("test setup");
        std::fs::create_dir(dir.path().join("profiles")).expect("test setup");
        let text = "[reports]\nenabled = false\n[daemon]\nprofile-directory = \"profiles\"\n";
        let c = parse(text, dir.path()).expect("an empty profile directory is fine");
        assert_eq!(
            c.daemon.profile_directory,
            Some(dir.path().join("profiles"))
        );
        assert_eq!(
            parse("[reports]\nenabled = false\n", dir.path())
                .expect("test setup")
                .daemon
                .profile_directory,
            None
        );

        // A bad profile in it is a config problem, with the file and what is wrong.
        std::fs::write(
            dir.path().join("profiles/olt.toml"),
            "id = \"olt-x\"\nname = \"X\"\nkind = \"toaster\"\n",
        )
        .expect("test setup");
        let p = parse(text, dir.path())
            .expect_err("a broken profile")
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            p.contains("daemon.profile-directory") && p.contains("olt.toml"),
            "{p}"
        );

        let p = parse(
            "[reports]\nenabled = false\n[daemon]\nprofile-directory = \"nowhere\"\n",
            dir.path(),
        )
        .expect_err("missing");
        assert!(
            p.iter().any(|p| p.to_string().contains("not a directory")),
            "{p:?}"
        );
    }
}
