//! systemd's notification protocol (sd_notify), without libsystemd: a datagram to the socket
//! named by `$NOTIFY_SOCKET`. Does nothing when the variable is unset (not under systemd).

use std::os::unix::net::UnixDatagram;

/// Sends `state` (e.g. "READY=1\nSTATUS=polling 12 devices") to systemd, if it listens.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send(&path, state) {
        tracing::warn!("could not notify systemd ({}): {e}", path.to_string_lossy());
    }
}

fn send(path: &std::ffi::OsStr, state: &str) -> std::io::Result<()> {
    let socket = UnixDatagram::unbound()?;
    let bytes = path.as_encoded_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        // An abstract socket: '@' stands for the leading NUL byte.
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        socket.send_to_addr(state.as_bytes(), &addr)?;
    } else {
        socket.send_to(state.as_bytes(), path)?;
    }
    Ok(())
}

/// The watchdog interval systemd asks for (`WatchdogSec=`), if any and if meant for us.
pub fn watchdog_interval() -> Option<std::time::Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Some(pid) = std::env::var("WATCHDOG_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        && pid != std::process::id()
    {
        return None;
    }
    (usec > 0).then(|| std::time::Duration::from_micros(usec))
}

/// Tells systemd a reload has begun (`RELOADING=1` with the `MONOTONIC_USEC=` that
/// Type=notify-reload asks for); the reload ends with `READY=1`.
pub fn notify_reloading() {
    notify(&format!(
        "RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC={}",
        monotonic_usec()
    ));
}

/// CLOCK_MONOTONIC in microseconds, the clock systemd compares `MONOTONIC_USEC=` with.
fn monotonic_usec() -> u64 {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        Ok(t) => (t.tv_sec() as u64).saturating_mul(1_000_000) + (t.tv_nsec() as u64) / 1_000,
        Err(_) => 0,
    }
}
