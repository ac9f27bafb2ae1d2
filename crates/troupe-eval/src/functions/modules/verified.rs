//! Which module Ruby files the native stand-ins in `modules/` were written and checked
//! against (Debian's packaged releases). A module's function evolves with its releases
//! (postgresql 10's `postgresql_password` hashes with SCRAM-SHA-256 where older ones used
//! MD5), so a native stand-in is used only when the module ships one of these exact files;
//! any other version runs its own Ruby in the Ruby helper (or, without a helper, the native
//! version, the best troupe can do). puppetlabs-stdlib's natives are not gated: they are
//! checked against stdlib's releases by the conformance suites.

/// (function, FNV-1a 64 of each verified file's bytes).
const VERIFIED: &[(&str, &[u64])] = &[
    ("is_service_default", &[0x43f1_ccf8_b15f_7629]),
    ("normalize_ip_for_uri", &[0x1b94_69df_4d9b_5027]),
    ("os_transport_url", &[0x0323_b4b0_d8d3_baa1]),
    ("os_database_connection", &[0x5a11_7004_395e_6dcc]),
    ("inet6_prefix", &[0x8c17_3235_08e8_c82a]),
    ("ipaddresses", &[0xf6e2_4d29_a3c6_3036]),
    ("getvar_emptystring", &[0x682c_ac0e_854c_f58a]),
    ("template_body", &[0xdb3e_347d_62a8_79c1]),
    ("validate_network_vlan_ranges", &[0xe955_eeb6_8a2b_749e]),
    ("validate_tunnel_id_ranges", &[0x3cbf_292e_d1b0_4117]),
    ("validate_vni_ranges", &[0x7053_6e95_c413_f671]),
    ("validate_vxlan_udp_port", &[0x30f3_db1c_d439_cb0c]),
    ("convert_to_json_string", &[0x7e93_044e_a7f6_bc4e]),
    ("mco_array_to_string", &[0x80a7_f6ce_e8eb_747d]),
    ("apache::bool2httpd", &[0x60a6_9c80_e941_28ab]),
    ("memcached::max_memory", &[0x7abd_38e4_1c0a_a517]),
    ("mysql::password", &[0xa79a_2912_beb4_9652]),
    ("postgresql::postgresql_password", &[0xe1c0_af79_e8f8_fa92]),
    (
        "postgresql::postgresql_acls_to_resources_hash",
        &[0x5649_40f8_7b2b_0b24],
    ),
];

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whether the native stand-in for `name` was checked against this module file's text.
pub(crate) fn verified(name: &str, source: &str) -> bool {
    let h = fnv1a(source.as_bytes());
    VERIFIED
        .iter()
        .any(|(n, hashes)| *n == name && hashes.contains(&h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gated_native_is_a_module_function_and_hashes_are_fnv1a() {
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
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert!(!verified("mysql::password", "changed"));
    }
}
