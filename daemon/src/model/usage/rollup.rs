//! Roll-ups: which local days and months to rebuild, one store write each (the rows are
//! rebuilt by the store, see `crate::store::usage::rollup`).

use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::store::Store;
pub use crate::store::usage::{DayPlan, MonthPlan, RollupError, local_date, local_instant};
use crate::store::usage::{UsageOutcome, UsageWrite};

/// Rolls up every local day from `from` to `to` (inclusive), one transaction per day, then
/// every month they touch. Returns the number of daily rows written.
pub async fn rollup_days(
    store: &Store,
    tz: &TimeZone,
    evening_peak: (u16, u16),
    from: Date,
    to: Date,
    pause_ms: u64,
) -> Result<u64, RollupError> {
    let mut rows = 0;
    let mut day = from;
    let mut months: Vec<(i16, i8)> = Vec::new();
    while day <= to {
        let mut plan = DayPlan::new(day, tz, evening_peak)?;
        plan.pause_ms = pause_ms;
        if let UsageOutcome::RolledUp { rows: n } = store.usage(UsageWrite::RollupDay(plan)).await?
        {
            rows += n;
        }
        if months.last() != Some(&(day.year(), day.month())) {
            months.push((day.year(), day.month()));
        }
        day = day
            .tomorrow()
            .map_err(|e| RollupError::Time(day.to_string(), e))?;
        if pause_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
        }
    }
    let now = crate::store::now();
    for (y, m) in months {
        store
            .usage(UsageWrite::RollupMonth(MonthPlan::new(y, m, tz, now)?))
            .await?;
    }
    Ok(rows)
}
