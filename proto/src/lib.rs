//! coopnoc's control protocol: what the `coopnoc` CLI and the `coopnocd` daemon say to each
//! other over the daemon's Unix socket, with the client the CLI uses. Both link this crate:
//! the CLI without the daemon's engine, store or netlink.
//!
//! One request, one response, as JSON in a frame (`frame`). The daemon decides from the peer's
//! credentials whether a request is allowed (`Request::role`).

mod client;
mod devices;
pub mod duration;
mod frame;
mod inventory;
mod lines;
mod request;
mod response;
mod usage;

pub use client::{Client, ClientError};
pub use devices::*;
pub use duration::{format_duration, parse_duration};
pub use frame::*;
pub use inventory::*;
pub use lines::*;
pub use request::*;
pub use response::*;
pub use usage::*;

/// Requests carry at most a CSV import: 16 MiB is ~100,000 lines.
pub const MAX_REQUEST_BYTES: u32 = 16 << 20;
/// Responses carry at most a full inventory or a member export.
pub const MAX_RESPONSE_BYTES: u32 = 64 << 20;
/// Protocol version: bumped on an incompatible change; both sides say so plainly.
pub const PROTOCOL_VERSION: u32 = 1;
