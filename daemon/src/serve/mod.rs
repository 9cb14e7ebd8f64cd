//! The outputs: what people and tools read. The control socket's usage requests live here;
//! the socket itself follows.

pub mod devices;
pub mod lines;
pub(crate) mod usage;
