//! One device's session: its request window, adaptive GETBULK, retries with backoff, and its
//! counters; GETs and walks of table columns.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_snmp as lib;
use tokio::sync::Semaphore;

use super::walk::{Oid, Table, TableWalk, Value};
use super::{
    NO_SUCH_NAME, SessionCounters, SessionOptions, SessionStats, SnmpError, Version,
    jitter_fraction, lib_oid, map_error, value_of,
};

/// GETBULK max-repetitions for one device: shrink fast on trouble, grow back once it passes.
///
/// A tooBig (or genErr) reply proves a size too big: it halves the size and the ceiling it
/// may grow back to quickly. A timeout proves nothing (a lost datagram, or a reply the path or
/// the agent could not carry): it halves the size so that the retry has its best chance, but
/// keeps that ceiling, and a few replies double the size back towards it. Above it (after a
/// tooBig), the size creeps up by a quarter after many replies in a row, to find out whether
/// the agent can take more now. A size grown back to that times out at its first request, twice
/// in a row, is taken as too big as well (a path that loses big datagrams says nothing else):
/// random loss rarely does that, and a timeout per growth would cost every fourth request.
#[derive(Debug, Clone, Copy)]
struct AdaptiveBulk {
    /// The configured max-repetitions: never exceeded.
    ceiling: u32,
    current: u32,
    /// The largest size not proven too big: growth up to it is fast.
    known_good: u32,
    /// Successful replies since the last change.
    good: u32,
    /// The size just grown to, before its first reply.
    untried: Option<u32>,
    /// A size grown to whose first request timed out.
    failed_growth: Option<u32>,
}

/// Replies at one size before doubling back towards the known good size.
const GROW_BACK_AFTER: u32 = 3;
/// Replies in a row at one size before probing above the known good size.
const PROBE_AFTER: u32 = 20;

impl AdaptiveBulk {
    fn new(ceiling: u32) -> AdaptiveBulk {
        AdaptiveBulk {
            ceiling,
            current: ceiling,
            known_good: ceiling,
            good: 0,
            untried: None,
            failed_growth: None,
        }
    }

    /// The agent said the reply at `size` would be too big.
    fn too_big(&mut self, size: u32) {
        self.current = (size / 2).max(1).min(self.current);
        self.known_good = self.current;
        self.good = 0;
    }

    /// No reply at `size`: loss, or a reply too big for the path.
    fn timeout(&mut self, size: u32) {
        if self.untried == Some(size) {
            if self.failed_growth == Some(size) {
                self.known_good = (size / 2).max(1);
                self.failed_growth = None;
            } else {
                self.failed_growth = Some(size);
            }
        }
        self.untried = None;
        self.current = (size / 2).max(1).min(self.current);
        self.good = 0;
    }

    fn success(&mut self) {
        self.good += 1;
        if self.untried.take().is_some() {
            self.failed_growth = None;
        }
        if self.current < self.known_good && self.good >= GROW_BACK_AFTER {
            self.current = (self.current * 2).min(self.known_good);
            self.untried = Some(self.current);
            self.good = 0;
        } else if self.current < self.ceiling && self.good >= PROBE_AFTER {
            self.current = (self.current + (self.current / 4).max(1)).min(self.ceiling);
            self.known_good = self.current;
            self.good = 0;
        }
    }
}

/// One device, as the engine talks to it. Cheap to share (`Arc`) between the tasks of a poll.
pub struct Session {
    target: String,
    /// The SNMPv3 user, for error messages (empty for v1/v2c).
    user: String,
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
        user: String,
        client: lib::UdpClient,
        version: Version,
        options: SessionOptions,
    ) -> Session {
        Session {
            target,
            user,
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
                    self.adapt(|b| b.too_big(max_reps));
                    tracing::debug!(
                        "{}: reply too big at max-repetitions {max_reps}, shrinking",
                        self.target
                    );
                    continue;
                }
                lib::Error::Timeout { .. } => {
                    SessionStats::add(&self.stats.timeouts, 1);
                    if is_bulk {
                        self.adapt(|b| b.timeout(max_reps));
                    }
                    if attempt >= self.options.retries {
                        return Err(SnmpError::Timeout {
                            target: self.target.clone(),
                            attempts: attempt + 1,
                            timeout: self.options.timeout,
                            hint: if self.version == Version::V3 {
                                // An agent that cannot decrypt a request drops it, silently.
                                " (with SNMPv3, a wrong privacy password or protocol also gets \
                                 no answer)"
                            } else {
                                ""
                            },
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
                    let err = map_error(&self.target, &self.user, &e);
                    if attempt >= self.options.retries {
                        return Err(err);
                    }
                    tracing::debug!("{err}; retrying");
                    attempt += 1;
                    SessionStats::add(&self.stats.retries, 1);
                    tokio::time::sleep(backoff(attempt, self.options.timeout)).await;
                }
                // v1's noSuchName is its way of saying noSuchObject (GET) or endOfMibView
                // (GETNEXT): an answer, not a refusal.
                lib::Error::Snmp {
                    status: lib::ErrorStatus::NoSuchName,
                    ..
                } if self.version == Version::V1 => {
                    return Err(map_error(&self.target, &self.user, &e));
                }
                // A refusal, or a USM report (wrong password, unknown user...): asking again
                // would be refused again.
                lib::Error::Snmp { .. } | lib::Error::Report { .. } | lib::Error::Auth { .. } => {
                    SessionStats::add(&self.stats.agent_errors, 1);
                    return Err(map_error(&self.target, &self.user, &e));
                }
                _ => return Err(map_error(&self.target, &self.user, &e)),
            }
        }
    }

    /// GET of several scalars or instances; each answer pairs with the OID asked, in order.
    /// A missing object comes back as `Value::NoSuchObject`/`NoSuchInstance`, not an error.
    pub async fn get(&self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
        self.get_at(oids).await.map(|(values, _)| values)
    }

    /// [`Session::get`], with the time the (last) reply arrived: when the values were read.
    pub async fn get_at(
        &self,
        oids: &[Oid],
    ) -> Result<(Vec<(Oid, Value)>, jiff::Timestamp), SnmpError> {
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
        Ok((out, jiff::Timestamp::now()))
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
                Ok(vbs) => walk.absorb_at(
                    &positions,
                    vbs.into_iter()
                        .map(|vb| (Oid::new(vb.oid.arcs()), value_of(vb.value))),
                    Some(jiff::Timestamp::now()),
                ),
                // v1's way of saying endOfMibView: the column at `index` is finished.
                Err(SnmpError::Agent { index, status, .. })
                    if self.version == Version::V1 && status == NO_SUCH_NAME.as_str() =>
                {
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
    fn bulk_shrinks_fast_and_grows_back() {
        // Timeouts halve the size; a few replies double it back to the configured value.
        let mut b = AdaptiveBulk::new(50);
        b.timeout(50);
        b.timeout(25);
        assert_eq!(b.current, 12);
        for _ in 0..GROW_BACK_AFTER - 1 {
            b.success();
        }
        assert_eq!(b.current, 12);
        b.success();
        assert_eq!(b.current, 24);
        for _ in 0..2 * GROW_BACK_AFTER {
            b.success();
        }
        assert_eq!(b.current, 50);
        // Down to one, and back up all the same.
        for _ in 0..10 {
            b.timeout(b.current);
        }
        assert_eq!(b.current, 1);
        for _ in 0..10 * GROW_BACK_AFTER {
            b.success();
        }
        assert_eq!(b.current, 50);
        // A timeout of a request sent at a larger size does not undo a smaller one.
        b.timeout(8);
        b.timeout(50);
        assert_eq!(b.current, 4);
    }

    /// A path that loses replies above 12 rows: after two growths that fail at once, the
    /// size stays where replies pass, and timeouts stay rare (a probe now and then).
    #[test]
    fn bulk_settles_below_a_size_the_path_cannot_carry() {
        let mut b = AdaptiveBulk::new(50);
        let mut timeouts = 0;
        for _ in 0..400 {
            let size = b.current;
            if size > 12 {
                timeouts += 1;
                b.timeout(size);
            } else {
                b.success();
            }
        }
        assert!(b.current <= 12 && b.current >= 6, "{b:?}");
        assert!(timeouts <= 30, "{timeouts} timeouts in 400 requests");
    }

    #[test]
    fn bulk_too_big_lowers_the_ceiling_of_fast_growth() {
        let mut b = AdaptiveBulk::new(50);
        b.too_big(50);
        assert_eq!(b.current, 25);
        for _ in 0..PROBE_AFTER - 1 {
            b.success();
        }
        assert_eq!(b.current, 25, "no fast growth past a size proven too big");
        b.success();
        assert_eq!(b.current, 31, "then a careful probe");
        for _ in 0..1000 {
            b.success();
        }
        assert_eq!(b.current, 50);
    }

    #[test]
    fn backoff_is_bounded_by_the_timeout() {
        let t = Duration::from_secs(2);
        for a in 1..20 {
            assert!(backoff(a, t) <= t.mul_f64(1.25));
        }
    }
}
