//! The scenario control socket: a Unix socket beside a running network (the demo puts it in
//! its state directory) on which a trainer starts and stops failure scenarios, without any
//! hook in coopnocd's own control protocol.
//!
//! One command per connection, one line of at most 1 KiB:
//!
//! * `list`: the scenarios that can start (built-in and the trainer's files), those running,
//!   those that ended, and the files that could not be read;
//! * `start NAME [SPEED]`: start (or start over) a scenario, optionally faster or slower;
//! * `stop [NAME]`: stop one scenario, or every one.
//!
//! The answer is text: a first line `ok` or `error: WHY`, then lines for people.
//! `coopnoc-sim scenario ... --socket PATH` is the client ([`request`]).

use std::fmt::Write as _;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::scenario::engine::Engine;
use crate::scenario::{ScenarioLibrary, ScenarioRef, ScenarioStatus};

/// Longest command accepted.
pub const MAX_COMMAND: usize = 1024;
/// Longest answer a client reads.
const MAX_ANSWER: u64 = 256 * 1024;
/// Time a connection has to send its command, and a client to get its answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a control request failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(
        "cannot reach the simulated network on {path}: {source} (is it running? coopnocd --demo opens <state-dir>/sim.sock, coopnoc-sim demo --control PATH)"
    )]
    Connect { path: PathBuf, source: io::Error },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: no answer within {}s", TIMEOUT.as_secs())]
    Timeout { path: PathBuf },
    /// The network refused the command; the text says why.
    #[error("{0}")]
    Refused(String),
}

/// Send one command and return the answer's text (after its `ok` line).
pub async fn request(path: &Path, command: &str) -> Result<String, ControlError> {
    let io_error = |source| ControlError::Io {
        path: path.to_owned(),
        source,
    };
    let exchange = async {
        let mut stream =
            UnixStream::connect(path)
                .await
                .map_err(|source| ControlError::Connect {
                    path: path.to_owned(),
                    source,
                })?;
        stream
            .write_all(format!("{}\n", command.trim()).as_bytes())
            .await
            .map_err(io_error)?;
        stream.shutdown().await.map_err(io_error)?;
        let mut answer = String::new();
        stream
            .take(MAX_ANSWER)
            .read_to_string(&mut answer)
            .await
            .map_err(io_error)?;
        Ok(answer)
    };
    let answer = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| ControlError::Timeout {
            path: path.to_owned(),
        })??;
    let (first, rest) = answer.split_once('\n').unwrap_or((&answer, ""));
    match first.strip_prefix("error: ") {
        Some(why) => Err(ControlError::Refused(
            format!("{why}{rest}").trim_end().to_owned(),
        )),
        None if first == "ok" => Ok(rest.to_owned()),
        None => Err(ControlError::Refused(format!(
            "unexpected answer: {}",
            first.escape_debug()
        ))),
    }
}

/// Remove a control socket (at shutdown).
pub(crate) fn remove_socket(path: &Path) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

/// Bind `path` (replacing a stale socket, never another file or a live socket) and serve
/// commands until `stop`.
pub(crate) async fn serve(
    path: &Path,
    scenario_dir: Option<PathBuf>,
    engine: Arc<Engine>,
    mut stop: watch::Receiver<bool>,
) -> io::Result<JoinHandle<()>> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "exists and is not a socket",
            ));
        }
        if UnixStream::connect(path).await.is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "another simulated network answers on it",
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let (engine, dir) = (Arc::clone(&engine), scenario_dir.clone());
                        connections.spawn(async move {
                            if let Err(error) = answer(stream, engine, dir).await {
                                tracing::debug!(%error, "scenario control connection");
                            }
                        });
                    }
                    Err(error) => {
                        tracing::warn!(%error, "scenario control socket");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
        connections.shutdown().await;
    }))
}

async fn answer(
    stream: UnixStream,
    engine: Arc<Engine>,
    scenario_dir: Option<PathBuf>,
) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read.take(MAX_COMMAND as u64));
    let text = match tokio::time::timeout(TIMEOUT, reader.read_line(&mut line)).await {
        Err(_) => "error: no command received\n".to_owned(),
        Ok(Err(e)) if e.kind() == io::ErrorKind::InvalidData => {
            "error: the command is not UTF-8\n".to_owned()
        }
        Ok(Err(e)) => return Err(e),
        Ok(Ok(_)) if !line.ends_with('\n') && line.len() >= MAX_COMMAND => {
            format!("error: a command is at most {MAX_COMMAND} bytes\n")
        }
        Ok(Ok(_)) => {
            let library = match &scenario_dir {
                Some(dir) => ScenarioLibrary::with_dir(dir),
                None => ScenarioLibrary::builtin(),
            };
            execute(line.trim(), &engine, &library).await
        }
    };
    write.write_all(text.as_bytes()).await?;
    write.shutdown().await
}

const USAGE: &str = "commands: list | start NAME [SPEED] | stop [NAME]";

async fn execute(command: &str, engine: &Engine, library: &ScenarioLibrary) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    match words.as_slice() {
        ["list"] => list(engine, library).await,
        ["start", name] => start(engine, library, name, None).await,
        ["start", name, speed] => match speed.parse::<f64>() {
            Ok(s) if s.is_finite() && (0.01..=1000.0).contains(&s) => {
                start(engine, library, name, Some(s)).await
            }
            _ => format!(
                "error: speed {:?} is not a number between 0.01 and 1000\n",
                speed.escape_debug().to_string()
            ),
        },
        ["stop"] => {
            let n = engine.stop(None).await;
            format!(
                "ok\nstopped {n} scenario{}\n",
                if n == 1 { "" } else { "s" }
            )
        }
        ["stop", name] => {
            if engine.stop(Some(name)).await > 0 {
                format!("ok\nstopped {name}\n")
            } else {
                format!(
                    "error: no scenario named {:?} is running\n",
                    name.escape_debug().to_string()
                )
            }
        }
        _ => format!(
            "error: unknown command {:?} ({USAGE})\n",
            command.escape_debug().to_string()
        ),
    }
}

async fn start(
    engine: &Engine,
    library: &ScenarioLibrary,
    name: &str,
    speed: Option<f64>,
) -> String {
    let Some(scenario) = library.get(name) else {
        return format!(
            "error: no scenario named {:?} (available: {})\n",
            name.escape_debug().to_string(),
            library.names().join(", ")
        );
    };
    let mut scenario = scenario.clone();
    if let Some(speed) = speed {
        scenario.speed = speed;
    }
    match engine.start(ScenarioRef::Parsed(scenario)).await {
        Ok(status) => {
            let mut t = format!("ok\nstarted {}", status.name);
            if status.speed != 1.0 {
                let _ = write!(t, " at speed {}", status.speed);
            }
            let _ = writeln!(t, ": {}", status.description);
            match status.ends_after {
                Some(end) => {
                    let _ = writeln!(t, "it ends by itself after {} (scenario time)", human(end));
                }
                None => {
                    let _ = writeln!(t, "it runs until stopped (stop {})", status.name);
                }
            }
            t
        }
        Err(error) => format!("error: {error}\n"),
    }
}

async fn list(engine: &Engine, library: &ScenarioLibrary) -> String {
    let mut t = String::from("ok\navailable:\n");
    for s in library.iter() {
        let origin = if s.origin.starts_with("built-in ") {
            "built-in".to_owned()
        } else {
            s.origin.clone()
        };
        let _ = writeln!(
            t,
            "  {:<18} {}  ({origin})",
            s.name,
            first_sentence(&s.description)
        );
    }
    let statuses = engine.statuses().await;
    for (title, finished) in [("running:", false), ("ended:", true)] {
        let these: Vec<&ScenarioStatus> =
            statuses.iter().filter(|s| s.finished == finished).collect();
        if these.is_empty() {
            continue;
        }
        let _ = writeln!(t, "{title}");
        for s in these {
            let _ = write!(t, "  {:<18} {}", s.name, human(s.elapsed));
            if let Some(end) = s.ends_after {
                let _ = write!(t, " of {}", human(end));
            }
            if s.speed != 1.0 {
                let _ = write!(t, " (speed {})", s.speed);
            }
            t.push('\n');
        }
    }
    if !library.problems.is_empty() {
        let _ = writeln!(t, "files not read:");
        for problem in &library.problems {
            for line in problem.to_string().lines() {
                let _ = writeln!(t, "  {line}");
            }
        }
    }
    t
}

fn first_sentence(text: &str) -> &str {
    let line = text.lines().next().unwrap_or("");
    match line.find(". ") {
        Some(i) => &line[..=i],
        None => line,
    }
}

/// `2m10s`, `45s`, `1h5m`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}
