//! Which module Ruby files the native stand-ins in `modules/` were written and checked
//! against (Debian's packaged releases). A module's function evolves with its releases
//! (postgresql 10's `postgresql_password` hashes with SCRAM-SHA-256 where older ones used
//! MD5), so a native stand-in is used only when the module ships one of these exact files;
//! any other version runs its own Ruby in the Ruby helper (or, without a helper, the native
//! version, the best troupe can do). puppetlabs-stdlib's natives are not gated: they are
//! checked against stdlib's releases by the conformance suites.

/// (function, the first 16 hex digits of the SHA-256 of each verified file).
const VERIFIED: &[(&str, &[&str])] = &[
    ("is_service_default", &["e91f816ee6956a0c"]),
    ("normalize_ip_for_uri", &["73e7a7cd424fa376"]),
    ("os_transport_url", &["2aca15321768c336"]),
    ("os_database_connection", &["2b5e683676b3d3e6"]),
    ("inet6_prefix", &["23207107c486224e"]),
    ("ipaddresses", &["bfc8dd5a469f7128"]),
    ("getvar_emptystring", &["2fb0ae27d0a40726"]),
    ("template_body", &["17585d0d4ad73694"]),
    ("validate_network_vlan_ranges", &["9fcd49fba98564ad"]),
    ("validate_tunnel_id_ranges", &["bdd1c156a59b8efb"]),
    ("validate_vni_ranges", &["229b2ae8f11195f4"]),
    ("validate_vxlan_udp_port", &["aee64a7222421ef9"]),
    ("convert_to_json_string", &["fc2976cf119f0931"]),
    ("mco_array_to_string", &["0b74365c6c048fd3"]),
    ("apache::bool2httpd", &["e684689062f1096d"]),
    ("memcached::max_memory", &["131c188f46b8c116"]),
    ("mysql::password", &["8a84f1df1624e2b7"]),
    ("postgresql::postgresql_password", &["d1d96a869c5e9a72"]),
    (
        "postgresql::postgresql_acls_to_resources_hash",
        &["481b9b2235014c67"],
    ),
];

/// Whether the native stand-in for `name` was checked against this module file's text.
pub(crate) fn verified(name: &str, source: &str) -> bool {
    let h = crate::functions::digest::hex("sha256", source.as_bytes());
    VERIFIED
        .iter()
        .any(|(n, hashes)| *n == name && hashes.iter().any(|x| h.starts_with(x)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_native_module_function_is_gated_and_debians_files_verify() {
        for (name, _) in VERIFIED {
            assert!(
                matches!(crate::functions::module_fn(name), Some((home, _)) if home != "stdlib"),
                "{name} is not a native module function"
            );
        }
        for (name, origin, _) in crate::functions::FUNCTIONS {
            if matches!(origin, crate::functions::Origin::Module(m) if *m != "stdlib") {
                assert!(
                    VERIFIED.iter().any(|(n, _)| n == name),
                    "{name} is not gated"
                );
            }
        }
        assert!(!verified("mysql::password", "changed"));
        // Debian's packaged file (present where the module corpus is installed, as in CI).
        let debian = "/usr/share/puppet/modules/mysql/lib/puppet/functions/mysql/password.rb";
        if let Ok(src) = std::fs::read_to_string(debian) {
            assert!(verified("mysql::password", &src));
        }
    }
}
