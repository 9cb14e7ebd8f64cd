//! The usage requests of the control socket.

use crate::ipc::{ErrorKind, Request, Response};
use crate::state::Shared;
use crate::store::{Actor, StoreError};

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
                    crate::store::WriteOp::Usage(crate::usage::UsageWrite::AuditExport { member }),
                    by,
                )
                .await?;
            Response::MemberExport { data }
        }
        Request::MemberErase { member } => {
            let summary = shared.usage.erase_member(&member, by).await?;
            shared.lines.invalidate();
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
