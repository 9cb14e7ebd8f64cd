//! Test support for the SNMP tests: real agents (net-snmp `snmpd`, `snmpsimd`) on free loopback
//! ports, killed when dropped; `snmpbulkwalk` as the reference reader; a faulty UDP proxy.

#![allow(dead_code)]

pub mod udp_proxy;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coopnocd::collect::snmp::Value;

/// A free UDP port on 127.0.0.1 (free when asked; agents are started right after).
pub fn free_udp_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind an ephemeral UDP port");
    s.local_addr().expect("local address").port()
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// The uid and gid of `nobody` (and of `nogroup` when it exists).
fn nobody() -> (u32, u32) {
    let field = |file: &str, name: &str, idx: usize| -> Option<u32> {
        std::fs::read_to_string(file).ok()?.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name))
                .then(|| f.get(idx)?.parse().ok())
                .flatten()
        })
    };
    let uid = field("/etc/passwd", "nobody", 2).unwrap_or(65534);
    let gid = field("/etc/group", "nogroup", 2)
        .or_else(|| field("/etc/passwd", "nobody", 3))
        .unwrap_or(65534);
    (uid, gid)
}

/// The repository's copy of the recordings.
pub fn recordings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/snmprec")
}

/// An agent process, killed and reaped on drop (also when a test panics).
pub struct Agent {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    name: &'static str,
}

impl Agent {
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Waits until the agent answers a GET of sysDescr with these `snmpget` arguments.
    fn wait_ready(&mut self, auth: &[&str], within: Duration) {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log =
                    std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default();
                panic!("{} exited early ({status}):\n{log}", self.name);
            }
            let ok = Command::new("snmpget")
                .env("MIBS", "")
                .args(auth)
                .args([
                    "-t",
                    "0.3",
                    "-r",
                    "0",
                    "-On",
                    &self.address(),
                    "1.3.6.1.2.1.1.1.0",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return;
            }
            if start.elapsed() > within {
                let log =
                    std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default();
                panic!("{} did not answer within {within:?}:\n{log}", self.name);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// USM users the snmpd test agent knows: (user, snmpget arguments).
pub const V3_SHA256_AES128: (&str, &str, &str) = ("sha256aes", "auth-pass-256", "priv-pass-128");
pub const V3_SHA1_DES: (&str, &str, &str) = ("sha1des", "auth-pass-1", "priv-pass-des");
pub const V3_SHA512_AUTH: (&str, &str) = ("sha512auth", "auth-pass-512");
pub const V3_SHA512_AES256: (&str, &str, &str) =
    ("sha512aes256", "auth-pass-512b", "priv-pass-256");

/// net-snmp's snmpd on a free port: community `public`, and four v3 users (SHA-256/AES-128
/// authPriv, SHA-1/DES authPriv, SHA-512 authNoPriv, SHA-512/AES-256 authPriv).
pub fn start_snmpd() -> Agent {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_udp_port();
    let conf = dir.path().join("snmpd.conf");
    let persist = dir.path().join("persist");
    std::fs::create_dir_all(&persist).expect("persistent dir");
    let (u1, a1, p1) = V3_SHA256_AES128;
    let (u2, a2, p2) = V3_SHA1_DES;
    let (u3, a3) = V3_SHA512_AUTH;
    let (u4, a4, p4) = V3_SHA512_AES256;
    std::fs::write(
        &conf,
        format!(
            "agentAddress udp:127.0.0.1:{port}\n\
             rocommunity public 127.0.0.1\n\
             createUser {u1} SHA-256 \"{a1}\" AES \"{p1}\"\n\
             createUser {u2} SHA \"{a2}\" DES \"{p2}\"\n\
             createUser {u3} SHA-512 \"{a3}\"\n\
             createUser {u4} SHA-512 \"{a4}\" AES-256 \"{p4}\"\n\
             rouser {u1} priv\n\
             rouser {u2} priv\n\
             rouser {u3} auth\n\
             rouser {u4} priv\n"
        ),
    )
    .expect("write snmpd.conf");
    let log = std::fs::File::create(dir.path().join("agent.log")).expect("log file");
    let child = Command::new("snmpd")
        .env("MIBS", "")
        .env("SNMP_PERSISTENT_DIR", &persist)
        .args(["-f", "-Lo", "-C", "-c"])
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .or_else(|_| {
            // Debian installs it in /usr/sbin, which a non-root PATH may lack.
            Command::new("/usr/sbin/snmpd")
                .env("MIBS", "")
                .env("SNMP_PERSISTENT_DIR", &persist)
                .args(["-f", "-Lo", "-C", "-c"])
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
        })
        .expect("start snmpd (Debian package snmpd)");
    let mut agent = Agent {
        child,
        port,
        dir,
        name: "snmpd",
    };
    agent.wait_ready(&["-v2c", "-c", "public"], Duration::from_secs(30));
    agent
}

/// snmpsimd serving the repository's recordings (community = file name without .snmprec).
pub fn start_snmpsim() -> Agent {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(recordings_dir()).expect("tests/data/snmprec") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "snmprec") {
            let community = path
                .file_stem()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            files.push((
                community,
                std::fs::read_to_string(&path).expect("read recording"),
            ));
        }
    }
    start_snmpsim_with(&files, "cdata")
}

/// snmpsimd serving these recordings (community, snmprec text); ready once `ready_community`
/// answers. Rewrite one with [`Agent::rewrite_recording`].
pub fn start_snmpsim_with(files: &[(String, String)], ready_community: &str) -> Agent {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_udp_port();
    let data = dir.path().join("data");
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::create_dir_all(&cache).expect("cache dir");
    for (community, text) in files {
        let to = data.join(format!("{community}.snmprec"));
        std::fs::write(&to, text).expect("write recording");
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let mut args = vec![
        format!("--data-dir={}", data.display()),
        format!("--cache-dir={}", cache.display()),
        format!("--agent-udpv4-endpoint=127.0.0.1:{port}"),
        "--logging-method=null".to_string(),
    ];
    if running_as_root() {
        // snmpsimd refuses to run as root; it drops to nobody, which must read the data and
        // write the cache.
        let (uid, gid) = nobody();
        for d in [dir.path(), &data] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        std::os::unix::fs::chown(&cache, Some(uid), Some(gid)).expect("chown the cache to nobody");
        args.push("--process-user=nobody".into());
        args.push("--process-group=nogroup".into());
    }
    let log = std::fs::File::create(dir.path().join("agent.log")).expect("log file");
    let child = Command::new("snmpsimd")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .expect("start snmpsimd (Debian package snmpsim)");
    let mut agent = Agent {
        child,
        port,
        dir,
        name: "snmpsimd",
    };
    agent.wait_ready(&["-v2c", "-c", ready_community], Duration::from_secs(30));
    agent
}

impl Agent {
    /// Replaces what snmpsimd serves for `community` (it re-indexes a recording newer than
    /// its index at the next request).
    pub fn rewrite_recording(&self, community: &str, text: &str) {
        let path = self
            .dir
            .path()
            .join("data")
            .join(format!("{community}.snmprec"));
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).expect("write recording");
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        // A later mtime than the index, even within the same second.
        let later = std::time::SystemTime::now() + Duration::from_secs(2);
        std::fs::File::options()
            .write(true)
            .open(&tmp)
            .and_then(|f| f.set_modified(later))
            .expect("mtime");
        std::fs::rename(&tmp, &path).expect("replace recording");
    }
}

/// What `snmpbulkwalk` reads: (OID without the leading dot, value as net-snmp prints it with
/// `-On -Oqx -Oe -Ot -OU`, whitespace collapsed).
pub fn snmpbulkwalk(auth: &[&str], address: &str, oid: &str) -> Vec<(String, String)> {
    // v1 has no GETBULK: net-snmp's reference is then snmpwalk (GETNEXT).
    let v1 = auth.contains(&"-v1");
    let out = Command::new(if v1 { "snmpwalk" } else { "snmpbulkwalk" })
        .env("MIBS", "")
        .args(auth)
        .args(["-On", "-Oqx", "-Oe", "-Ot", "-OU", "-t", "2", "-r", "1"])
        .args(if v1 { None } else { Some("-Cr25") })
        .args([address, oid])
        .output()
        .expect("run snmpbulkwalk (Debian package snmp)");
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        eprintln!(
            "snmpbulkwalk {auth:?} {address} {oid}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut rows: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('.') {
            let (oid, value) = rest.split_once(' ').unwrap_or((rest, ""));
            rows.push((oid.to_string(), value.to_string()));
        } else if let Some(last) = rows.last_mut() {
            last.1.push(' ');
            last.1.push_str(line);
        }
    }
    rows.retain(|(_, v)| !v.contains("No more variables left"));
    for r in &mut rows {
        r.1 = collapse(&r.1);
    }
    rows
}

fn collapse(s: &str) -> String {
    let s = s.replace('"', " \" ");
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Our value printed the way `snmpbulkwalk -Oqx -Oe -Ot` prints it.
pub fn net_snmp_text(v: &Value) -> String {
    let s = match v {
        Value::Integer(i) => i.to_string(),
        Value::Bytes(b) => {
            let hex: Vec<String> = b.iter().map(|x| format!("{x:02X}")).collect();
            format!("\"{}\"", hex.join(" "))
        }
        Value::Oid(o) => format!(".{o}"),
        Value::IpAddress(a) => format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]),
        Value::Counter32(c) | Value::Gauge32(c) | Value::TimeTicks(c) => c.to_string(),
        Value::Counter64(c) => c.to_string(),
        Value::Null => "\"\"".to_string(),
        other => format!("{other:?}"),
    };
    collapse(&s)
}
