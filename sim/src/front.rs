//! A UDP front for devices that do not always answer: it owns the public port, drops the
//! requests its caller says to drop (a share of them for a lossy device, all of them while
//! a scripted device is silent) and relays the rest to the agent (one upstream socket per
//! client, so the agent's answer finds its way back).

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::rng::Rng;

/// Above this many distinct clients, forget the old ones (a sim has a handful).
const MAX_CLIENTS: usize = 1024;

/// A front that drops each request with probability `loss` (deterministic per `seed`).
pub(crate) async fn spawn_loss_front(
    public: SocketAddr,
    agent: SocketAddr,
    loss: f64,
    seed: u64,
    stop: watch::Receiver<bool>,
) -> io::Result<(SocketAddr, JoinHandle<()>)> {
    let mut rng = Rng::new(seed ^ 0x1055);
    spawn_front(public, agent, move || rng.next_f64() < loss, stop).await
}

/// A front that asks `drop_request` about each request as it arrives: `true` drops it.
pub(crate) async fn spawn_front(
    public: SocketAddr,
    agent: SocketAddr,
    mut drop_request: impl FnMut() -> bool + Send + 'static,
    mut stop: watch::Receiver<bool>,
) -> io::Result<(SocketAddr, JoinHandle<()>)> {
    let socket = Arc::new(UdpSocket::bind(public).await?);
    let addr = socket.local_addr()?;
    let task = tokio::spawn(async move {
        let mut upstreams: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
        let mut relays = JoinSet::new();
        let mut buf = vec![0u8; 65_536];
        loop {
            let (len, client) = tokio::select! {
                _ = stop.changed() => break,
                received = socket.recv_from(&mut buf) => match received {
                    Ok(r) => r,
                    Err(error) => {
                        tracing::debug!(%error, "loss front receive error");
                        continue;
                    }
                },
            };
            if drop_request() {
                continue;
            }
            let upstream = match upstreams.get(&client) {
                Some(up) => Arc::clone(up),
                None => {
                    if upstreams.len() >= MAX_CLIENTS {
                        upstreams.clear();
                        relays.abort_all();
                    }
                    let Ok(up) = connect_upstream(agent).await else {
                        continue;
                    };
                    let up = Arc::new(up);
                    relays.spawn(relay_back(
                        Arc::clone(&up),
                        Arc::clone(&socket),
                        client,
                        stop.clone(),
                    ));
                    upstreams.insert(client, Arc::clone(&up));
                    up
                }
            };
            if let Err(error) = upstream.send(&buf[..len]).await {
                tracing::debug!(%error, "loss front relay error");
            }
        }
        relays.shutdown().await;
    });
    Ok((addr, task))
}

async fn connect_upstream(agent: SocketAddr) -> io::Result<UdpSocket> {
    let up = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    up.connect(agent).await?;
    Ok(up)
}

/// Send the agent's answers back to the client.
async fn relay_back(
    upstream: Arc<UdpSocket>,
    public: Arc<UdpSocket>,
    client: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            received = upstream.recv(&mut buf) => match received {
                Ok(len) => {
                    let _ = public.send_to(&buf[..len], client).await;
                }
                Err(error) => tracing::debug!(%error, "loss front upstream error"),
            },
        }
    }
}
