//! A scripted device: a small SNMP agent (system group, IF-MIB `ifTable`/`ifXTable` for a few
//! ports) whose octet counters change only when its [`ScriptHandle`] says so, for tests that
//! compare what coopnoc measured with an exact ground truth.
//!
//! Counters are kept as 64-bit totals per port and direction: a port with 64-bit counters
//! serves them as `ifHCInOctets`/`ifHCOutOctets` (and their low 32 bits as `ifInOctets`/
//! `ifOutOctets`, as real agents do); a [`CounterWidth::Only32`] port serves only the 32-bit
//! columns, which wrap when the total crosses a multiple of 2^32. `sysUpTime.0` runs in real
//! time from the value last set (a real agent's clock: a reboot is the test setting it back).
//! While silent, the device answers nothing (a UDP front drops the requests).
//!
//! ```no_run
//! # async fn example() -> Result<(), coopnoc_sim::SimError> {
//! use coopnoc_sim::{CounterWidth, ScriptedDevice, ScriptedPort, ScriptedSpec};
//! let device = ScriptedDevice::start(ScriptedSpec::new(
//!     "switch-1",
//!     vec![ScriptedPort::new(1, "ge-0/0/1", "member-42", 10_000_000, CounterWidth::Hc64)],
//! ))
//! .await?;
//! let script = device.handle();
//! script.add_octets(1, 1_000, 250_000); // 1 kB in (upload), 250 kB out (download)
//! script.set_silent(true); // the next poll gets no answer
//! script.reboot(100); // sysUpTime back to 1 s, every counter to 0
//! device.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use async_snmp::agent::Agent;
use async_snmp::handler::{
    BoxFuture, GetNextResult, GetResult, HandlerResult, MibHandler, RequestContext,
};
use async_snmp::{Oid, Value, VarBind, Version};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::network::SimError;
use crate::table::SYS_UPTIME;

const SYSTEM: [u32; 7] = [1, 3, 6, 1, 2, 1, 1];
const IF_NUMBER: [u32; 9] = [1, 3, 6, 1, 2, 1, 2, 1, 0];
const IF_ENTRY: [u32; 9] = [1, 3, 6, 1, 2, 1, 2, 2, 1];
const IFX_ENTRY: [u32; 10] = [1, 3, 6, 1, 2, 1, 31, 1, 1, 1];
/// sysObjectID: under the private enterprise number reserved for documentation (RFC 5612),
/// so that no vendor profile claims the device.
const OBJECT_ID: [u32; 9] = [1, 3, 6, 1, 4, 1, 32473, 1, 1];

/// Which octet counters a port has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterWidth {
    /// `ifHCInOctets`/`ifHCOutOctets` (Counter64), and the 32-bit `ifInOctets`/`ifOutOctets`.
    Hc64,
    /// Only `ifInOctets`/`ifOutOctets` (Counter32): an old agent's port.
    Only32,
}

/// One port of a scripted device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedPort {
    pub index: u32,
    /// `ifName` (also `ifDescr`).
    pub name: String,
    /// `ifAlias`: what an operator typed on the port, often the member's reference.
    pub alias: String,
    /// Served as `ifHighSpeed` (Mb/s, rounded down) and `ifSpeed` (b/s, capped at 2^32 - 1).
    pub speed_bps: u64,
    pub width: CounterWidth,
}

impl ScriptedPort {
    pub fn new(
        index: u32,
        name: impl Into<String>,
        alias: impl Into<String>,
        speed_bps: u64,
        width: CounterWidth,
    ) -> ScriptedPort {
        ScriptedPort {
            index,
            name: name.into(),
            alias: alias.into(),
            speed_bps,
            width,
        }
    }
}

/// Everything needed to start a scripted device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedSpec {
    /// `sysName.0`.
    pub name: String,
    pub community: String,
    pub ports: Vec<ScriptedPort>,
    /// `sysUpTime.0` at start, hundredths of a second.
    pub uptime_ticks: u32,
}

impl ScriptedSpec {
    /// A device answering community `public`, up for a day, counters at 0.
    pub fn new(name: impl Into<String>, ports: Vec<ScriptedPort>) -> ScriptedSpec {
        ScriptedSpec {
            name: name.into(),
            community: "public".to_owned(),
            ports,
            uptime_ticks: 86_400 * 100,
        }
    }
}

/// A port's counters as the script set them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Octets {
    /// `ifInOctets`: received by the device on the port (the member's upload).
    pub in_octets: u64,
    /// `ifOutOctets`: sent by the device on the port (the member's download).
    pub out_octets: u64,
}

#[derive(Debug)]
struct PortState {
    port: ScriptedPort,
    octets: Octets,
    /// `ifCounterDiscontinuityTime`: sysUpTime when the counters last restarted (0: at boot).
    discontinuity: u32,
}

#[derive(Debug)]
struct State {
    name: String,
    uptime_base: u32,
    uptime_set_at: Instant,
    ports: Vec<PortState>,
}

impl State {
    fn uptime(&self, now: Instant) -> u32 {
        let ticks = now
            .saturating_duration_since(self.uptime_set_at)
            .as_millis()
            / 10;
        self.uptime_base.wrapping_add(ticks as u32)
    }

    fn port_mut(&mut self, index: u32) -> &mut PortState {
        self.ports
            .iter_mut()
            .find(|p| p.port.index == index)
            .unwrap_or_else(|| panic!("the scripted device has no port {index}"))
    }

    /// Every OID the device serves right now, with its value.
    fn snapshot(&self, now: Instant) -> BTreeMap<Oid, Value> {
        let mut m = BTreeMap::new();
        let mut put = |prefix: &[u32], arcs: &[u32], value: Value| {
            let mut oid = prefix.to_vec();
            oid.extend_from_slice(arcs);
            m.insert(Oid::from(oid), value);
        };
        put(&SYSTEM, &[1, 0], Value::from("coopnoc-sim scripted device"));
        put(&SYSTEM, &[2, 0], Value::from(Oid::from(OBJECT_ID)));
        put(&SYS_UPTIME, &[], Value::TimeTicks(self.uptime(now)));
        put(&SYSTEM, &[5, 0], Value::from(self.name.as_str()));
        put(&IF_NUMBER, &[], Value::Integer(self.ports.len() as i32));
        for p in &self.ports {
            let (i, port, o) = (p.port.index, &p.port, p.octets);
            put(&IF_ENTRY, &[1, i], Value::Integer(i as i32));
            put(&IF_ENTRY, &[2, i], Value::from(port.name.as_str()));
            // ethernetCsmacd
            put(&IF_ENTRY, &[3, i], Value::Integer(6));
            let speed = u32::try_from(port.speed_bps).unwrap_or(u32::MAX);
            put(&IF_ENTRY, &[5, i], Value::Gauge32(speed));
            put(&IF_ENTRY, &[7, i], Value::Integer(1));
            put(&IF_ENTRY, &[8, i], Value::Integer(1));
            put(&IF_ENTRY, &[10, i], Value::Counter32(o.in_octets as u32));
            put(&IF_ENTRY, &[16, i], Value::Counter32(o.out_octets as u32));
            put(&IFX_ENTRY, &[1, i], Value::from(port.name.as_str()));
            if port.width == CounterWidth::Hc64 {
                put(&IFX_ENTRY, &[6, i], Value::Counter64(o.in_octets));
                put(&IFX_ENTRY, &[10, i], Value::Counter64(o.out_octets));
            }
            let mbps = u32::try_from(port.speed_bps / 1_000_000).unwrap_or(u32::MAX);
            put(&IFX_ENTRY, &[15, i], Value::Gauge32(mbps));
            put(&IFX_ENTRY, &[18, i], Value::from(port.alias.as_str()));
            put(&IFX_ENTRY, &[19, i], Value::TimeTicks(p.discontinuity));
        }
        m
    }
}

/// What the test holds to move a scripted device. Cheap to clone; usable from any thread.
#[derive(Debug, Clone)]
pub struct ScriptHandle {
    state: Arc<Mutex<State>>,
    silent: Arc<AtomicBool>,
    polls: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
}

impl ScriptHandle {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A port's counters now. Panics on a port the device does not have.
    pub fn octets(&self, port: u32) -> Octets {
        self.state().port_mut(port).octets
    }

    /// Sets a port's counters (64-bit totals; a 32-bit port serves them modulo 2^32).
    pub fn set_octets(&self, port: u32, octets: Octets) {
        self.state().port_mut(port).octets = octets;
    }

    /// Adds to a port's counters (wrapping at 2^64); returns the new values.
    pub fn add_octets(&self, port: u32, in_octets: u64, out_octets: u64) -> Octets {
        let mut state = self.state();
        let o = &mut state.port_mut(port).octets;
        o.in_octets = o.in_octets.wrapping_add(in_octets);
        o.out_octets = o.out_octets.wrapping_add(out_octets);
        *o
    }

    /// `sysUpTime.0` now, hundredths of a second.
    pub fn uptime_ticks(&self) -> u32 {
        self.state().uptime(Instant::now())
    }

    /// Sets `sysUpTime.0`; it runs on in real time from there.
    pub fn set_uptime(&self, ticks: u32) {
        let mut state = self.state();
        state.uptime_base = ticks;
        state.uptime_set_at = Instant::now();
    }

    /// A reboot: `sysUpTime.0` restarts at `uptime_ticks`, every counter at 0, every
    /// `ifCounterDiscontinuityTime` at 0 (the counters started with the agent).
    pub fn reboot(&self, uptime_ticks: u32) {
        let mut state = self.state();
        state.uptime_base = uptime_ticks;
        state.uptime_set_at = Instant::now();
        for p in &mut state.ports {
            p.octets = Octets::default();
            p.discontinuity = 0;
        }
    }

    /// A port's counters restart at 0 without a reboot (a line card restarted):
    /// `ifCounterDiscontinuityTime` becomes the current `sysUpTime.0`.
    pub fn reset_counters(&self, port: u32) {
        let mut state = self.state();
        let now = state.uptime(Instant::now());
        let p = state.port_mut(port);
        p.octets = Octets::default();
        p.discontinuity = now;
    }

    /// While silent, every request goes unanswered.
    pub fn set_silent(&self, silent: bool) {
        self.silent.store(silent, Ordering::SeqCst);
    }

    /// Polls answered so far: reads of `sysUpTime.0`, which every poll of coopnoc makes once.
    pub fn polls_answered(&self) -> u64 {
        self.polls.load(Ordering::SeqCst)
    }

    /// Requests dropped while silent.
    pub fn requests_dropped(&self) -> u64 {
        self.dropped.load(Ordering::SeqCst)
    }
}

struct ScriptedHandler {
    handle: ScriptHandle,
}

impl MibHandler for ScriptedHandler {
    fn get<'a>(
        &'a self,
        _ctx: &'a RequestContext,
        oid: &'a Oid,
    ) -> BoxFuture<'a, HandlerResult<GetResult>> {
        Box::pin(async move {
            if oid.arcs() == SYS_UPTIME {
                self.handle.polls.fetch_add(1, Ordering::SeqCst);
            }
            let snapshot = self.handle.state().snapshot(Instant::now());
            Ok(match snapshot.get(oid) {
                Some(value) => GetResult::Value(value.clone()),
                None => GetResult::NoSuchObject,
            })
        })
    }

    fn get_next<'a>(
        &'a self,
        ctx: &'a RequestContext,
        oid: &'a Oid,
    ) -> BoxFuture<'a, HandlerResult<GetNextResult>> {
        Box::pin(async move {
            let snapshot = self.handle.state().snapshot(Instant::now());
            let next = snapshot
                .range((Bound::Excluded(oid), Bound::Unbounded))
                // SNMPv1 cannot carry Counter64.
                .find(|(_, v)| ctx.version() != Version::V1 || !matches!(v, Value::Counter64(_)));
            Ok(match next {
                Some((oid, value)) => {
                    GetNextResult::Value(VarBind::new(oid.clone(), value.clone()))
                }
                None => GetNextResult::EndOfMibView,
            })
        })
    }

    fn handles(&self, _registered_prefix: &Oid, _oid: &Oid) -> bool {
        true
    }
}

/// A running scripted device. Dropping it stops the agent; [`ScriptedDevice::shutdown`] also
/// waits for its tasks to end.
pub struct ScriptedDevice {
    /// Where to send requests (`127.0.0.1:PORT`).
    pub addr: SocketAddr,
    pub community: String,
    handle: ScriptHandle,
    agent: Agent,
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl ScriptedDevice {
    /// Starts the device on `127.0.0.1`, on a port chosen by the system.
    pub async fn start(spec: ScriptedSpec) -> Result<ScriptedDevice, SimError> {
        let state = State {
            name: spec.name.clone(),
            uptime_base: spec.uptime_ticks,
            uptime_set_at: Instant::now(),
            ports: spec
                .ports
                .into_iter()
                .map(|port| PortState {
                    port,
                    octets: Octets::default(),
                    discontinuity: 0,
                })
                .collect(),
        };
        let handle = ScriptHandle {
            state: Arc::new(Mutex::new(state)),
            silent: Arc::new(AtomicBool::new(false)),
            polls: Arc::new(AtomicU64::new(0)),
            dropped: Arc::new(AtomicU64::new(0)),
        };
        let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let agent = Agent::builder()
            .bind(local.to_string())
            .community(spec.community.as_bytes().to_vec())
            .handler(
                Oid::from([1, 3]),
                Arc::new(ScriptedHandler {
                    handle: handle.clone(),
                }),
            )
            .without_builtin_handlers()
            .allow_all_access()
            .build()
            .await
            .map_err(|source| SimError::Agent {
                device: spec.name.clone(),
                addr: local,
                source,
            })?;
        let (stop, _) = watch::channel(false);
        let (silent, dropped) = (handle.silent.clone(), handle.dropped.clone());
        let drop_request = move || {
            let drop = silent.load(Ordering::SeqCst);
            if drop {
                dropped.fetch_add(1, Ordering::SeqCst);
            }
            drop
        };
        let (addr, front) =
            crate::front::spawn_front(local, agent.local_addr(), drop_request, stop.subscribe())
                .await
                .map_err(|source| SimError::Io {
                    device: spec.name.clone(),
                    addr: local,
                    source,
                })?;
        let runner = agent.clone();
        let name = spec.name;
        let task = tokio::spawn(async move {
            if let Err(error) = runner.run().await {
                tracing::warn!(device = %name, %error, "scripted agent stopped");
            }
        });
        Ok(ScriptedDevice {
            addr,
            community: spec.community,
            handle,
            agent,
            tasks: vec![front, task],
            stop,
        })
    }

    /// The handle that moves the device.
    pub fn handle(&self) -> ScriptHandle {
        self.handle.clone()
    }

    /// Stops the agent and waits for its tasks to end.
    pub async fn shutdown(mut self) {
        self.signal_stop();
        for task in self.tasks.drain(..) {
            if let Err(error) = task.await {
                tracing::warn!(%error, "scripted device task ended badly");
            }
        }
    }

    fn signal_stop(&self) {
        let _ = self.stop.send(true);
        self.agent.cancel();
    }
}

impl Drop for ScriptedDevice {
    fn drop(&mut self) {
        self.signal_stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn oid(s: &str) -> Oid {
        Oid::parse(s).expect("oid")
    }

    fn state() -> State {
        State {
            name: "s".into(),
            uptime_base: 1000,
            uptime_set_at: Instant::now(),
            ports: vec![
                PortState {
                    port: ScriptedPort::new(1, "xe-1", "M-1", 10_000_000_000, CounterWidth::Hc64),
                    octets: Octets::default(),
                    discontinuity: 0,
                },
                PortState {
                    port: ScriptedPort::new(7, "fe-7", "M-2", 10_000_000, CounterWidth::Only32),
                    octets: Octets::default(),
                    discontinuity: 0,
                },
            ],
        }
    }

    #[test]
    fn counters_are_served_as_set_and_32_bit_ones_wrap() {
        let mut s = state();
        s.port_mut(1).octets = Octets {
            in_octets: (1 << 32) + 5,
            out_octets: 42,
        };
        s.port_mut(7).octets = Octets {
            in_octets: (1 << 32) + 9,
            out_octets: u64::from(u32::MAX),
        };
        let m = s.snapshot(s.uptime_set_at);
        assert_eq!(
            m[&oid("1.3.6.1.2.1.31.1.1.1.6.1")],
            Value::Counter64((1 << 32) + 5)
        );
        assert_eq!(m[&oid("1.3.6.1.2.1.31.1.1.1.10.1")], Value::Counter64(42));
        assert_eq!(m[&oid("1.3.6.1.2.1.2.2.1.10.1")], Value::Counter32(5));
        // The 32-bit port has no 64-bit columns, and its counters wrap.
        assert!(!m.contains_key(&oid("1.3.6.1.2.1.31.1.1.1.6.7")));
        assert_eq!(m[&oid("1.3.6.1.2.1.2.2.1.10.7")], Value::Counter32(9));
        assert_eq!(
            m[&oid("1.3.6.1.2.1.2.2.1.16.7")],
            Value::Counter32(u32::MAX)
        );
        // Speeds: ifSpeed capped at 2^32 - 1, ifHighSpeed in Mb/s.
        assert_eq!(m[&oid("1.3.6.1.2.1.2.2.1.5.1")], Value::Gauge32(u32::MAX));
        assert_eq!(m[&oid("1.3.6.1.2.1.31.1.1.1.15.1")], Value::Gauge32(10_000));
        assert_eq!(m[&oid("1.3.6.1.2.1.31.1.1.1.15.7")], Value::Gauge32(10));
        assert_eq!(m[&oid("1.3.6.1.2.1.31.1.1.1.18.7")], Value::from("M-2"));
    }

    #[test]
    fn uptime_runs_from_the_value_set() {
        let s = state();
        let later = s.uptime_set_at + Duration::from_millis(2_345);
        assert_eq!(s.uptime(s.uptime_set_at), 1000);
        assert_eq!(s.uptime(later), 1234);
        assert_eq!(
            s.snapshot(later)[&Oid::from(SYS_UPTIME)],
            Value::TimeTicks(1234)
        );
    }

    #[test]
    fn the_tree_is_ordered_system_then_iftable_then_ifxtable() {
        let s = state();
        let oids: Vec<Oid> = s.snapshot(s.uptime_set_at).into_keys().collect();
        assert_eq!(oids[0], oid("1.3.6.1.2.1.1.1.0"));
        let first_if = oids.iter().position(|o| *o == oid("1.3.6.1.2.1.2.2.1.1.1"));
        let first_ifx = oids
            .iter()
            .position(|o| *o == oid("1.3.6.1.2.1.31.1.1.1.1.1"));
        assert!(first_if < first_ifx, "{oids:?}");
        // Columns run over every port before the next column.
        assert_eq!(
            oids[first_if.expect("ifIndex.1") + 1],
            oid("1.3.6.1.2.1.2.2.1.1.7")
        );
    }
}
