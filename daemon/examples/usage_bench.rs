//! Usage accounting benchmark (not a test): run on purpose, in release.
//!
//!     cargo run --release -p coopnocd --example usage_bench [-- DIR]
//!
//! Prints: one poll cycle of 10,000 lines (20,000 counter samples) through the accountant
//! and into SQLite; the daily and monthly roll-ups for 10,000 lines; and the database size
//! after a simulated year of 2,000 lines with the default retention applied.

use std::time::{Duration, Instant};

use coopnoc_proto::{LineKind, MatchKind, NewLine, NewMember, ReportPreference};
use coopnocd::collect::observe::Counter;
use coopnocd::model::usage::rollup::{DayPlan, MonthPlan, local_date};
use coopnocd::model::usage::slots::{HourSlots, SLOTS_PER_HOUR};
use coopnocd::model::usage::{CounterSample, Direction, UsageAccountant, UsageService, UsageWrite};
use coopnocd::store::usage::HourRow;
use coopnocd::store::{LineImportRow, MemberImportRow, Store, WriteOp};

const PEAK: (u16, u16) = (19 * 60, 23 * 60);

async fn populate(store: &Store, lines: usize) -> Vec<i64> {
    let members = (0..lines)
        .map(|i| MemberImportRow {
            member: NewMember {
                reference: format!("M-{i:05}"),
                display_name: format!("Member {i}"),
                email: None,
                language: "fr".into(),
                reports: ReportPreference::None,
            },
        })
        .collect();
    store
        .write(WriteOp::ImportMembers {
            rows: members,
            file_name: "bench".into(),
        })
        .await
        .expect("members");
    let rows = (0..lines)
        .map(|i| LineImportRow {
            line: NewLine {
                reference: format!("L-{i:05}"),
                kind: LineKind::Fibre,
                device: None,
                match_kind: MatchKind::Serial,
                match_key: format!("BENCH{i:08}"),
                member: Some(format!("M-{i:05}")),
                description: None,
            },
            csv_line: i as u64 + 2,
        })
        .collect();
    store
        .write(WriteOp::ImportLines {
            rows,
            file_name: "bench".into(),
        })
        .await
        .expect("lines");
    sqlx::query_scalar("SELECT id FROM line ORDER BY id")
        .fetch_all(&reader(store).await)
        .await
        .expect("ids")
}

/// The bench's own read-only look at the database file (the store hands out no pool).
async fn reader(store: &Store) -> sqlx::SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(store.path())
        .read_only(true);
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("read-only pool")
}

/// A pseudo-random but repeatable rate per line, bytes per second (a few kB/s to ~1 MB/s).
fn rate(line: i64, hour_of_day: i64) -> u64 {
    let base = (line as u64).wrapping_mul(2_654_435_761) % 400_000 + 5_000;
    // Busier evenings, quiet nights.
    let shape = [
        2, 1, 1, 1, 1, 1, 2, 4, 5, 5, 5, 6, 6, 6, 6, 6, 7, 8, 10, 14, 15, 14, 10, 5,
    ];
    base * shape[hour_of_day.rem_euclid(24) as usize] / 6
}

fn cycle(ids: &[i64], t: i64, counters: &mut [u64], step: i64) -> Vec<CounterSample> {
    let mut out = Vec::with_capacity(ids.len() * 2);
    for (i, &line) in ids.iter().enumerate() {
        let r = rate(line, t / 3600);
        for (k, direction) in [Direction::Download, Direction::Upload]
            .into_iter()
            .enumerate()
        {
            let c = &mut counters[2 * i + k];
            *c += if k == 0 {
                r * step as u64
            } else {
                r * step as u64 / 10
            };
            out.push(CounterSample {
                line,
                direction,
                counter: Counter::C64(*c),
                at: jiff::Timestamp::from_second(t).expect("t"),
                device_uptime_ticks: Some((t * 100) as u32),
                discontinuity: None,
                link_speed_bps: Some(1_000_000_000),
                per_line: true,
            });
        }
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn bench_10k(dir: &std::path::Path) {
    let (store, writer) = Store::open(&dir.join("bench10k.db")).await.expect("open");
    let ids = populate(&store, 10_000).await;
    let tz = jiff::tz::TimeZone::get("Europe/Paris").expect("tz");
    let day = local_date(coopnocd::store::now(), &tz)
        .checked_sub(jiff::Span::new().days(1))
        .expect("day");
    let plan = DayPlan::new(day, &tz, PEAK).expect("plan");
    let mut counters = vec![0u64; ids.len() * 2];

    // The accountant alone, in memory.
    let mut acc = UsageAccountant::new();
    let mut compute = Vec::new();
    let mut t = plan.start;
    acc.ingest(&cycle(&ids, t, &mut counters, 60));
    for _ in 0..10 {
        t += 60;
        let samples = cycle(&ids, t, &mut counters, 60);
        let started = Instant::now();
        let _ = acc.ingest(&samples);
        compute.push(started.elapsed());
    }
    // Through the service: computed, written and committed (synchronous = FULL).
    let service = UsageService::new(store.clone());
    let mut counters = vec![0u64; ids.len() * 2];
    let mut t = plan.start;
    service
        .ingest(&cycle(&ids, t, &mut counters, 300))
        .await
        .expect("ingest");
    let mut full = Vec::new();
    // A whole day at 5-minute polls: the fine rows the roll-up needs.
    while t + 300 < plan.end {
        t += 300;
        let samples = cycle(&ids, t, &mut counters, 300);
        let started = Instant::now();
        service.ingest(&samples).await.expect("ingest");
        full.push(started.elapsed());
    }
    let worst = *full.iter().max().expect("cycles");
    println!("ingest, one poll cycle of 10,000 lines (20,000 samples):");
    println!(
        "  accountant only (in memory)        median {}",
        ms(median(compute))
    );
    println!(
        "  accountant + SQLite commit         median {}, worst {} ({} cycles)",
        ms(median(full.clone())),
        ms(worst),
        full.len()
    );

    let started = Instant::now();
    let rows = match store
        .usage(UsageWrite::RollupDay(plan.clone()))
        .await
        .expect("rollup")
    {
        coopnocd::model::usage::UsageOutcome::RolledUp { rows } => rows,
        _ => 0,
    };
    let daily = started.elapsed();
    println!(
        "roll-up of one day, 10,000 lines ({rows} daily rows from {} hour rows): {}",
        rows * 24,
        ms(daily)
    );
    // A month of daily rows: the day copied to the 29 days before it.
    let mut conn = write_conn(&store).await;
    for back in 1..30 {
        sqlx::query(
            "INSERT INTO usage_daily SELECT line_id, date(day, ?), member_id, day_start - ?, period_s, down_bytes, up_bytes,
                 down_peak_bytes, up_peak_bytes, down_covered_ms, up_covered_ms FROM usage_daily WHERE day = ?",
        )
        .bind(format!("-{back} days"))
        .bind(back * 86_400)
        .bind(&plan.day)
        .execute(&mut conn)
        .await
        .expect("copy");
    }
    drop(conn);
    let month =
        MonthPlan::new(day.year(), day.month(), &tz, coopnocd::store::now()).expect("month");
    let started = Instant::now();
    store
        .usage(UsageWrite::RollupMonth(month))
        .await
        .expect("month");
    let monthly = started.elapsed();
    println!(
        "roll-up of one month for 10,000 lines (from daily rows): {}",
        ms(monthly)
    );
    println!(
        "  month-end total (the last day + the month): {}; all 30 daily roll-ups of a month: {:.1} s spread over the month",
        ms(daily + monthly),
        daily.as_secs_f64() * 30.0
    );
    drop(service);
    store.close().await;
    writer.finish().await;
}

/// A separate writable connection for the benchmark's bulk copies (the daemon has one writer;
/// the benchmark fakes history faster than the daemon would write it).
async fn write_conn(store: &Store) -> sqlx::SqliteConnection {
    use sqlx::ConnectOptions;
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(store.path())
        .busy_timeout(Duration::from_secs(30))
        .connect()
        .await
        .expect("connect")
}

async fn bench_year(dir: &std::path::Path) {
    let path = dir.join("year2k.db");
    let (store, writer) = Store::open(&path).await.expect("open");
    let ids = populate(&store, 2_000).await;
    let tz = jiff::tz::TimeZone::get("Europe/Paris").expect("tz");
    let now = coopnocd::store::now();
    let started = Instant::now();
    // 35 days of fine rows (what retention keeps), written as the accountant writes them.
    let first_hour = (now - 35 * 86_400) / 3600;
    for hour in first_hour..now / 3600 {
        let rows = ids
            .iter()
            .map(|&line| {
                let mut s = HourSlots::default();
                let r = rate(line, hour);
                for i in 0..SLOTS_PER_HOUR {
                    // Slightly uneven slots, as real traffic is.
                    let jitter = (line as u64 * 31 + i as u64 * 17 + hour as u64) % 97;
                    s.bytes[0][i] = r * 300 * (950 + jitter) / 1000;
                    s.bytes[1][i] = s.bytes[0][i] / 10 + jitter;
                    s.covered_ms[0][i] = 300_000;
                    s.covered_ms[1][i] = 300_000;
                }
                HourRow {
                    line,
                    hour,
                    slots: s,
                }
            })
            .collect();
        store
            .usage(UsageWrite::Record {
                hours: rows,
                counters: vec![],
            })
            .await
            .expect("record");
    }
    // Daily rows for those days (the real roll-up), then copied back to a full year.
    let last = local_date(now, &tz);
    let mut day = local_date(now - 35 * 86_400, &tz);
    while day <= last {
        store
            .usage(UsageWrite::RollupDay(
                DayPlan::new(day, &tz, PEAK).expect("plan"),
            ))
            .await
            .expect("rollup");
        day = day.tomorrow().expect("day");
    }
    let mut conn = write_conn(&store).await;
    for k in 1..=10i64 {
        let shift = 35 * k;
        sqlx::query(
            "INSERT OR IGNORE INTO usage_daily SELECT line_id, date(day, ?), member_id, day_start - ?, period_s, down_bytes, up_bytes,
                 down_peak_bytes, up_peak_bytes, down_covered_ms, up_covered_ms FROM usage_daily WHERE day_start >= ?",
        )
        .bind(format!("-{shift} days"))
        .bind(shift * 86_400)
        .bind(now - 36 * 86_400)
        .execute(&mut conn)
        .await
        .expect("copy");
    }
    sqlx::query("DELETE FROM usage_daily WHERE day_start < ?")
        .bind(now - 365 * 86_400)
        .execute(&mut conn)
        .await
        .expect("trim");
    drop(conn);
    // Twelve monthly roll-ups.
    let mut d = local_date(now - 365 * 86_400, &tz).first_of_month();
    while d <= last {
        store
            .usage(UsageWrite::RollupMonth(
                MonthPlan::new(d.year(), d.month(), &tz, now).expect("month"),
            ))
            .await
            .expect("month");
        d = d.checked_add(jiff::Span::new().months(1)).expect("month");
    }
    let retention = coopnocd::config::RetentionConfig {
        fine_buckets: Duration::from_secs(35 * 86_400),
        daily_per_line: Duration::from_secs(400 * 86_400),
        monthly_after_membership: Duration::from_secs(365 * 86_400),
        events: Duration::from_secs(400 * 86_400),
        levels: Duration::from_secs(35 * 86_400),
    };
    coopnocd::model::usage::retention::prune(&store, &retention, now)
        .await
        .expect("prune");
    let count = |sql: &'static str| {
        let store = store.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&reader(&store).await)
                .await
                .expect("count")
        }
    };
    let (fine, daily, monthly) = (
        count("SELECT COUNT(*) FROM usage_fine").await,
        count("SELECT COUNT(*) FROM usage_daily").await,
        count("SELECT COUNT(*) FROM usage_monthly").await,
    );
    let mut conn = write_conn(&store).await;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .expect("checkpoint");
    drop(conn);
    let size = store.size_bytes();
    println!(
        "a year of 2,000 lines, default retention ({fine} fine hour rows = 35 days, {daily} daily rows, {monthly} monthly rows), built in {:.0} s:",
        started.elapsed().as_secs_f64()
    );
    println!("  database size {:.1} MiB", size as f64 / (1 << 20) as f64);
    store.close().await;
    writer.finish().await;
}

fn main() {
    let arg = std::env::args().nth(1);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = arg
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("dir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        bench_10k(&dir).await;
        bench_year(&dir).await;
    });
}
