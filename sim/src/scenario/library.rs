//! The scenarios a network can start by name: the built-in ones (`sim/scenarios/*.toml`,
//! compiled in) and a trainer's own files.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::{Scenario, ScenarioFileError, ScenarioFileErrors, parse};

/// Every built-in scenario: (name = file name without `.toml`, text).
pub const BUILTIN: &[(&str, &str)] = &[
    ("power-cut", include_str!("../../scenarios/power-cut.toml")),
    ("fibre-cut", include_str!("../../scenarios/fibre-cut.toml")),
    ("rain-fade", include_str!("../../scenarios/rain-fade.toml")),
    (
        "dirty-connector",
        include_str!("../../scenarios/dirty-connector.toml"),
    ),
    (
        "olt-reboot",
        include_str!("../../scenarios/olt-reboot.toml"),
    ),
    (
        "ups-on-battery",
        include_str!("../../scenarios/ups-on-battery.toml"),
    ),
    (
        "olt-unreachable",
        include_str!("../../scenarios/olt-unreachable.toml"),
    ),
];

/// Scenarios by name, and the files that could not be read.
#[derive(Debug, Clone, Default)]
pub struct ScenarioLibrary {
    scenarios: BTreeMap<String, Arc<Scenario>>,
    /// Files skipped, each with its problems.
    pub problems: Vec<ScenarioFileErrors>,
}

impl ScenarioLibrary {
    /// The built-in scenarios (checked by the crate's tests; one that does not parse is
    /// reported in `problems`, never a panic).
    pub fn builtin() -> ScenarioLibrary {
        let mut library = ScenarioLibrary::default();
        for (name, text) in BUILTIN {
            library.add(parse(name, &format!("built-in {name}.toml"), text));
        }
        library
    }

    /// The built-in scenarios, then every `*.toml` file of `dir` (a file replaces the
    /// built-in scenario of its name). A missing directory adds nothing.
    pub fn with_dir(dir: &Path) -> ScenarioLibrary {
        let mut library = Self::builtin();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return library,
            Err(e) => {
                library.problems.push(whole(dir, e.to_string()));
                return library;
            }
        };
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            library.add_file(&path);
        }
        library
    }

    /// Read one scenario file; its name is the file name without `.toml`.
    pub fn read_file(path: &Path) -> Result<Scenario, ScenarioFileErrors> {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ScenarioFileErrors(vec![ScenarioFileError {
                file: path.display().to_string(),
                line: 0,
                message: e.to_string(),
            }])
        })?;
        parse(&name, &path.display().to_string(), &text)
    }

    fn add_file(&mut self, path: &Path) {
        self.add(Self::read_file(path));
    }

    fn add(&mut self, parsed: Result<Scenario, ScenarioFileErrors>) {
        match parsed {
            Ok(scenario) => {
                self.scenarios
                    .insert(scenario.name.clone(), Arc::new(scenario));
            }
            Err(errors) => self.problems.push(errors),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Scenario> {
        self.scenarios.get(name).map(|s| &**s)
    }

    /// Every scenario, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Scenario> {
        self.scenarios.values().map(|s| &**s)
    }

    pub fn names(&self) -> Vec<String> {
        self.scenarios.keys().cloned().collect()
    }
}

fn whole(path: &Path, message: String) -> ScenarioFileErrors {
    ScenarioFileErrors(vec![ScenarioFileError {
        file: path.display().to_string(),
        line: 0,
        message,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_scenario_reads() {
        let library = ScenarioLibrary::builtin();
        assert!(library.problems.is_empty(), "{:?}", library.problems);
        assert_eq!(library.iter().count(), BUILTIN.len());
        for s in library.iter() {
            assert!(!s.description.is_empty(), "{} has no description", s.name);
        }
    }

    #[test]
    fn a_directory_adds_and_replaces_and_reports_bad_files() {
        let dir = std::env::temp_dir().join(format!("coopnoc-sim-lib-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(
            dir.join("power-cut.toml"),
            "description = \"mine\"\n[[event]]\ndevice = \"x\"\neffect = \"silent\"\n",
        )
        .expect("write");
        std::fs::write(dir.join("broken.toml"), "[[event]]\ndevice = 3\n").expect("write");
        std::fs::write(dir.join("notes.txt"), "not a scenario").expect("write");
        let library = ScenarioLibrary::with_dir(&dir);
        std::fs::remove_dir_all(&dir).expect("clean");
        assert_eq!(
            library.get("power-cut").map(|s| s.description.as_str()),
            Some("mine")
        );
        assert!(library.get("broken").is_none());
        assert_eq!(library.problems.len(), 1);
        let problem = library.problems[0].to_string();
        assert!(problem.contains("broken.toml:2: "), "{problem}");
        assert!(library.get("rain-fade").is_some());
        assert!(
            ScenarioLibrary::with_dir(Path::new("/nonexistent/coopnoc"))
                .problems
                .is_empty()
        );
    }
}
