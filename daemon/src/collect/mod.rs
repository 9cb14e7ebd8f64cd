//! Collectors: the SNMP engine, device profiles, the poller and the server's own uplinks over
//! netlink. They turn devices into observations (`observe`) sent on a channel, and know
//! nothing of what reads them: nothing here imports the model, the store or an output.

pub mod local;
pub mod observe;
pub mod poller;
pub mod profile;
pub mod snmp;
