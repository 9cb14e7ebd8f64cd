//! One device's session: its request window, adaptive GETBULK, retries with backoff, and its
//! counters; GETs and walks of table columns.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_snmp as lib;
use tokio::sync::Semaphore;

use super::walk::{Oid, Table, TableWalk, Value};
use super::{
    SessionCounters, SessionOptions, SessionStats, SnmpError, Version, jitter_fraction, lib_oid,
    map_error, value_of,
};

/// GETBULK max-repetitions for one device: shrink fast on trouble, grow back slowly.
#[derive(Debug, Clone, Copy)]
struct AdaptiveBulk {
    ceiling: u32,
    current: u32,
    /// Successful replies since the last change.
    good: u32,
}

/// Replies in a row at one size before trying a larger one.
const GROW_AFTER: u32 = 20;

impl AdaptiveBulk {
    fn new(ceiling: u32) -> AdaptiveBulk {
        AdaptiveBulk {
            ceiling,
            current: ceiling,
            good: 0,
        }
    }

    fn shrink(&mut self) {
        self.current = (self.current / 2).max(1);
        self.good = 0;
    }

    fn success(&mut self) {
        self.good += 1;
        if self.current < self.ceiling && self.good >= GROW_AFTER {
            self.current = (self.current + (self.current / 4).max(1)).min(self.ceiling);
            self.good = 0;
        }
    }
}

/// One device, as the engine talks to it. Cheap to share (`Arc`) between the tasks of a poll.
pub struct Session {
    target: String,
    client: lib::UdpClient,
    version: Version,
    options: SessionOptions,
    window: Semaphore,
    bulk: Mutex<AdaptiveBulk>,
    stats: Arc<SessionStats>,
}

enum Request<'a> {
    Get(&'a [lib::Oid]),
    GetNext(&'a [lib::Oid]),
    Bulk(&'a [lib::Oid]),
}

impl Session {
    pub(super) fn new(
        target: String,
        client: lib::UdpClient,
        version: Version,
        options: SessionOptions,
    ) -> Session {
        Session {
            target,
            client,
            version,
            window: Semaphore::new(options.window as usize),
            bulk: Mutex::new(AdaptiveBulk::new(options.max_repetitions)),
            options,
            stats: Arc::new(SessionStats::default()),
        }
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    pub fn options(&self) -> SessionOptions {
        self.options
    }

    pub fn counters(&self) -> SessionCounters {
        let s = &self.stats;
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SessionCounters {
            requests: r(&s.requests),
            timeouts: r(&s.timeouts),
            retries: r(&s.retries),
            too_big: r(&s.too_big),
            agent_errors: r(&s.agent_errors),
            malformed: r(&s.malformed),
            anomalies: r(&s.anomalies),
            values: r(&s.values),
            max_repetitions: self.max_repetitions(),
        }
    }

    /// The GETBULK max-repetitions in use now.
    pub fn max_repetitions(&self) -> u32 {
        self.bulk.lock().map(|b| b.current).unwrap_or(1)
    }

    fn adapt(&self, f: impl FnOnce(&mut AdaptiveBulk)) {
        if let Ok(mut b) = self.bulk.lock() {
            f(&mut b);
        }
    }

    /// One request, within the device's window, with our retries and backoff; a GETBULK
    /// shrinks on tooBig (at once) or on a timeout (before the next attempt).
    async fn exchange(&self, request: Request<'_>) -> Result<Vec<lib::VarBind>, SnmpError> {
        let _permit = self.window.acquire().await.map_err(|_| SnmpError::Closed)?;
        let mut attempt = 0u32;
        loop {
            let max_reps = self.max_repetitions();
            SessionStats::add(&self.stats.requests, 1);
            let result = match request {
                Request::Get(oids) => self.client.get_many(oids).await.map(|r| r.varbinds),
                Request::GetNext(oids) => self.client.get_next_many(oids).await.map(|r| r.varbinds),
                Request::Bulk(oids) => self.client.get_bulk(oids, 0, max_reps).await,
            };
            let e = match result {
                Ok(varbinds) => {
                    if matches!(request, Request::Bulk(_)) {
                        self.adapt(AdaptiveBulk::success);
                    }
                    return Ok(varbinds);
                }
                Err(e) => e,
            };
            let is_bulk = matches!(request, Request::Bulk(_));
            match e.exchange_source() {
                // Some agents (net-snmp with v3 among them) answer genErr rather than tooBig
                // when a GETBULK reply would not fit: both mean "ask for less".
                lib::Error::Snmp {
                    status: lib::ErrorStatus::TooBig | lib::ErrorStatus::GenErr,
                    ..
                } if is_bulk && max_reps > 1 => {
                    SessionStats::add(&self.stats.too_big, 1);
                    self.adapt(AdaptiveBulk::shrink);
                    tracing::debug!(
                        "{}: reply too big at max-repetitions {max_reps}, shrinking",
                        self.target
                    );
                    continue;
                }
                lib::Error::Timeout { .. } => {
                    SessionStats::add(&self.stats.timeouts, 1);
                    if is_bulk {
                        self.adapt(AdaptiveBulk::shrink);
                    }
                    if attempt >= self.options.retries {
                        return Err(SnmpError::Timeout {
                            target: self.target.clone(),
                            attempts: attempt + 1,
                            timeout: self.options.timeout,
                        });
                    }
                    attempt += 1;
                    SessionStats::add(&self.stats.retries, 1);
                    tokio::time::sleep(backoff(attempt, self.options.timeout)).await;
                }
                lib::Error::Decode(_)
                | lib::Error::MalformedResponse { .. }
                | lib::Error::ResponseShape { .. } => {
                    SessionStats::add(&self.stats.malformed, 1);
                    let err = map_error(&self.target, &e);
                    if attempt >= self.options.retries {
                        return Err(err);
                    }
                    tracing::debug!("{err}; retrying");
                    attempt += 1;
                    SessionStats::add(&self.stats.retries, 1);
                    tokio::time::sleep(backoff(attempt, self.options.timeout)).await;
                }
                lib::Error::Snmp { .. } => {
                    SessionStats::add(&self.stats.agent_errors, 1);
                    return Err(map_error(&self.target, &e));
                }
                _ => return Err(map_error(&self.target, &e)),
            }
        }
    }

    /// GET of several scalars or instances; each answer pairs with the OID asked, in order.
    /// A missing object comes back as `Value::NoSuchObject`/`NoSuchInstance`, not an error.
    pub async fn get(&self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
        let asked: Vec<lib::Oid> = oids.iter().map(lib_oid).collect();
        let mut out = Vec::with_capacity(oids.len());
        if self.version == Version::V1 {
            // v1 answers a whole request with noSuchName when one object is missing: ask one
            // by one after such a refusal, so that the others still come back.
            match self.exchange(Request::Get(&asked)).await {
                Ok(vbs) => out.extend(
                    vbs.into_iter()
                        .map(|vb| (Oid::new(vb.oid.arcs()), value_of(vb.value))),
                ),
                Err(SnmpError::Agent { .. }) => {
                    for (o, lo) in oids.iter().zip(&asked) {
                        match self.exchange(Request::Get(std::slice::from_ref(lo))).await {
                            Ok(vbs) => out.extend(
                                vbs.into_iter()
                                    .map(|vb| (Oid::new(vb.oid.arcs()), value_of(vb.value))),
                            ),
                            Err(SnmpError::Agent { .. }) => {
                                out.push((o.clone(), Value::NoSuchObject))
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        } else {
            let vbs = self.exchange(Request::Get(&asked)).await?;
            out.extend(
                vbs.into_iter()
                    .map(|vb| (Oid::new(vb.oid.arcs()), value_of(vb.value))),
            );
        }
        if out.len() != oids.len() {
            SessionStats::add(&self.stats.malformed, 1);
            return Err(SnmpError::Malformed {
                target: self.target.clone(),
                message: format!("asked for {} objects, got {}", oids.len(), out.len()),
            });
        }
        SessionStats::add(&self.stats.values, out.len() as u64);
        Ok(out)
    }

    /// Walks `columns` (of one table, usually) together: one GETBULK asks for every column
    /// still running (GETNEXT with v1). Returns what was read and any anomalies; an error
    /// only when the device stopped answering or refused.
    pub async fn walk(&self, columns: &[Oid]) -> Result<Table, SnmpError> {
        let mut walk = TableWalk::new(columns, self.options.max_walk_values);
        while !walk.is_done() {
            let (positions, next) = walk.pending();
            let asked: Vec<lib::Oid> = next.iter().map(lib_oid).collect();
            let reply = if self.version == Version::V1 {
                self.exchange(Request::GetNext(&asked)).await
            } else {
                self.exchange(Request::Bulk(&asked)).await
            };
            match reply {
                Ok(vbs) => walk.absorb(
                    &positions,
                    vbs.into_iter()
                        .map(|vb| (Oid::new(vb.oid.arcs()), value_of(vb.value))),
                ),
                // v1's way of saying endOfMibView: the column at `index` is finished.
                Err(SnmpError::Agent { index, .. }) if self.version == Version::V1 => {
                    let i = (index as usize).saturating_sub(1);
                    match positions.get(i) {
                        Some(p) => walk.end_column(*p),
                        None => walk.abort(),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let table = walk.finish();
        SessionStats::add(&self.stats.values, table.values() as u64);
        if !table.anomalies.is_empty() {
            SessionStats::add(&self.stats.anomalies, table.anomalies.len() as u64);
            for a in &table.anomalies {
                tracing::warn!("{}: {a}", self.target);
            }
        }
        Ok(table)
    }
}

/// Waits before a retry: doubling from a tenth of the timeout, never more than the timeout,
/// with jitter so that retries of many devices spread out.
fn backoff(attempt: u32, timeout: Duration) -> Duration {
    let base = timeout / 10;
    let d = base.saturating_mul(1 << attempt.min(6)).min(timeout);
    d.mul_f64(0.75 + 0.5 * jitter_fraction())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_shrinks_fast_and_grows_back_slowly() {
        let mut b = AdaptiveBulk::new(50);
        b.shrink();
        b.shrink();
        assert_eq!(b.current, 12);
        for _ in 0..GROW_AFTER - 1 {
            b.success();
        }
        assert_eq!(b.current, 12);
        b.success();
        assert_eq!(b.current, 15);
        for _ in 0..1000 {
            b.success();
        }
        assert_eq!(b.current, 50);
        for _ in 0..10 {
            b.shrink();
        }
        assert_eq!(b.current, 1);
    }

    #[test]
    fn backoff_is_bounded_by_the_timeout() {
        let t = Duration::from_secs(2);
        for a in 1..20 {
            assert!(backoff(a, t) <= t.mul_f64(1.25));
        }
    }
}
