//! The SNMP engine: get, get-many and walks of table columns, politely.
//!
//! This module is the only one that knows the `async-snmp` crate: a change of crate touches
//! this folder alone. What the crate leaves to us lives here too: one request window per
//! device (a semaphore), adaptive GETBULK max-repetitions (shrink on tooBig or timeout,
//! remember what worked, grow back after replies: see `AdaptiveBulk` in `session.rs`), our own
//! retries with backoff, counters of every kind of failure, and walks that terminate whatever
//! the agent answers (see `walk.rs`). This file holds the engine, its errors and settings, and
//! what `async-snmp` is told; `session.rs` one device's exchanges.

mod session;
mod values;
mod walk;

pub use session::Session;
pub use walk::{Anomaly, Column, Oid, Table, TableWalk, Value};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_snmp as lib;

use crate::config::{AuthProtocol, PollConfig, PrivProtocol, SnmpCredentials, Target, UsmUser};

#[derive(Debug, thiserror::Error)]
pub enum SnmpError {
    #[error("no answer from {target} after {attempts} attempts of {timeout:?}{hint}")]
    Timeout {
        target: String,
        attempts: u32,
        timeout: Duration,
        /// What else silence can mean with these settings (empty, or starting with a space).
        hint: &'static str,
    },
    #[error("network error with {target}: {message}")]
    Network { target: String, message: String },
    #[error("{target} refused the request: {status} (varbind {index})")]
    Agent {
        target: String,
        status: String,
        index: u32,
    },
    /// The agent refused our SNMPv3 credentials (it answered with a USM report), or its reply
    /// failed our own check of them. Never retried: the next attempt would fail the same way.
    #[error("{target}: {problem}")]
    Auth {
        target: String,
        problem: AuthProblem,
    },
    #[error("{target}: malformed reply: {message}")]
    Malformed { target: String, message: String },
    #[error("SNMP settings: {0}")]
    Config(String),
    #[error("the SNMP engine is shut down")]
    Closed,
}

/// What an agent's SNMPv3 report (RFC 3414 usmStats*) says was wrong with a request, in the
/// words a technician needs: which user, and what to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthProblem {
    /// usmStatsUnknownUserNames.
    #[error("unknown user {user} (the agent has no SNMPv3 user of that name)")]
    UnknownUser { user: String },
    /// usmStatsWrongDigests.
    #[error("authentication failed for user {user} (wrong authentication password or protocol)")]
    WrongDigest { user: String },
    /// usmStatsUnsupportedSecLevels.
    #[error(
        "user {user} is not allowed at this security level (authentication or privacy \
         configured here that the agent's user lacks, or the other way round)"
    )]
    UnsupportedSecurityLevel { user: String },
    /// usmStatsDecryptionErrors.
    #[error(
        "the agent could not decrypt the request of user {user} (wrong privacy password or \
         protocol)"
    )]
    Decryption { user: String },
    /// usmStatsNotInTimeWindows, again after the one correction SNMPv3 allows.
    #[error("requests of user {user} stay outside the agent's time window (engine boots/time)")]
    NotInTimeWindow { user: String },
    /// usmStatsUnknownEngineIDs after discovery.
    #[error("the agent does not know the engine ID it was sent for user {user}")]
    UnknownEngineId { user: String },
    /// A report this engine does not know.
    #[error("the agent refused the request of user {user} with report {report}")]
    OtherReport { user: String, report: String },
    /// The agent's reply failed our own authentication or decryption.
    #[error(
        "the reply to user {user} failed authentication here (wrong password or protocol, \
         or a reply that is not the agent's)"
    )]
    ReplyRejected { user: String },
}

impl SnmpError {
    /// A short stable word for counting errors by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            SnmpError::Timeout { .. } => "timeout",
            SnmpError::Network { .. } => "network",
            SnmpError::Agent { .. } => "agent",
            SnmpError::Auth { .. } => "auth",
            SnmpError::Malformed { .. } => "malformed",
            SnmpError::Config(_) => "config",
            SnmpError::Closed => "closed",
        }
    }
}

/// How to talk to one device, from its `[device.poll]` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// Per request attempt.
    pub timeout: Duration,
    /// Attempts after the first.
    pub retries: u32,
    /// GETBULK max-repetitions to start from (and never exceed).
    pub max_repetitions: u32,
    /// Requests in flight to this device at once.
    pub window: u32,
    /// A walk keeps at most this many values (a broken agent cannot make us loop).
    pub max_walk_values: usize,
}

impl SessionOptions {
    pub fn from_poll(p: &PollConfig) -> SessionOptions {
        SessionOptions {
            timeout: p.timeout,
            retries: p.retries,
            max_repetitions: p.max_repetitions.max(1),
            window: p.window.max(1),
            max_walk_values: 1_000_000,
        }
    }
}

/// Counters of one device's SNMP traffic, kept for its whole life in the daemon.
#[derive(Debug, Default)]
pub struct SessionStats {
    pub requests: AtomicU64,
    pub timeouts: AtomicU64,
    pub retries: AtomicU64,
    pub too_big: AtomicU64,
    pub agent_errors: AtomicU64,
    pub malformed: AtomicU64,
    pub anomalies: AtomicU64,
    pub values: AtomicU64,
}

/// A copy of [`SessionStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionCounters {
    pub requests: u64,
    pub timeouts: u64,
    pub retries: u64,
    pub too_big: u64,
    pub agent_errors: u64,
    pub malformed: u64,
    pub anomalies: u64,
    pub values: u64,
    /// The GETBULK max-repetitions that works for this device now.
    pub max_repetitions: u32,
}

impl SessionStats {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Counters of the shared socket, across all devices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineCounters {
    /// Replies matched to a request.
    pub correlated: u64,
    /// Replies nobody waited for: wrong request id, late, duplicated.
    pub discarded: u64,
    /// Datagrams that could not be decoded at all.
    pub malformed: u64,
}

/// How v1's noSuchName reads in `SnmpError::Agent::status`.
static NO_SUCH_NAME: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| lib::ErrorStatus::NoSuchName.to_string());

/// The receive buffer asked for the shared socket (see `Engine::bind_with`).
const RECV_BUFFER_BYTES: usize = 4 << 20;

/// One UDP socket shared by every device, the v3 engine-id cache, and the DES salt epoch.
pub struct Engine {
    transport: lib::UdpTransport,
    engines: Arc<lib::EngineCache>,
    des: lib::DesSaltState,
}

impl Engine {
    /// Binds the shared socket on an ephemeral port: dual-stack (IPv6 and IPv4 devices on one
    /// socket) where the host has IPv6, IPv4 only otherwise. The DES salt epoch is kept in
    /// `state_directory` when given.
    pub async fn bind(state_directory: Option<&std::path::Path>) -> Result<Engine, SnmpError> {
        match Engine::bind_with("[::]:0", state_directory).await {
            Ok(e) => Ok(e),
            Err(e) => {
                tracing::info!("no IPv6 socket ({e}): polling IPv4 devices only");
                Engine::bind_with("0.0.0.0:0", state_directory).await
            }
        }
    }

    /// For tests and benchmarks: bind where asked, no state kept on disk.
    pub async fn bind_on(addr: &str) -> Result<Engine, SnmpError> {
        Engine::bind_with(addr, None).await
    }

    pub async fn bind_with(
        addr: &str,
        state_directory: Option<&std::path::Path>,
    ) -> Result<Engine, SnmpError> {
        let des = des_salt_state(state_directory)?;
        let addr = addr.to_string();
        // One socket takes the replies of every device: when a hundred answer at once, the
        // default receive buffer (~208 KiB) overflows and replies are lost. The kernel caps
        // this at net.core.rmem_max; raising that sysctl lets the request take full effect.
        let transport = lib::UdpTransport::builder()
            .bind(&addr)
            .recv_buffer_size(RECV_BUFFER_BYTES)
            .build()
            .await
            .map_err(|e| SnmpError::Network {
                target: addr.clone(),
                message: e.to_string(),
            })?;
        Ok(Engine {
            transport,
            engines: Arc::new(lib::EngineCache::new()),
            des,
        })
    }

    pub fn counters(&self) -> EngineCounters {
        let s = self.transport.stats();
        EngineCounters {
            correlated: s.correlated_datagrams,
            discarded: s.discarded_datagrams,
            malformed: s.malformed_datagrams,
        }
    }

    /// A session with one device. v3 keys are derived here, once (it is deliberately slow).
    pub async fn session(
        &self,
        target: &Target,
        credentials: &SnmpCredentials,
        options: SessionOptions,
    ) -> Result<Session, SnmpError> {
        let (auth, version) = auth_of(credentials)?;
        let user = match credentials {
            SnmpCredentials::V3(u) => u.user.clone(),
            _ => String::new(),
        };
        let mut builder = lib::Client::builder((target.host.clone(), target.port), auth)
            .request_timeout(options.timeout)
            .retry(lib::Retry::none())
            .engine_cache(self.engines.clone());
        if let SnmpCredentials::V3(UsmUser {
            privacy: Some((PrivProtocol::Des, _)),
            ..
        }) = credentials
        {
            builder = builder.des_salt_state(self.des.clone());
        }
        if version == Version::V3 {
            // An agent refuses a wrong password or an unknown user with a report it cannot
            // authenticate (it has no key to do so: RFC 3414 section 3.2). The crate drops
            // such replies unless told otherwise, and the request then looks like a timeout.
            // Accepted, a report ends the request at once with what the agent said (as
            // net-snmp's tools do); an unauthenticated reply to a request is still refused.
            // What a forger of such a report could do (end one request, or pick the time
            // fields of one retransmission) needs the request's msgID, and gains nothing a
            // dropped datagram would not.
            builder = builder.allow_unauthenticated_v3_time_correction(true);
        }
        let client = builder
            .build_with(&self.transport)
            .await
            .map_err(|e| map_error(&target.to_string(), &user, &e))?;
        Ok(Session::new(
            target.to_string(),
            user,
            client,
            version,
            options,
        ))
    }
}

/// DES privacy needs salts that never repeat, across restarts too: an epoch that only grows.
/// It is the Unix time in seconds, or one more than the last one used when that is larger
/// (kept in the state directory), so a clock set back cannot reuse an epoch.
fn des_salt_state(
    state_directory: Option<&std::path::Path>,
) -> Result<lib::DesSaltState, SnmpError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1);
    let file = state_directory.map(|d| d.join("snmp-des-epoch"));
    let last = file
        .as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|t| t.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let epoch = u32::try_from(now.max(last + 1).min(2_147_483_646)).unwrap_or(1);
    let previous = lib::PersistedDesSaltState::new(epoch.max(2) - 1)
        .map_err(|e| SnmpError::Config(format!("DES salt epoch: {e}")))?;
    lib::DesSaltState::restart(previous, |next: &lib::PersistedDesSaltState| match &file {
        Some(f) => std::fs::write(f, format!("{}\n", next.engine_boots())),
        None => Ok(()),
    })
    .map_err(|e| SnmpError::Config(format!("DES salt epoch: {e}")))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2c,
    V3,
}

fn auth_of(credentials: &SnmpCredentials) -> Result<(lib::Auth, Version), SnmpError> {
    Ok(match credentials {
        SnmpCredentials::V1 { community } => (lib::Auth::v1(community.expose()), Version::V1),
        SnmpCredentials::V2c { community } => (lib::Auth::v2c(community.expose()), Version::V2c),
        SnmpCredentials::V3(user) => {
            let config = lib::UsmConfig::new(user.user.clone().into_bytes());
            let config = match (&user.auth, &user.privacy) {
                (None, None) => Ok(config),
                (Some((a, pass)), None) => config.auth(auth_protocol(*a), pass.expose()),
                (Some((a, apass)), Some((p, ppass))) => config.auth_priv(
                    auth_protocol(*a),
                    apass.expose(),
                    priv_protocol(*p),
                    ppass.expose(),
                ),
                (None, Some(_)) => {
                    return Err(SnmpError::Config("privacy without authentication".into()));
                }
            }
            // The crate's message names the protocol or the password length, never the secret.
            .map_err(|e| SnmpError::Config(format!("USM user {}: {e}", user.user)))?;
            let config = match &user.context {
                Some(c) => config.context_name(c.clone().into_bytes()),
                None => config,
            };
            (lib::Auth::from(config), Version::V3)
        }
    })
}

fn auth_protocol(p: AuthProtocol) -> lib::AuthProtocol {
    match p {
        AuthProtocol::Md5 => lib::AuthProtocol::Md5,
        AuthProtocol::Sha1 => lib::AuthProtocol::Sha1,
        AuthProtocol::Sha224 => lib::AuthProtocol::Sha224,
        AuthProtocol::Sha256 => lib::AuthProtocol::Sha256,
        AuthProtocol::Sha384 => lib::AuthProtocol::Sha384,
        AuthProtocol::Sha512 => lib::AuthProtocol::Sha512,
    }
}

/// AES-192/256 key extension: net-snmp's "AES192"/"AES256" are Blumenthal's.
fn priv_protocol(p: PrivProtocol) -> lib::PrivProtocol {
    match p {
        PrivProtocol::Des => lib::PrivProtocol::Des,
        PrivProtocol::Aes128 => lib::PrivProtocol::Aes128,
        PrivProtocol::Aes192 => lib::PrivProtocol::Aes192Blumenthal,
        PrivProtocol::Aes256 => lib::PrivProtocol::Aes256Blumenthal,
    }
}

/// Our error for one of the crate's; `user` is the SNMPv3 user (empty for v1/v2c).
fn map_error(target: &str, user: &str, e: &lib::Error) -> SnmpError {
    let target = target.to_string();
    let user = user.to_string();
    match e.exchange_source() {
        lib::Error::Timeout { retries, .. } => SnmpError::Timeout {
            target,
            attempts: retries + 1,
            timeout: Duration::ZERO,
            hint: "",
        },
        lib::Error::Network { source, .. } => SnmpError::Network {
            target,
            message: source.to_string(),
        },
        lib::Error::Snmp { status, index, .. } => SnmpError::Agent {
            target,
            status: status.to_string(),
            index: *index,
        },
        lib::Error::Auth { .. } => SnmpError::Auth {
            target,
            problem: AuthProblem::ReplyRejected { user },
        },
        lib::Error::Report { status, .. } => SnmpError::Auth {
            target,
            problem: report_problem(status, user),
        },
        lib::Error::Closed { .. } => SnmpError::Closed,
        lib::Error::Config(m) => SnmpError::Config(m.to_string()),
        lib::Error::ConstructionTimeout { .. } => SnmpError::Network {
            target,
            message: "could not resolve or set up in time".into(),
        },
        other => SnmpError::Malformed {
            target,
            message: other.to_string(),
        },
    }
}

fn report_problem(status: &lib::v3::ReportStatus, user: String) -> AuthProblem {
    use lib::v3::ReportStatus as R;
    match status {
        R::UnknownUserName { .. } => AuthProblem::UnknownUser { user },
        R::WrongDigest { .. } => AuthProblem::WrongDigest { user },
        R::UnsupportedSecurityLevel { .. } => AuthProblem::UnsupportedSecurityLevel { user },
        R::DecryptionError { .. } => AuthProblem::Decryption { user },
        R::NotInTimeWindow { .. } => AuthProblem::NotInTimeWindow { user },
        R::UnknownEngineId { .. } => AuthProblem::UnknownEngineId { user },
        other => AuthProblem::OtherReport {
            user,
            report: other.to_string(),
        },
    }
}

fn value_of(v: lib::Value) -> Value {
    match v {
        lib::Value::Integer(i) => Value::Integer(i),
        lib::Value::OctetString(b) => Value::Bytes(b.to_vec()),
        lib::Value::Null => Value::Null,
        lib::Value::ObjectIdentifier(o) => Value::Oid(Oid::new(o.arcs())),
        lib::Value::IpAddress(a) => Value::IpAddress(a),
        lib::Value::Counter32(c) => Value::Counter32(c),
        lib::Value::Gauge32(g) | lib::Value::UInteger32(g) => Value::Gauge32(g),
        lib::Value::TimeTicks(t) => Value::TimeTicks(t),
        lib::Value::Counter64(c) => Value::Counter64(c),
        lib::Value::NoSuchObject => Value::NoSuchObject,
        lib::Value::NoSuchInstance => Value::NoSuchInstance,
        lib::Value::EndOfMibView => Value::EndOfMibView,
        other => Value::Other(format!("{:?}", other.kind())),
    }
}

fn lib_oid(o: &Oid) -> lib::Oid {
    lib::Oid::from_slice(o.arcs())
}

/// A pseudo-random fraction in [0, 1), good enough to spread polls and retries.
pub fn jitter_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}
