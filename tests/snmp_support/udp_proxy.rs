//! A UDP proxy between our engine and a real agent that misbehaves on request: drops, delays,
//! duplicates, corrupts replies, or rewrites their request id.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Pass everything through.
    None,
    /// Drop every request whose sequence number (from 1) is a multiple of `n`.
    DropEvery(u64),
    /// Drop every request.
    DropAll,
    /// Hold every reply this long.
    Delay(Duration),
    /// Hold every request this long before passing it on: a slow path or a slow agent, whose
    /// replies then arrive right after the agent read its values.
    DelayRequests(Duration),
    /// Drop every reply longer than this many bytes (a path that loses big datagrams, or an
    /// agent that cannot send them).
    DropRepliesAbove(usize),
    /// Send every reply twice.
    Duplicate,
    /// Truncate and scramble every `n`th reply.
    CorruptEvery(u64),
    /// Change the request id of every `n`th reply (a reply to nobody).
    WrongRequestIdEvery(u64),
}

pub struct UdpProxy {
    pub address: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    pub requests: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl UdpProxy {
    /// Starts a proxy to `upstream` on a free loopback port.
    pub async fn start(upstream: SocketAddr) -> UdpProxy {
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind proxy"));
        let back = Arc::new(
            UdpSocket::bind("127.0.0.1:0")
                .await
                .expect("bind proxy upstream side"),
        );
        back.connect(upstream).await.expect("connect upstream");
        let address = front.local_addr().expect("proxy address");
        let fault = Arc::new(Mutex::new(Fault::None));
        let requests = Arc::new(AtomicU64::new(0));
        let client: Arc<Mutex<Option<SocketAddr>>> = Arc::new(Mutex::new(None));
        let replies = Arc::new(AtomicU64::new(0));

        let task = {
            let (front, back, fault, requests, client) = (
                front.clone(),
                back.clone(),
                fault.clone(),
                requests.clone(),
                client.clone(),
            );
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut rbuf = vec![0u8; 65536];
                loop {
                    tokio::select! {
                        got = front.recv_from(&mut buf) => {
                            let Ok((n, from)) = got else { continue };
                            *client.lock().expect("proxy lock") = Some(from);
                            let seq = requests.fetch_add(1, Ordering::Relaxed) + 1;
                            let f = *fault.lock().expect("proxy lock");
                            let drop = match f {
                                Fault::DropAll => true,
                                Fault::DropEvery(k) => seq.is_multiple_of(k),
                                _ => false,
                            };
                            if let Fault::DelayRequests(d) = f {
                                let (back, request) = (back.clone(), buf[..n].to_vec());
                                tokio::spawn(async move {
                                    tokio::time::sleep(d).await;
                                    let _ = back.send(&request).await;
                                });
                            } else if !drop {
                                let _ = back.send(&buf[..n]).await;
                            }
                        }
                        got = back.recv(&mut rbuf) => {
                            let Ok(n) = got else { continue };
                            let Some(to) = *client.lock().expect("proxy lock") else { continue };
                            let seq = replies.fetch_add(1, Ordering::Relaxed) + 1;
                            let mut reply = rbuf[..n].to_vec();
                            let f = *fault.lock().expect("proxy lock");
                            match f {
                                Fault::Delay(d) => {
                                    let front = front.clone();
                                    tokio::spawn(async move {
                                        tokio::time::sleep(d).await;
                                        let _ = front.send_to(&reply, to).await;
                                    });
                                    continue;
                                }
                                Fault::DropRepliesAbove(limit) if n > limit => continue,
                                Fault::Duplicate => {
                                    let _ = front.send_to(&reply, to).await;
                                }
                                Fault::CorruptEvery(k) if seq.is_multiple_of(k) => {
                                    reply.truncate(reply.len() * 2 / 3);
                                    for (i, b) in reply.iter_mut().enumerate().skip(7) {
                                        if i % 5 == 0 {
                                            *b ^= 0xA5;
                                        }
                                    }
                                }
                                // A reply whose id cannot be found is dropped instead.
                                Fault::WrongRequestIdEvery(k) if seq.is_multiple_of(k) && !rewrite_request_id(&mut reply) => continue,
                                _ => {}
                            }
                            let _ = front.send_to(&reply, to).await;
                        }
                    }
                }
            })
        };
        UdpProxy {
            address,
            fault,
            requests,
            task,
        }
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().expect("proxy lock") = fault;
    }
}

impl Drop for UdpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads a BER length at `i`; returns (length, index after it).
fn ber_len(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let first = *b.get(i)?;
    if first < 0x80 {
        return Some((first as usize, i + 1));
    }
    let n = (first & 0x7f) as usize;
    let mut len = 0usize;
    for k in 0..n {
        len = (len << 8) | *b.get(i + 1 + k)? as usize;
    }
    Some((len, i + 1 + n))
}

/// Flips the last byte of the request id of a v1/v2c message (SEQUENCE { version, community,
/// PDU { request-id, ... } }). Returns false when the message is not of that shape.
fn rewrite_request_id(b: &mut [u8]) -> bool {
    let skip_tlv = |b: &[u8], i: usize| -> Option<usize> {
        let (len, start) = ber_len(b, i + 1)?;
        Some(start + len)
    };
    let Some((_, body)) = ber_len(b, 1) else {
        return false;
    };
    let Some(after_version) = skip_tlv(b, body) else {
        return false;
    };
    let Some(after_community) = skip_tlv(b, after_version) else {
        return false;
    };
    let Some((_, pdu_body)) = ber_len(b, after_community + 1) else {
        return false;
    };
    if b.get(pdu_body) != Some(&0x02) {
        return false;
    }
    let Some((len, start)) = ber_len(b, pdu_body + 1) else {
        return false;
    };
    if len == 0 || start + len > b.len() {
        return false;
    }
    b[start + len - 1] ^= 0x5A;
    true
}
