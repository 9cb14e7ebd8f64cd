//! The client side of the control socket, used by `coopnoc` and the tests.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::UnixStream;

use crate::frame::{self, FrameError};
use crate::{MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, Request, Response};

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
    Frame { path: PathBuf, source: FrameError },
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
        let written =
            frame::write_frame(&mut self.stream, request, MAX_REQUEST_BYTES, self.timeout).await;
        let frame = |source| ClientError::Frame {
            path: self.path.clone(),
            source,
        };
        let hung_up = matches!(&written, Err(FrameError::Io(e))
            if matches!(e.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset));
        let written = match written {
            Err(e) if !hung_up => return Err(frame(e)),
            other => other,
        };
        let answer = frame::read_frame(&mut self.stream, MAX_RESPONSE_BYTES, self.timeout).await;
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
