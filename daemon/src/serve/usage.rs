//! The usage requests of the control socket.

use crate::serve::Shared;
use crate::store::{Actor, StoreError};
use coopnoc_proto::{ErrorKind, Request, Response};

pub(crate) async fn handle(
    req: Request,
    shared: &Shared,
    by: Actor,
) -> Result<Response, StoreError> {
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
                .write_as(
                    crate::store::WriteOp::Usage(crate::model::usage::UsageWrite::AuditExport {
                        member,
                    }),
                    by,
                )
                .await?;
            Response::MemberExport { data }
        }
        Request::MemberErase { member } => {
            let summary = shared.model.usage().erase_member(&member, by).await?;
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
        _ => Response::error(ErrorKind::Internal, "not a usage request"),
    })
}
