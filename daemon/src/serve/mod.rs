//! The outputs: what people and tools read, from the model's published view (`Shared`) and
//! the store. Today the control socket (`ctl`, with `access`: who may do what); the status
//! page, metrics, MQTT and reports come next, each a module here that subscribes to
//! `Shared::published`.

pub mod access;
pub mod ctl;
pub mod devices;
pub mod lines;
pub mod shared;
pub(crate) mod usage;

pub use shared::Shared;
