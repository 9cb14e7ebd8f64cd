//! Walks table columns with coopnoc's SNMP engine and prints what it cost: the engine half of
//! `bench/engine.sh`. Not a test.
//!
//!     walk_bench [--v3 USER:AUTHPROTO:AUTHPASS[:PRIVPROTO:PRIVPASS]] [--community C]
//!                [--max-repetitions N] [--window N] [--repeat N] [--separate] HOST:PORT OID...
//!
//! `--separate` walks each column on its own (as snmpbulkwalk does), concurrently up to the
//! window; by default the columns are walked together, in one multi-column GETBULK walk.
//! Prints one JSON line: values, wall seconds, CPU seconds (user+system of this process).

use std::time::{Duration, Instant};

use coopnocd::collect::snmp::{Engine, Oid, SessionOptions};
use coopnocd::config::{AuthProtocol, PrivProtocol, Secret, SnmpCredentials, Target, UsmUser};

fn cpu_seconds() -> f64 {
    // utime + stime of this process, from /proc (clock ticks of 1/100 s on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn usage() -> ! {
    eprintln!(
        "usage: walk_bench [--community C | --v3 USER:AUTH:PASS[:PRIV:PASS]] [--max-repetitions N] [--window N] [--repeat N] [--separate] HOST:PORT OID..."
    );
    std::process::exit(2)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut creds = SnmpCredentials::V2c {
        community: Secret::new("public"),
    };
    let (mut max_reps, mut window, mut repeat, mut separate) = (25u32, 1u32, 1u32, false);
    let mut positional = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--community" => {
                creds = SnmpCredentials::V2c {
                    community: Secret::new(args.next().unwrap_or_else(|| usage())),
                }
            }
            "--v1" => {
                creds = SnmpCredentials::V1 {
                    community: Secret::new(args.next().unwrap_or_else(|| usage())),
                }
            }
            "--v3" => {
                let spec = args.next().unwrap_or_else(|| usage());
                let p: Vec<&str> = spec.split(':').collect();
                let auth = |s: &str| match s {
                    "SHA" | "SHA1" => AuthProtocol::Sha1,
                    "SHA-256" | "SHA256" => AuthProtocol::Sha256,
                    "SHA-512" | "SHA512" => AuthProtocol::Sha512,
                    "MD5" => AuthProtocol::Md5,
                    _ => usage(),
                };
                let privacy = |s: &str| match s {
                    "DES" => PrivProtocol::Des,
                    "AES" | "AES128" => PrivProtocol::Aes128,
                    "AES256" => PrivProtocol::Aes256,
                    _ => usage(),
                };
                creds = SnmpCredentials::V3(UsmUser {
                    user: p.first().unwrap_or_else(|| usage()).to_string(),
                    auth: p
                        .get(1)
                        .map(|a| (auth(a), Secret::new(*p.get(2).unwrap_or_else(|| usage())))),
                    privacy: p.get(3).map(|a| {
                        (
                            privacy(a),
                            Secret::new(*p.get(4).unwrap_or_else(|| usage())),
                        )
                    }),
                    context: None,
                });
            }
            "--max-repetitions" => {
                max_reps = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--window" => {
                window = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--repeat" => {
                repeat = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--separate" => separate = true,
            _ => positional.push(a),
        }
    }
    if positional.len() < 2 {
        usage();
    }
    let (host, port) = positional[0].rsplit_once(':').unwrap_or_else(|| usage());
    let target = Target {
        host: host.to_string(),
        port: port.parse().unwrap_or_else(|_| usage()),
    };
    let columns: Vec<Oid> = positional[1..]
        .iter()
        .map(|o| Oid::parse(o).unwrap_or_else(|_| usage()))
        .collect();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let engine = Engine::bind_on("127.0.0.1:0").await?;
        let options = SessionOptions {
            timeout: Duration::from_secs(10),
            retries: 1,
            max_repetitions: max_reps,
            window,
            max_walk_values: 10_000_000,
        };
        let session = engine.session(&target, &creds, options).await?;
        for _ in 0..repeat {
            let (c0, t0) = (cpu_seconds(), Instant::now());
            let mut values = 0usize;
            let mut anomalies = 0usize;
            if separate {
                let walks = columns.iter().map(|c| session.walk(std::slice::from_ref(c)));
                for t in futures_join_all(walks).await {
                    let t = t?;
                    values += t.values();
                    anomalies += t.anomalies.len();
                }
            } else {
                let t = session.walk(&columns).await?;
                values = t.values();
                anomalies = t.anomalies.len();
            }
            let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0);
            let c = session.counters();
            println!(
                "{{\"values\":{values},\"wall_s\":{wall:.4},\"cpu_s\":{cpu:.3},\"requests\":{},\"anomalies\":{anomalies},\"timeouts\":{},\"too_big\":{},\"max_repetitions\":{}}}",
                c.requests, c.timeouts, c.too_big, c.max_repetitions
            );
        }
        Ok::<_, anyhow::Error>(())
    })
}

/// Runs futures concurrently (the session's window limits how many requests are in flight).
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out = Vec::with_capacity(set.len());
    // Poll all together: a tiny join_all without pulling in the futures crate.
    let mut pending: Vec<Option<_>> = set.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(results.into_iter().flatten());
    out
}
