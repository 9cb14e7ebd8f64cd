//! Ready-made networks: a small cooperative for the demo, a large one for benchmarks.

use std::sync::Arc;
use std::time::Duration;

use crate::device::Behaviour;
use crate::network::DeviceSpec;
use crate::running::{SimKind, V3User};
use crate::synth::{OltShape, SyntheticOlt};
use crate::vendor::{VsolV1600d, ZteC3xx};

pub const SITE_CABINET: &str = "Armoire de rue des Bordes";
pub const SITE_CHURCH: &str = "Clocher de Saint-Aubin-sur-Yonne";
pub const SITE_WATER_TOWER: &str = "Château d'eau de Villiers-le-Haut";
pub const SITE_TOWN_HALL: &str = "Mairie de Chaumont-la-Forêt";
pub const SITE_DATA_CENTRE: &str = "Centre de données de La Forge";

fn olt(
    name: &str,
    site: &str,
    onus: u32,
    first_line: u32,
    base: Option<&'static str>,
    seed: u64,
) -> DeviceSpec {
    let mut olt = SyntheticOlt::new(onus, name);
    olt.first_line = first_line;
    olt.base = base;
    olt.seed = seed;
    // Built on a vendor's system group, an OLT also serves that vendor's ONU tables, so
    // the daemon's profile for it finds what it reads on the real device.
    match base {
        Some("zxa10_c320") => olt.extra.push(Arc::new(ZteC3xx)),
        Some("vsolution_v1600d") => {
            olt.shape = OltShape::VsolEpon;
            olt.extra.push(Arc::new(VsolV1600d));
        }
        _ => {}
    }
    let mut spec = DeviceSpec::synthetic_olt(name, olt);
    spec.site = site.to_owned();
    spec.behaviour.seed = seed;
    spec
}

fn recorded(
    name: &str,
    kind: SimKind,
    site: &str,
    recording: &'static str,
    seed: u64,
) -> DeviceSpec {
    let mut spec = DeviceSpec::recording(name, kind, recording);
    spec.site = site.to_owned();
    spec.rename = true;
    spec.behaviour.seed = seed;
    spec
}

/// A plausible small cooperative of about 2,000 lines: four OLTs (two built on the system
/// group of a real ZTE and V-SOL recording, with that vendor's ONU optics tables, see
/// [`crate::vendor`]), the real radio recordings, a data-centre
/// switch, a UPS and a Linux gateway. Community `public` everywhere; no latency or loss;
/// `olt-chaumont` also answers SNMPv3 as [`demo_v3_user`].
pub fn demo() -> Vec<DeviceSpec> {
    let mut devices = vec![
        olt("olt-bordes", SITE_CABINET, 620, 1, Some("zxa10_c320"), 11),
        olt(
            "olt-villiers",
            SITE_WATER_TOWER,
            540,
            621,
            Some("vsolution_v1600d"),
            12,
        ),
        olt("olt-chaumont", SITE_TOWN_HALL, 560, 1161, None, 13),
        olt("olt-forge", SITE_DATA_CENTRE, 260, 1721, None, 14),
        recorded(
            "ap-clocher-epmp",
            SimKind::Radio,
            SITE_CHURCH,
            "epmp_epmp-ap-connected-sta",
            21,
        ),
        recorded(
            "ap-clocher-mikrotik",
            SimKind::Radio,
            SITE_CHURCH,
            "routeros",
            22,
        ),
        recorded(
            "ptmp-clocher-ltu",
            SimKind::Radio,
            SITE_CHURCH,
            "airos-af-ltu",
            23,
        ),
        recorded(
            "ptp-chateau-af60",
            SimKind::Radio,
            SITE_WATER_TOWER,
            "airos-af60_airos-af60",
            24,
        ),
        recorded(
            "ptp-forge-clocher-siklu",
            SimKind::Radio,
            SITE_DATA_CENTRE,
            "siklu",
            25,
        ),
        recorded(
            "ptp-chateau-mimosa",
            SimKind::Radio,
            SITE_WATER_TOWER,
            "mimosa_b5",
            26,
        ),
        recorded(
            "sw-forge-coeur",
            SimKind::Switch,
            SITE_DATA_CENTRE,
            "routeros_crs317",
            31,
        ),
        recorded(
            "ups-forge",
            SimKind::Ups,
            SITE_DATA_CENTRE,
            "eaton-mgeups_9px",
            41,
        ),
        recorded(
            "gw-forge-linux",
            SimKind::Router,
            SITE_DATA_CENTRE,
            "linux_icecast",
            51,
        ),
    ];
    // One OLT also speaks SNMPv3 (authPriv, SHA-256/AES-128), so the demo exercises v3.
    devices[2].v3 = Some(demo_v3_user());
    // Backbone devices carry more traffic than a subscriber line.
    for spec in &mut devices {
        if matches!(spec.kind, SimKind::Switch | SimKind::Router) || spec.name.starts_with("ptp-") {
            spec.behaviour.counter_rate = 2_000_000.0;
        }
    }
    devices
}

/// The SNMPv3 user of the demo's `olt-chaumont` (demo secrets, not for real use).
pub fn demo_v3_user() -> V3User {
    V3User {
        user: "coopnoc-demo".to_owned(),
        auth_password: "demo-auth-secret".to_owned(),
        priv_password: "demo-priv-secret".to_owned(),
    }
}

/// The radio recordings the bench preset cycles through.
pub const BENCH_RADIOS: &[&str] = &[
    "airos-af-ltu",
    "airos-af60_airos-af60",
    "epmp_epmp-ap-connected-sta",
    "routeros",
    "siklu",
    "mimosa_b5",
];

/// The shape of the bench network: how many OLTs, ONUs per OLT and radios, and how long
/// every agent takes to answer. The default is the 10,000-line network of the benchmarks:
/// 8 OLTs of 1,250 ONUs, 100 radios, 2 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchShape {
    pub olts: u32,
    pub onus_per_olt: u32,
    pub radios: u32,
    pub latency: Duration,
}

impl Default for BenchShape {
    fn default() -> Self {
        BenchShape {
            olts: 8,
            onus_per_olt: 1250,
            radios: 100,
            latency: crate::BENCH_LATENCY,
        }
    }
}

impl BenchShape {
    /// Subscriber lines on the OLTs.
    pub fn lines(&self) -> u64 {
        u64::from(self.olts) * u64::from(self.onus_per_olt)
    }
}

/// A large network: `shape.olts` generic OLTs of `shape.onus_per_olt` ONUs (lines
/// L-00001... numbered on across the OLTs) and `shape.radios` radios replaying the radio
/// recordings in turn, every agent answering after `shape.latency`. One UDP socket per
/// device; an OLT's IF-MIB columns are computed when read, so 100,000 ONUs cost little.
pub fn bench(shape: BenchShape) -> Vec<DeviceSpec> {
    let mut specs = Vec::with_capacity((shape.olts + shape.radios) as usize);
    for i in 0..shape.olts {
        let name = format!("olt-bench-{}", i + 1);
        let first_line = 1 + i * shape.onus_per_olt;
        let mut spec = olt(
            &name,
            "bench",
            shape.onus_per_olt,
            first_line,
            None,
            100 + u64::from(i),
        );
        spec.behaviour.latency = shape.latency;
        specs.push(spec);
    }
    for i in 0..shape.radios as usize {
        let recording = BENCH_RADIOS[i % BENCH_RADIOS.len()];
        let name = format!("radio-bench-{:03}", i + 1);
        let mut spec = recorded(&name, SimKind::Radio, "bench", recording, 1000 + i as u64);
        spec.behaviour = Behaviour {
            latency: shape.latency,
            seed: 1000 + i as u64,
            ..Behaviour::default()
        };
        specs.push(spec);
    }
    specs
}
