//! The usage requests of the control socket.

use crate::ipc::{ErrorKind, Request, Response};
use crate::state::Shared;
use crate::store::StoreError;

fn date(s: &str) -> Result<jiff::civil::Date, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Invalid(format!("\"{s}\" is not a date (YYYY-MM-DD)")))
}

pub(crate) async fn handle(req: Request, shared: &Shared) -> Result<Response, StoreError> {
    let config = shared.config();
    Ok(match req {
        Request::Usage {
            target,
            month,
            daily,
        } => Response::Usage(
            shared
                .store
                .usage_report(
                    &target,
                    month.as_deref(),
                    daily,
                    &config.daemon.time_zone,
                    &config.daemon.time_zone_name,
                    config.reports.evening_peak,
                )
                .await?,
        ),
        Request::MemberExport { member } => {
            let data = shared.store.member_export(&member).await?;
            shared
                .store
                .write(crate::store::WriteOp::Usage(
                    crate::model::usage::UsageWrite::AuditExport { member },
                ))
                .await?;
            Response::MemberExport { data }
        }
        Request::MemberErase { member } => {
            let summary = shared.model.usage().erase_member(&member).await?;
            if let Err(e) = shared.model.lines_changed().await {
                tracing::error!("lines: could not reload the lines after an erasure: {e}");
            }
            tracing::info!(
                "a member was erased: {} lines detached, {} fine, {} daily, {} monthly usage rows removed",
                summary.lines_detached,
                summary.fine_rows,
                summary.daily_rows,
                summary.monthly_rows
            );
            Response::Erased(summary)
        }
        Request::UsageIngest { samples } => {
            Response::Ingested(shared.model.usage().ingest(&samples).await?)
        }
        Request::UsageRollup { from, to, pause_ms } => {
            let today = crate::model::usage::rollup::local_date(
                crate::store::now(),
                &config.daemon.time_zone,
            );
            let from = from.as_deref().map(date).transpose()?.unwrap_or(today);
            let to = to.as_deref().map(date).transpose()?.unwrap_or(today);
            if to < from || (to - from).get_days() > 800 {
                return Ok(Response::error(
                    ErrorKind::Invalid,
                    "give from <= to, at most 800 days apart",
                ));
            }
            match shared
                .model
                .usage()
                .rollup(&config, from, to, pause_ms)
                .await
            {
                Ok(daily_rows) => Response::RolledUp { daily_rows },
                Err(crate::model::usage::rollup::RollupError::Store(e)) => return Err(e),
                Err(e) => Response::error(ErrorKind::Invalid, e.to_string()),
            }
        }
        _ => Response::error(ErrorKind::Internal, "not a usage request"),
    })
}
