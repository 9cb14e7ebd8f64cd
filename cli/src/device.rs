//! `coopnoc device ...` and `coopnoc poll`: what the SNMP poller sees of each device.

use clap::Subcommand;

use crate::Session;

#[derive(Subcommand, Debug)]
pub enum DeviceCommand {
    /// Every device: reachability, last poll, poll duration, errors.
    List,
    /// One device: description, uptime, interfaces, last errors.
    Show {
        /// The device's name, as in the configuration.
        device: String,
    },
}

pub async fn run(_session: &mut Session, _cmd: DeviceCommand) -> anyhow::Result<u8> {
    anyhow::bail!("device commands arrive with the SNMP poller")
}

pub async fn poll(_session: &mut Session, _device: &str) -> anyhow::Result<u8> {
    anyhow::bail!("polling on demand arrives with the SNMP poller")
}
