//! Framing: one request, one response, as JSON in a frame: a 4-byte big-endian length, then
//! the body. Sizes are bounded both ways so that a confused peer cannot make either side
//! allocate without limit; both sides put timeouts on every read and write.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection closed")]
    Closed,
    #[error("message of {size} bytes is over the limit of {limit} bytes")]
    TooLarge { size: u32, limit: u32 },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("message incomplete after {0:?}")]
    Incomplete(Duration),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed message: {0}")]
    Malformed(#[from] serde_json::Error),
}

/// One framed message as bytes: its length, then its JSON.
pub fn encode_frame<T: Serialize>(value: &T, limit: u32) -> Result<Vec<u8>, FrameError> {
    let body = serde_json::to_vec(value)?;
    let size = u32::try_from(body.len()).unwrap_or(u32::MAX);
    if size > limit {
        return Err(FrameError::TooLarge { size, limit });
    }
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&size.to_be_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// Writes one framed message.
pub async fn write_frame<W, T>(
    w: &mut W,
    value: &T,
    limit: u32,
    timeout: Duration,
) -> Result<(), FrameError>
where
    W: AsyncWrite + Unpin,
    T: Serialize,
{
    let frame = encode_frame(value, limit)?;
    let io = async {
        w.write_all(&frame).await?;
        w.flush().await
    };
    tokio::time::timeout(timeout, io)
        .await
        .map_err(|_| FrameError::Timeout(timeout))??;
    Ok(())
}

/// Reads one framed message within `timeout`. `Closed` when the peer hung up cleanly before
/// a new frame.
pub async fn read_frame<R, T>(r: &mut R, limit: u32, timeout: Duration) -> Result<T, FrameError>
where
    R: AsyncRead + Unpin,
    T: for<'de> Deserialize<'de>,
{
    read_frame_within(r, limit, timeout, timeout).await
}

/// Reads one framed message: waits up to `idle` for its first byte, then up to `deadline` for
/// the rest. The body grows as its bytes arrive (never to the announced size up front): a peer
/// that announces a large frame and sends it slowly holds what it sent, and not for long.
pub async fn read_frame_within<R, T>(
    r: &mut R,
    limit: u32,
    idle: Duration,
    deadline: Duration,
) -> Result<T, FrameError>
where
    R: AsyncRead + Unpin,
    T: for<'de> Deserialize<'de>,
{
    let mut len = [0u8; 4];
    let first = tokio::time::timeout(idle, r.read(&mut len))
        .await
        .map_err(|_| FrameError::Timeout(idle))??;
    if first == 0 {
        return Err(FrameError::Closed);
    }
    let rest = async {
        r.read_exact(&mut len[first..]).await?;
        let size = u32::from_be_bytes(len);
        if size > limit {
            return Err(FrameError::TooLarge { size, limit });
        }
        let mut body = Vec::new();
        let got = (&mut *r)
            .take(u64::from(size))
            .read_to_end(&mut body)
            .await?;
        if got < size as usize {
            return Err(FrameError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("the peer hung up after {got} of {size} bytes"),
            )));
        }
        Ok(serde_json::from_slice(&body)?)
    };
    tokio::time::timeout(deadline, rest)
        .await
        .map_err(|_| FrameError::Incomplete(deadline))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Request;

    #[tokio::test]
    async fn frames_round_trip_and_limits_hold() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        let t = Duration::from_secs(1);
        write_frame(&mut a, &Request::Status, 1024, t)
            .await
            .expect("test setup");
        let r: Request = read_frame(&mut b, 1024, t).await.expect("test setup");
        assert_eq!(r, Request::Status);

        // A frame announcing more than the limit is refused before allocation.
        a.write_all(&(1u32 << 30).to_be_bytes())
            .await
            .expect("test setup");
        let e = read_frame::<_, Request>(&mut b, 1024, t)
            .await
            .expect_err("must fail");
        assert!(matches!(e, FrameError::TooLarge { .. }), "{e}");

        // Garbage is a clear error, not a panic.
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        a.write_all(&3u32.to_be_bytes()).await.expect("test setup");
        a.write_all(b"{x}").await.expect("test setup");
        let e = read_frame::<_, Request>(&mut b, 1024, t)
            .await
            .expect_err("must fail");
        assert!(matches!(e, FrameError::Malformed(_)), "{e}");

        // A silent peer times out.
        let (_a, mut b) = tokio::io::duplex(16);
        let e = read_frame::<_, Request>(&mut b, 1024, Duration::from_millis(50))
            .await
            .expect_err("must fail");
        assert!(matches!(e, FrameError::Timeout(_)), "{e}");
    }

    #[tokio::test]
    async fn an_idle_peer_and_a_slow_frame_each_meet_their_deadline() {
        let (idle, deadline) = (Duration::from_millis(300), Duration::from_millis(100));
        // Nothing at all: the idle wait ends it.
        let (_a, mut b) = tokio::io::duplex(1 << 16);
        let e = read_frame_within::<_, Request>(&mut b, 16 << 20, idle, deadline)
            .await
            .expect_err("must fail");
        assert!(matches!(e, FrameError::Timeout(d) if d == idle), "{e}");
        // 16 MiB announced, ten bytes sent: dropped at the request deadline, not held.
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        a.write_all(&(16u32 << 20).to_be_bytes())
            .await
            .expect("test setup");
        a.write_all(b"{\"request\"").await.expect("test setup");
        let e = read_frame_within::<_, Request>(&mut b, 16 << 20, idle, deadline)
            .await
            .expect_err("must fail");
        assert!(
            matches!(e, FrameError::Incomplete(d) if d == deadline),
            "{e}"
        );
        // Half a length prefix counts as a started request too.
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        a.write_all(&[0, 0]).await.expect("test setup");
        let e = read_frame_within::<_, Request>(&mut b, 16 << 20, idle, deadline)
            .await
            .expect_err("must fail");
        assert!(matches!(e, FrameError::Incomplete(_)), "{e}");
        // A peer that hangs up mid-frame is an error, not a frame.
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        a.write_all(&100u32.to_be_bytes())
            .await
            .expect("test setup");
        a.write_all(b"{}").await.expect("test setup");
        drop(a);
        let e = read_frame_within::<_, Request>(&mut b, 1024, idle, deadline)
            .await
            .expect_err("must fail");
        assert!(matches!(e, FrameError::Io(_)), "{e}");
    }
}
