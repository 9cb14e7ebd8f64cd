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

use crate::access::Peer;
use crate::config::CtlConfig;
use crate::inventory;
use crate::ipc::{
    self, ErrorKind, ErrorReply, ImportKind, ImportSummary, LineDetail, LinesQuery, Request,
    Response,
};
use crate::state::Shared;
use crate::store::{StoreError, WriteOp, WriteOutcome};

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
    if let Ok(frame) = ipc::encode_frame(&reply, ipc::MAX_RESPONSE_BYTES) {
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
        let _ = ipc::write_frame(&mut stream, &reply, ipc::MAX_RESPONSE_BYTES, WRITE_TIMEOUT).await;
        return;
    }
    loop {
        let frame = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = ipc::read_frame_within::<_, serde_json::Value>(
                &mut stream,
                ipc::MAX_REQUEST_BYTES,
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
            Err(ipc::FrameError::Closed) | Err(ipc::FrameError::Timeout(_)) => return,
            Err(ipc::FrameError::Incomplete(after)) => {
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
        if let Err(e) = ipc::write_frame(
            &mut stream,
            &response,
            ipc::MAX_RESPONSE_BYTES,
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
                shared.lines.invalidate();
                Response::Line(Box::new(store.find_line(&reference).await?))
            }
            Request::LineList { unassigned_only } => Response::Lines { lines: store.lines(unassigned_only).await? },
            Request::LineShow { line } => Response::Line(Box::new(line_show(shared, &line).await?)),
            Request::LineAssign { line, member } => {
                // Accept any way of naming the line that `line show` accepts.
                let found = store.find_line(&line).await?;
                let reference = found.line.reference;
                store.write_as(WriteOp::AssignLine { line: reference.clone(), member }, by).await?;
                shared.lines.invalidate();
                Response::Line(Box::new(store.find_line(&reference).await?))
            }
            Request::LineThresholds { line, thresholds } => {
                let reference = store.find_line(&line).await?.line.reference;
                store.write_as(WriteOp::LineThresholds { line: reference.clone(), thresholds }, by).await?;
                shared.lines.invalidate();
                Response::Line(Box::new(line_show(shared, &reference).await?))
            }
            Request::Lines { query: LinesQuery::Problems } => Response::Problems(shared.lines.problems(store, &shared.config()).await?),
            Request::Lines { query: LinesQuery::Unassigned } => Response::Unassigned { items: shared.lines.unassigned(store).await? },
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
                        None => crate::usage::rollup::local_date(crate::store::now(), tz),
                        Some(Ok(d)) => d,
                        Some(Err(e)) => return Ok(Response::error(ErrorKind::Invalid, format!("--on: {e} (expected YYYY-MM-DD)"))),
                    };
                    match crate::usage::rollup::local_instant(date, 0, tz) {
                        Ok(t) => Some(t),
                        Err(e) => return Ok(Response::error(ErrorKind::Invalid, format!("--on: {e}"))),
                    }
                };
                store.write_as(WriteOp::MemberLeft { member: member.clone(), at }, by).await?;
                Response::Member(store.member(&member).await?)
            }
            Request::DeviceList => Response::Devices { devices: shared.devices.summaries() },
            Request::DeviceShow { device } => match shared.devices.detail(&device) {
                Some(d) => Response::Device(Box::new(d)),
                None => Response::error(ErrorKind::NotFound, format!("no device named \"{device}\" in the configuration")),
            },
            Request::Poll { device } => poll_now(shared, &device).await,
            Request::Usage { .. } | Request::MemberExport { .. } | Request::MemberErase { .. } => {
                crate::usage::ctl::handle(req, shared, by).await?
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
                            shared.lines.invalidate();
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

/// A line from the store, with what the daemon sees of it now and its last day of levels.
async fn line_show(shared: &Shared, line: &str) -> Result<LineDetail, StoreError> {
    let store = &shared.store;
    let mut detail = store.find_line(line).await?;
    let id = store.line_id(&detail.line.reference).await?;
    let config = shared.config();
    if let Some((state, since)) = shared.lines.state_of(id) {
        detail.line.state = state.as_str().to_string();
        detail.line.state_since = since.map(crate::store::format_time);
    }
    if let Some(mut live) = shared.lines.live(store, &config, id).await? {
        let now = crate::store::now();
        let today = now.div_euclid(86400);
        let rows = crate::lines::db::line_levels(store.reader(), id, today - 1, today).await?;
        live.day = crate::lines::levels::last_day(&rows, now);
        detail.live = Some(live);
    }
    Ok(detail)
}

/// One fresh read of a line's rows on its device, with a single GET.
async fn line_watch(shared: &Shared, line: &str) -> Result<Response, StoreError> {
    let store = &shared.store;
    let reference = store.find_line(line).await?.line.reference;
    let id = store.line_id(&reference).await?;
    // Make sure the book is loaded (a daemon that just started).
    let _ = shared.lines.live(store, &shared.config(), id).await?;
    let Some(target) = shared.lines.watch_target(id) else {
        return Ok(Response::error(
            ErrorKind::NotFound,
            format!(
                "line {reference} is not seen on any polled device yet: nothing to re-read (see `coopnoc line show {reference}`)"
            ),
        ));
    };
    // Each row, and the rows of the profile's other tables indexed the same way (an ONU's
    // interface is in IF-MIB's table and in the vendor's per-ONU counters table).
    let tables = &target.profile.tables;
    let mut oids: Vec<crate::snmp::Oid> = Vec::new();
    for (table, index) in &target.rows {
        let Some(spec) = tables.iter().find(|t| &t.name == table) else {
            continue;
        };
        for sibling in tables
            .iter()
            .filter(|t| t.subject == spec.subject && t.index == spec.index)
        {
            for oid in target.profile.row_oids(&sibling.name, index) {
                if !oids.contains(&oid) {
                    oids.push(oid);
                }
            }
        }
    }
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
            let config = shared.config();
            Ok(Response::Watch(crate::lines::watch_reading(
                &target,
                &answers,
                &config.lines,
                &reference,
                took,
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
        Err(e @ crate::poller::PollError::UnknownDevice(_)) => {
            return Response::error(ErrorKind::NotFound, e.to_string());
        }
        Err(e) => return Response::error(ErrorKind::Internal, e.to_string()),
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while shared.devices.polls(device).unwrap_or(0) < seq && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    match shared.devices.detail(device) {
        Some(d) => Response::Device(Box::new(d)),
        None => Response::error(ErrorKind::NotFound, format!("no device named \"{device}\"")),
    }
}

/// The longest `coopnoc poll` waits for a poll (the CLI's own timeout is 30 s by default).
const POLL_NOW_TIMEOUT: Duration = Duration::from_secs(25);

/// The client side, used by `coopnoc` and the tests.
pub mod client {
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use tokio::net::UnixStream;

    use crate::ipc::{self, Request, Response};

    #[derive(Debug, thiserror::Error)]
    pub enum ClientError {
        #[error(
            "cannot reach coopnocd at {path}: {source}\n\
             Is coopnocd running? Check `systemctl status coopnocd`, or point to its socket with \
             --socket PATH (or COOPNOC_SOCKET)."
        )]
        Connect {
            path: PathBuf,
            source: std::io::Error,
        },
        #[error("talking to coopnocd at {path}: {source}")]
        Frame {
            path: PathBuf,
            source: ipc::FrameError,
        },
    }

    /// A connection to the daemon; requests are answered in order.
    pub struct Client {
        path: PathBuf,
        stream: UnixStream,
        timeout: Duration,
    }

    impl Client {
        pub async fn connect(path: &Path, timeout: Duration) -> Result<Client, ClientError> {
            let stream = tokio::time::timeout(timeout, UnixStream::connect(path))
                .await
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))
                .and_then(|r| r)
                .map_err(|source| ClientError::Connect {
                    path: path.to_path_buf(),
                    source,
                })?;
            Ok(Client {
                path: path.to_path_buf(),
                stream,
                timeout,
            })
        }

        pub async fn call(&mut self, request: &Request) -> Result<Response, ClientError> {
            if self.closed_by_daemon() {
                // Idle for longer than the daemon keeps a connection (`line watch --every 5m`).
                *self = Client::connect(&self.path, self.timeout).await?;
            }
            let written = ipc::write_frame(
                &mut self.stream,
                request,
                ipc::MAX_REQUEST_BYTES,
                self.timeout,
            )
            .await;
            let frame = |source| ClientError::Frame {
                path: self.path.clone(),
                source,
            };
            let hung_up = matches!(&written, Err(ipc::FrameError::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset));
            let written = match written {
                Err(e) if !hung_up => return Err(frame(e)),
                other => other,
            };
            let answer =
                ipc::read_frame(&mut self.stream, ipc::MAX_RESPONSE_BYTES, self.timeout).await;
            match (written, answer) {
                (Ok(()), Ok(response)) => Ok(response),
                // The daemon may answer before it reads (refused at connect, busy) and hang up:
                // its answer says more than the broken pipe.
                (Err(_), Ok(response @ Response::Error(_))) => Ok(response),
                (Err(source), _) | (Ok(()), Err(source)) => Err(frame(source)),
            }
        }

        /// Whether the daemon hung up on this connection while nobody spoke (end of stream
        /// waiting, nothing else): then a new connection is due, not an error.
        fn closed_by_daemon(&self) -> bool {
            use nix::sys::socket::{MsgFlags, recv};
            use std::os::fd::AsRawFd;
            let mut byte = [0u8; 1];
            matches!(
                recv(
                    self.stream.as_raw_fd(),
                    &mut byte,
                    MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT
                ),
                Ok(0)
            )
        }
    }
}
