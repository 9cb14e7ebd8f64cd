//! The server's own interfaces (a device of kind `local`), read from the kernel over netlink.
//!
//! Two sources, one socket: a link dump every `status-interval` gives oper state, carrier and
//! the 64-bit counters; the RTNLGRP_LINK multicast group tells us of an uplink going down the
//! moment the kernel knows, so it is seen within a second instead of at the next dump.
//! Everything leaves as `ObservationBatch`es on the same channel as the SNMP devices'.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use netlink_packet_core::NetlinkPayload;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, State};
use rtnetlink::{Handle, MulticastGroup, new_multicast_connection};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::collect::observe::{Counter, Observation, ObservationBatch, Subject};
use crate::config::Device;
use crate::health::Heartbeat;

/// A link dump that takes longer than this is a failed read, not a stuck collector.
const DUMP_TIMEOUT: Duration = Duration::from_secs(10);
/// Wait before opening a new netlink socket after the kernel closed ours (e.g. ENOBUFS).
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot open a netlink socket: {0}")]
    Socket(#[source] std::io::Error),
    #[error("netlink link dump failed: {0}")]
    Dump(#[from] rtnetlink::Error),
    #[error("netlink link dump took longer than {0:?}")]
    DumpTimeout(Duration),
}

/// How long the collector of `device` may stay silent before the watchdog calls it stuck:
/// two missed dumps plus the dump's own timeout.
pub fn stale_after(device: &Device) -> Duration {
    device.poll.status_interval * 2 + DUMP_TIMEOUT
}

/// `pattern` matches `name`: `*` stands for any run of characters, `?` for one; the rest is
/// literal. Interface names are short, so plain backtracking is fine.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was, and how much of the name it has swallowed so far.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// What we read of one link.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkReading {
    pub index: u32,
    pub name: String,
    pub up: bool,
    pub carrier: Option<bool>,
    pub stats: Option<netlink_packet_route::link::Stats64>,
}

impl LinkReading {
    pub fn from_message(msg: &LinkMessage) -> Option<LinkReading> {
        let mut name = None;
        let mut oper = None;
        let mut carrier = None;
        let mut stats = None;
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => name = Some(n.clone()),
                LinkAttribute::OperState(s) => oper = Some(*s),
                LinkAttribute::Carrier(c) => carrier = Some(*c != 0),
                LinkAttribute::Stats64(s) => stats = Some(*s),
                _ => {}
            }
        }
        let flags = msg.header.flags;
        // Drivers that do not track operational state (loopback, dummy, some tunnels) say
        // "unknown": then the interface is up when it is administratively up with a lower layer.
        let up = match oper {
            Some(State::Up) => true,
            Some(State::Unknown) | None => flags.contains(LinkFlags::Up | LinkFlags::LowerUp),
            Some(_) => false,
        };
        Some(LinkReading {
            index: msg.header.index,
            name: name?,
            up,
            carrier,
            stats,
        })
    }

    fn subject(&self) -> Subject {
        Subject::Interface {
            index: self.index,
            name: Arc::from(self.name.as_str()),
        }
    }

    fn observations(&self) -> Vec<Observation> {
        let mut out = vec![Observation::Interface {
            subject: self.subject(),
            oper_up: Some(self.up),
            in_octets: self.stats.map(|s| Counter::C64(s.rx_bytes)),
            out_octets: self.stats.map(|s| Counter::C64(s.tx_bytes)),
            // The link speed is an ethtool matter, not rtnetlink's.
            speed_bps: None,
            discontinuity: None,
            // Read from the kernel at the batch's time.
            in_read_at: None,
            out_read_at: None,
        }];
        if let Some(s) = self.stats {
            out.push(Observation::InterfaceStats {
                subject: self.subject(),
                carrier: self.carrier,
                in_packets: Counter::C64(s.rx_packets),
                out_packets: Counter::C64(s.tx_packets),
                in_errors: Counter::C64(s.rx_errors),
                out_errors: Counter::C64(s.tx_errors),
                in_discards: Counter::C64(s.rx_dropped),
                out_discards: Counter::C64(s.tx_dropped),
            });
        }
        out
    }
}

/// The watched interfaces of one device and their last known state.
struct Watched {
    device: Arc<str>,
    patterns: Vec<String>,
    /// ifindex -> (name, up)
    known: HashMap<u32, (String, bool)>,
    /// Names of watched links that went away (a PPP session ended): absent counts as down, so
    /// their coming back up is a change too, even under a new index.
    vanished: HashSet<String>,
}

impl Watched {
    fn wants(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| glob_match(p, name))
    }

    /// Records `reading`; returns a `LinkChange` when its up/down state changed.
    fn update(&mut self, reading: &LinkReading) -> Option<Observation> {
        let before = self
            .known
            .insert(reading.index, (reading.name.clone(), reading.up));
        let was_up = match before {
            Some((_, up)) => up,
            None if self.vanished.remove(&reading.name) => false,
            None => {
                tracing::info!(
                    "local device {}: watching {} (index {}), {}",
                    self.device,
                    reading.name,
                    reading.index,
                    updown(reading.up)
                );
                return None;
            }
        };
        (was_up != reading.up).then(|| Observation::LinkChange {
            subject: reading.subject(),
            up: reading.up,
        })
    }

    /// A watched link disappeared (a PPP session or a USB modem went away): it is down.
    fn remove(&mut self, index: u32) -> Option<Observation> {
        let (name, was_up) = self.known.remove(&index)?;
        self.vanished.insert(name.clone());
        was_up.then(|| Observation::LinkChange {
            subject: Subject::Interface {
                index,
                name: Arc::from(name),
            },
            up: false,
        })
    }

    fn batch(&self, items: Vec<Observation>) -> ObservationBatch {
        ObservationBatch {
            device: self.device.clone(),
            at: jiff::Timestamp::now(),
            items,
        }
    }
}

/// Watches the interfaces of a `local` device until `shutdown`: a dump every status interval
/// and live link changes in between. Beats `heartbeat` after each dump, whatever its outcome,
/// so the watchdog sees a collector that is alive even when netlink fails.
pub async fn run_local_device(
    device: Device,
    tx: mpsc::Sender<ObservationBatch>,
    heartbeat: Heartbeat,
    shutdown: CancellationToken,
) {
    let mut watched = Watched {
        device: Arc::from(device.name.as_str()),
        patterns: device.interfaces.clone(),
        known: HashMap::new(),
        vanished: HashSet::new(),
    };
    let interval = device.poll.status_interval;
    tracing::info!(
        "local device {}: watching interfaces {} over netlink every {interval:?}, link changes live",
        device.name,
        device.interfaces.join(", ")
    );
    let mut warned_missing = false;
    while !shutdown.is_cancelled() {
        let (connection, handle, mut messages) =
            match new_multicast_connection(&[MulticastGroup::Link]) {
                Ok(c) => c,
                Err(e) => {
                    let e = LocalError::Socket(e);
                    tracing::error!("local device {}: {e}", device.name);
                    let reach = Observation::Reachability {
                        reachable: false,
                        error: Some(e.to_string()),
                        duration: Duration::ZERO,
                    };
                    send(&tx, watched.batch(vec![reach])).await;
                    heartbeat.beat();
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(interval) => continue,
                    }
                }
            };
        let connection = tokio::spawn(connection);
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {
                    let batch = dump(&handle, &mut watched, &mut warned_missing).await;
                    send(&tx, batch).await;
                    heartbeat.beat();
                }
                message = messages.next() => {
                    let Some((message, _)) = message else {
                        tracing::warn!("local device {}: the netlink socket closed; reopening it", device.name);
                        break;
                    };
                    let changes = match message.payload {
                        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) => {
                            LinkReading::from_message(&link)
                                .filter(|r| watched.wants(&r.name))
                                .and_then(|r| watched.update(&r))
                        }
                        NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(link)) => watched.remove(link.header.index),
                        _ => None,
                    };
                    if let Some(change) = changes {
                        if let Observation::LinkChange { subject: Subject::Interface { name, .. }, up } = &change {
                            tracing::info!("local device {}: {name} is {}", device.name, updown(*up));
                        }
                        send(&tx, watched.batch(vec![change])).await;
                    }
                }
            }
        }
        connection.abort();
        if !shutdown.is_cancelled() {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(RECONNECT_DELAY) => {}
            }
        }
    }
    tracing::debug!("local device {}: stopped", device.name);
}

/// One link dump: the readings of the watched interfaces, the changes a lost multicast
/// message would have told, and the device's reachability (can we read the kernel at all).
async fn dump(
    handle: &Handle,
    watched: &mut Watched,
    warned_missing: &mut bool,
) -> ObservationBatch {
    let started = Instant::now();
    let result = tokio::time::timeout(
        DUMP_TIMEOUT,
        handle
            .link()
            .get()
            .execute()
            .try_collect::<Vec<LinkMessage>>(),
    )
    .await;
    let duration = started.elapsed();
    let links = match result {
        Ok(Ok(links)) => links,
        Ok(Err(e)) => return failed(watched, LocalError::Dump(e), duration),
        Err(_) => return failed(watched, LocalError::DumpTimeout(DUMP_TIMEOUT), duration),
    };
    let readings: Vec<LinkReading> = links
        .iter()
        .filter_map(LinkReading::from_message)
        .filter(|r| watched.wants(&r.name))
        .collect();
    let mut items = vec![Observation::Reachability {
        reachable: true,
        error: None,
        duration,
    }];
    for r in &readings {
        if let Some(change) = watched.update(r) {
            // The multicast message was lost (socket overrun): the periodic read caught it.
            tracing::info!(
                "local device {}: {} is {} (seen by the periodic read)",
                watched.device,
                r.name,
                updown(r.up)
            );
            items.push(change);
        }
        items.extend(r.observations());
    }
    let gone: Vec<u32> = watched
        .known
        .keys()
        .filter(|i| !readings.iter().any(|r| r.index == **i))
        .copied()
        .collect();
    for index in gone {
        items.extend(watched.remove(index));
    }
    if readings.is_empty() && !*warned_missing {
        tracing::warn!(
            "local device {}: no interface matches {}",
            watched.device,
            watched.patterns.join(", ")
        );
        *warned_missing = true;
    } else if !readings.is_empty() {
        *warned_missing = false;
    }
    watched.batch(items)
}

fn updown(up: bool) -> &'static str {
    if up { "up" } else { "down" }
}

fn failed(watched: &Watched, error: LocalError, duration: Duration) -> ObservationBatch {
    tracing::warn!("local device {}: {error}", watched.device);
    watched.batch(vec![Observation::Reachability {
        reachable: false,
        error: Some(error.to_string()),
        duration,
    }])
}

async fn send(tx: &mpsc::Sender<ObservationBatch>, batch: ObservationBatch) {
    // A closed channel means the daemon is stopping; the collector stops on the token.
    let _ = tx.send(batch).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(index: u32, name: &str, up: bool) -> LinkReading {
        LinkReading {
            index,
            name: name.to_string(),
            up,
            carrier: Some(up),
            stats: None,
        }
    }

    fn change(o: Option<Observation>) -> Option<(String, bool)> {
        match o? {
            Observation::LinkChange {
                subject: Subject::Interface { name, .. },
                up,
            } => Some((name.to_string(), up)),
            other => panic!("not a link change: {other:?}"),
        }
    }

    #[test]
    fn only_changes_are_link_changes_and_a_vanished_link_is_down() {
        let mut w = Watched {
            device: Arc::from("gw"),
            patterns: vec!["ppp*".into()],
            known: HashMap::new(),
            vanished: HashSet::new(),
        };
        assert!(w.wants("ppp0") && !w.wants("eth0"));
        assert_eq!(
            change(w.update(&reading(7, "ppp0", true))),
            None,
            "first sight is a state, not a change"
        );
        assert_eq!(change(w.update(&reading(7, "ppp0", true))), None);
        assert_eq!(
            change(w.update(&reading(7, "ppp0", false))),
            Some(("ppp0".into(), false))
        );
        assert_eq!(
            change(w.update(&reading(7, "ppp0", true))),
            Some(("ppp0".into(), true))
        );
        // The PPP session ends: the interface goes away, then comes back under a new index.
        assert_eq!(change(w.remove(7)), Some(("ppp0".into(), false)));
        assert_eq!(change(w.remove(7)), None);
        assert_eq!(
            change(w.update(&reading(9, "ppp0", true))),
            Some(("ppp0".into(), true))
        );
    }

    #[test]
    fn glob_matches_names_and_patterns() {
        assert!(glob_match("eth0", "eth0"));
        assert!(!glob_match("eth0", "eth01"));
        assert!(glob_match("eth*", "eth0"));
        assert!(glob_match("eth*", "eth"));
        assert!(!glob_match("eth*", "veth0"));
        assert!(glob_match("*wan*", "pppwan1"));
        assert!(glob_match("wan?", "wan1"));
        assert!(!glob_match("wan?", "wan12"));
        assert!(glob_match("e*h*0", "enpxh2s0"));
        assert!(!glob_match("e*h*0", "enpxh2s1"));
        assert!(glob_match("*", "lo"));
        assert!(!glob_match("", "lo"));
    }
}
