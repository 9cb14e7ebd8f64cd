//! The control socket: where `coopnoc` talks to the daemon. One task per connection (at most
//! `[ctl] max-connections`), requests answered in order, each allowed by the peer's role.
//! Every read has a deadline and grows its buffer as bytes arrive; every write a timeout.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::config::CtlConfig;
use crate::model::inventory;
use crate::serve::Shared;
use crate::serve::access::Peer;
use crate::store::{StoreError, WriteOp, WriteOutcome};
use coopnoc_proto::{
    self, ErrorKind, ErrorReply, ImportKind, ImportSummary, LineDetail, LinesQuery, Request,
    Response,
};

const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// At most one "busy" warning in the journal per this long, however many are refused.
const BUSY_LOG_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    #[error("another coopnocd is already answering on {0}")]
    InUse(PathBuf),
    #[error(
        "control socket {path}: there is {what} at that path, not a socket left by a stopped \
         coopnocd; it is left as it is. Point [ctl] socket elsewhere, or move it away yourself"
    )]
    NotASocket { path: PathBuf, what: &'static str },
    #[error("control socket {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Binds the socket. Only a stale socket (left by a daemon that died) is ever replaced: not
/// one a running daemon still answers on, and nothing that is not a socket.
pub async fn bind(path: &Path, mode: u32) -> Result<UnixListener, CtlError> {
    let io = |source| CtlError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(CtlError::NotASocket {
                path: path.to_path_buf(),
                what: file_kind(meta.file_type()),
            });
        }
        Ok(_) => {
            if UnixStream::connect(path).await.is_ok() {
                return Err(CtlError::InUse(path.to_path_buf()));
            }
            std::fs::remove_file(path).map_err(io)?;
        }
    }
    let listener = UnixListener::bind(path).map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io)?;
    Ok(listener)
}

/// Removes the socket at shutdown, if what is there is still a socket.
pub fn remove_socket(path: &Path) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

fn file_kind(t: std::fs::FileType) -> &'static str {
    if t.is_file() {
        "a regular file"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a named pipe"
    } else {
        "a device file"
    }
}

/// Accepts connections until `shutdown`; in-flight requests finish on their own tasks. Past
/// `max-connections`, a connection is answered "busy" at once and closed.
pub async fn serve(listener: UnixListener, shared: Arc<Shared>, shutdown: CancellationToken) {
    let max = shared.config().ctl.max_connections;
    let slots = Arc::new(Semaphore::new(max));
    let mut last_busy_log: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => match slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        let shared = shared.clone();
                        let shutdown = shutdown.clone();
                        tokio::spawn(async move { connection(stream, shared, shutdown, slot).await });
                    }
                    Err(_) => {
                        refuse_busy(&stream, max);
                        if last_busy_log.is_none_or(|t| t.elapsed() >= BUSY_LOG_EVERY) {
                            tracing::warn!("control socket: {max} connections open ([ctl] max-connections): refusing more");
                            last_busy_log = Some(tokio::time::Instant::now());
                        }
                    }
                },
                Err(e) => {
                    tracing::warn!("control socket: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Answers "busy" without waiting: a small frame into an empty socket buffer.
fn refuse_busy(stream: &UnixStream, max: usize) {
    let reply = Response::error(
        ErrorKind::Busy,
        format!(
            "coopnocd is busy: it serves {max} connections at once ([ctl] max-connections); try again in a moment"
        ),
    );
    if let Ok(frame) = coopnoc_proto::encode_frame(&reply, coopnoc_proto::MAX_RESPONSE_BYTES) {
        let _ = stream.try_write(&frame);
    }
}

/// Who is connecting: the kernel's word on the uid, the user database's on the rest.
async fn identify(stream: &UnixStream, ctl: &CtlConfig) -> std::io::Result<Peer> {
    let cred = stream.peer_cred()?;
    let ctl = ctl.clone();
    tokio::task::spawn_blocking(move || Peer::identify(cred.uid(), cred.gid(), &ctl))
        .await
        .map_err(std::io::Error::other)
}

async fn connection(
    mut stream: UnixStream,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    _slot: OwnedSemaphorePermit,
) {
    let config = shared.config();
    let ctl = &config.ctl;
    let peer = match identify(&stream, ctl).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("control socket: cannot tell who connected: {e}");
            return;
        }
    };
    if peer.role.is_none() {
        // Refused before a byte of theirs is read.
        tracing::info!(
            "control socket: refused {}: neither a technician nor an administrator",
            peer.describe()
        );
        let reply = Response::error(ErrorKind::Forbidden, peer.no_role(ctl));
        let _ = coopnoc_proto::write_frame(
            &mut stream,
            &reply,
            coopnoc_proto::MAX_RESPONSE_BYTES,
            WRITE_TIMEOUT,
        )
        .await;
        return;
    }
    loop {
        let frame = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = coopnoc_proto::read_frame_within::<_, serde_json::Value>(
                &mut stream,
                coopnoc_proto::MAX_REQUEST_BYTES,
                ctl.idle_timeout,
                ctl.request_timeout,
            ) => r,
        };
        let (response, go_on) = match frame {
            Ok(value) => match decode(value) {
                Ok(req) => match peer.refusal(req.command(), req.role(), ctl) {
                    Some(why) => {
                        tracing::info!(
                            "control socket: refused `{}` to {}",
                            req.command(),
                            peer.describe()
                        );
                        (Response::error(ErrorKind::Forbidden, why), true)
                    }
                    None => (handle(req, &shared, &peer).await, true),
                },
                Err(message) => (Response::error(ErrorKind::Invalid, message), false),
            },
            Err(coopnoc_proto::FrameError::Closed) | Err(coopnoc_proto::FrameError::Timeout(_)) => {
                return;
            }
            Err(coopnoc_proto::FrameError::Incomplete(after)) => {
                tracing::debug!(
                    "control socket: dropped a request from {} still incomplete after {after:?}",
                    peer.describe()
                );
                return;
            }
            Err(e) => {
                tracing::warn!("control socket: bad request from {}: {e}", peer.describe());
                let message =
                    format!("bad request: {e} (is coopnoc the same version as coopnocd?)");
                (Response::error(ErrorKind::Invalid, message), false)
            }
        };
        if let Err(e) = coopnoc_proto::write_frame(
            &mut stream,
            &response,
            coopnoc_proto::MAX_RESPONSE_BYTES,
            WRITE_TIMEOUT,
        )
        .await
        {
            tracing::warn!("control socket: could not answer: {e}");
            return;
        }
        if !go_on {
            return;
        }
    }
}

/// A request from its JSON; a request this daemon does not know is named as such.
fn decode(value: serde_json::Value) -> Result<Request, String> {
    let name = value
        .get("request")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    serde_json::from_value(value).map_err(|e| {
        let text = e.to_string();
        match name {
            Some(name) if text.starts_with("unknown variant") => {
                format!("unknown request \"{name}\" (is coopnoc the same version as coopnocd?)")
            }
            _ => format!("bad request: {text} (is coopnoc the same version as coopnocd?)"),
        }
    })
}

pub(crate) fn store_error(e: StoreError) -> Response {
    let kind = match &e {
        StoreError::NotFound(_) => ErrorKind::NotFound,
        StoreError::Conflict(_) => ErrorKind::Conflict,
        StoreError::Invalid(_) => ErrorKind::Invalid,
        _ => ErrorKind::Internal,
    };
    if kind == ErrorKind::Internal {
        tracing::error!("control request failed: {e}");
    }
    Response::error(kind, e.to_string())
}

async fn handle(req: Request, shared: &Shared, peer: &Peer) -> Response {
    let store = &shared.store;
    let by = peer.actor();
    let result: Result<Response, StoreError> = async {
        Ok(match req {
            Request::Status => Response::Status(shared.status().await?),
            Request::MemberAdd(m) => {
                if let Err(e) = inventory::check_member(&m) {
                    return Ok(Response::error(ErrorKind::Invalid, e));
                }
                let reference = m.reference.clone();
                store.write_as(WriteOp::AddMember(m), by).await?;
                Response::Member(store.member(&reference).await?)
            }
            Request::MemberList => Response::Members { members: store.members().await? },
            Request::MemberShow { member } => Response::Member(store.member(&member).await?),
            Request::LineAdd(l) => {
                let l = inventory::normalise_line(l);
                if let Err(e) = inventory::check_line(&l) {
                    return Ok(Response::error(ErrorKind::Invalid, e));
                }
                let reference = l.reference.clone();
                store.write_as(WriteOp::AddLine(l), by).await?;
                lines_changed(shared).await;
                Response::Line(Box::new(store.find_line(&reference).await?))
            }
            Request::LineList { unassigned_only } => Response::Lines { lines: store.lines(unassigned_only).await? },
            Request::LineShow { line } => Response::Line(Box::new(line_show(shared, &line).await?)),
            Request::LineAssign { line, member } => {
                // Accept any way of naming the line that `line show` accepts.
                let found = store.find_line(&line).await?;
                let reference = found.line.reference;
                store.write_as(WriteOp::AssignLine { line: reference.clone(), member }, by).await?;
                lines_changed(shared).await;
                Response::Line(Box::new(store.find_line(&reference).await?))
            }
            Request::LineThresholds { line, thresholds } => {
                let reference = store.find_line(&line).await?.line.reference;
                store.write_as(WriteOp::LineThresholds { line: reference.clone(), thresholds }, by).await?;
                lines_changed(shared).await;
                Response::Line(Box::new(line_show(shared, &reference).await?))
            }
            Request::Lines { query: LinesQuery::Problems } => Response::Problems(crate::serve::lines::problems(&shared.published.snapshot(), &shared.config().lines, crate::store::now())),
            Request::Lines { query: LinesQuery::Unassigned } => Response::Unassigned { items: crate::serve::lines::unassigned(&shared.published.snapshot()) },
            Request::Events { since, subject, limit } => {
                let since = match since.as_deref().map(str::parse::<jiff::Timestamp>) {
                    None => None,
                    Some(Ok(t)) => Some(t.as_second()),
                    Some(Err(e)) => return Ok(Response::error(ErrorKind::Invalid, format!("since: {e}"))),
                };
                Response::Events { events: store.events(since, subject.as_deref(), limit.clamp(1, 10_000)).await? }
            }
            Request::LineWatch { line } => line_watch(shared, &line).await?,
            Request::MemberLeave { member, on, undo } => {
                let at = if undo {
                    None
                } else {
                    let config = shared.config();
                    let tz = &config.daemon.time_zone;
                    let date = match on.as_deref().map(str::parse::<jiff::civil::Date>) {
                        None => crate::model::usage::rollup::local_date(crate::store::now(), tz),
                        Some(Ok(d)) => d,
                        Some(Err(e)) => return Ok(Response::error(ErrorKind::Invalid, format!("--on: {e} (expected YYYY-MM-DD)"))),
                    };
                    match crate::model::usage::rollup::local_instant(date, 0, tz) {
                        Ok(t) => Some(t),
                        Err(e) => return Ok(Response::error(ErrorKind::Invalid, format!("--on: {e}"))),
                    }
                };
                store.write_as(WriteOp::MemberLeft { member: member.clone(), at }, by).await?;
                Response::Member(store.member(&member).await?)
            }
            Request::DeviceList => Response::Devices {
                devices: shared.published.snapshot().devices.iter().map(|(name, d)| crate::serve::devices::summary(name, d)).collect(),
            },
            Request::DeviceShow { device } => match shared.published.snapshot().device(&device) {
                Some(d) => Response::Device(Box::new(crate::serve::devices::detail(&device, d))),
                None => Response::error(ErrorKind::NotFound, format!("no device named \"{device}\" in the configuration")),
            },
            Request::Poll { device } => poll_now(shared, &device).await,
            Request::Usage { .. } | Request::MemberExport { .. } | Request::MemberErase { .. } => {
                crate::serve::usage::handle(req, shared, by).await?
            }
            Request::Import { kind, csv, file_name } => {
                let default_language = shared.config().reports.default_language.clone();
                let parsed = match kind {
                    ImportKind::Members => inventory::parse_members(&csv, &file_name, &default_language)
                        .map(|rows| (rows.len(), WriteOp::ImportMembers { rows, file_name: file_name.clone() })),
                    ImportKind::Lines => inventory::parse_lines(&csv, &file_name)
                        .map(|rows| (rows.len(), WriteOp::ImportLines { rows, file_name: file_name.clone() })),
                };
                match parsed {
                    Err(p) => Response::Error(ErrorReply { kind: ErrorKind::Invalid, message: p.summary(), details: p.problems }),
                    Ok((rows, op)) => match store.write_as(op, by).await? {
                        WriteOutcome::Imported { created, updated } => {
                            lines_changed(shared).await;
                            tracing::info!("imported {file_name}: {rows} {kind:?} rows, {created} created, {updated} updated");
                            Response::Imported(ImportSummary { kind, rows: rows as u64, created, updated })
                        }
                        WriteOutcome::Done | WriteOutcome::Usage(_) => Response::error(ErrorKind::Internal, "import gave no summary"),
                    },
                }
            }
        })
    }
    .await;
    result.unwrap_or_else(store_error)
}

/// The lines changed in the store: the model reloads them before the answer is read.
async fn lines_changed(shared: &Shared) {
    if let Err(e) = shared.model.lines_changed().await {
        tracing::error!(
            "lines: could not reload the lines from the store (retried at the next poll): {e}"
        );
    }
}

/// A line from the store, with what the daemon sees of it now and its last day of levels.
async fn line_show(shared: &Shared, line: &str) -> Result<LineDetail, StoreError> {
    let store = &shared.store;
    let mut detail = store.find_line(line).await?;
    let id = store.line_id(&detail.line.reference).await?;
    let config = shared.config();
    let snapshot = shared.published.snapshot();
    if let Some(l) = snapshot.line(id) {
        detail.line.state = l.state.as_str().to_string();
        detail.line.state_since = l.since.map(crate::store::format_time);
        let now = crate::store::now();
        let mut live = crate::serve::lines::live(&snapshot, l, &config.lines, now);
        let today = now.div_euclid(86400);
        let rows = store.line_levels(id, today - 1, today).await?;
        live.day = crate::store::levels::last_day(&rows, now);
        detail.live = Some(live);
    }
    Ok(detail)
}

/// One fresh read of a line's rows on its device, with a single GET.
async fn line_watch(shared: &Shared, line: &str) -> Result<Response, StoreError> {
    let store = &shared.store;
    let reference = store.find_line(line).await?.line.reference;
    let id = store.line_id(&reference).await?;
    let Some(target) = shared.model.watch_target(id).await else {
        return Ok(Response::error(
            ErrorKind::NotFound,
            format!(
                "line {reference} is not seen on any polled device yet: nothing to re-read (see `coopnoc line show {reference}`)"
            ),
        ));
    };
    let oids = target.oids();
    if oids.is_empty() {
        return Ok(Response::error(
            ErrorKind::Unsupported,
            format!(
                "profile {} reads nothing per row for this line",
                target.profile.id
            ),
        ));
    }
    let Some(poller) = shared.poller() else {
        return Ok(Response::error(
            ErrorKind::Unsupported,
            "the SNMP poller is not running",
        ));
    };
    let started = std::time::Instant::now();
    match poller.get(&target.device, oids, POLL_NOW_TIMEOUT).await {
        Ok(Ok(answers)) => {
            let took = started.elapsed().as_millis() as u64;
            let reading = target.read(&answers, &shared.config().lines);
            Ok(Response::Watch(crate::serve::lines::watch_reading(
                &reference, &target, reading, took,
            )))
        }
        Ok(Err(e)) => Ok(Response::error(
            ErrorKind::Unsupported,
            format!("{}: {e}", target.device),
        )),
        Err(e) => Ok(Response::error(ErrorKind::Internal, e.to_string())),
    }
}

/// Polls a device now and answers with its state once the state has taken the poll in.
async fn poll_now(shared: &Shared, device: &str) -> Response {
    // The control socket opens before the poller's first task has run: a `poll` that
    // arrives in that moment waits for it rather than failing.
    let mut poller = shared.poller();
    let started = tokio::time::Instant::now();
    while poller.is_none() && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        poller = shared.poller();
    }
    let Some(poller) = poller else {
        return Response::error(ErrorKind::Unsupported, "the SNMP poller is not running");
    };
    // A poll waits for the one in progress and may retry a silent device: give it the time
    // that takes, within the client's patience.
    let within = POLL_NOW_TIMEOUT;
    let seq = match poller.poll_now(device, within).await {
        Ok(seq) => seq,
        Err(e @ crate::collect::poller::PollError::UnknownDevice(_)) => {
            return Response::error(ErrorKind::NotFound, e.to_string());
        }
        Err(e) => return Response::error(ErrorKind::Internal, e.to_string()),
    };
    let mut snapshots = shared.published.watch();
    let taken_in =
        |s: &Arc<crate::model::Snapshot>| s.device(device).is_none_or(|d| d.polls >= seq);
    let _ = tokio::time::timeout(Duration::from_secs(2), snapshots.wait_for(taken_in)).await;
    match shared.published.snapshot().device(device) {
        Some(d) => Response::Device(Box::new(crate::serve::devices::detail(device, d))),
        None => Response::error(ErrorKind::NotFound, format!("no device named \"{device}\"")),
    }
}

/// The longest `coopnoc poll` waits for a poll (the CLI's own timeout is 30 s by default).
const POLL_NOW_TIMEOUT: Duration = Duration::from_secs(25);
