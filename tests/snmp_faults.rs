//! Faults: placeholder, filled below.
mod snmp_support;
