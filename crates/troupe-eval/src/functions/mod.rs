//! Native functions: Puppet's core functions (`core/`, one file per family), puppetlabs-stdlib's
//! (`stdlib/`, one file per family) and other modules' Ruby functions (`modules/`, one file per
//! module), all listed in ONE table, [`FUNCTIONS`]. Adding a function is writing it in its
//! family's file and adding its row here; a name listed twice fails the registry's test.
//!
//! Every native function has one shape, [`NativeFn`]. The evaluator resolves a name once, in
//! `lang::call`: a qualified name's Puppet-language function, then a core function, then a
//! Puppet-language function, then a module function (only when a module on the modulepath
//! ships its `.rb`; a 3.x function gets a top-level undef as `''`), else "Unknown function".
//!
//! May call: `troupe-values`, `troupe-ruby`, `catalog`, `code`, `data` (Hiera). The compile is
//! reached only through [`host::Host`], which the evaluator (`lang/`) implements; nothing here
//! names `lang`. Argument checks with Puppet's messages are in `args`.

pub mod args;
pub mod core;
pub mod digest;
pub mod hiera_fn;
pub mod host;
pub mod lookup;
pub mod lookup_args;
pub mod modules;
pub mod ruby;
pub mod sigs;
pub mod stdlib;
pub mod templates;

use crate::functions::host::Host;
use std::sync::OnceLock;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// A native function: the compile (as its [`Host`]), the name it was called by, its arguments,
/// its block, and the call site (for locations).
pub(crate) type NativeFn =
    fn(&mut dyn Host, &str, Vec<Value>, Option<&Lambda>, &Expr) -> EResult<Value>;

/// Where a native function comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Puppet's own: always there.
    Core,
    /// A module's Ruby function: served only when a module on the modulepath ships its `.rb`;
    /// the named module is searched first.
    Module(&'static str),
}

/// Every native function, by the names Puppet code calls it.
#[rustfmt::skip]
const FUNCTIONS: &[(&str, Origin, NativeFn)] = &[
    ("include", Origin::Core, self::core::catalog::include),
    ("contain", Origin::Core, self::core::catalog::include),
    ("require", Origin::Core, self::core::catalog::include),
    ("realize", Origin::Core, self::core::catalog::realize),
    ("tag", Origin::Core, self::core::catalog::tag),
    ("tagged", Origin::Core, self::core::catalog::tagged),
    ("defined", Origin::Core, self::core::catalog::defined),
    ("fail", Origin::Core, self::core::control::fail),
    ("notice", Origin::Core, self::core::control::notice),
    ("info", Origin::Core, self::core::control::notice),
    ("warning", Origin::Core, self::core::control::notice),
    ("err", Origin::Core, self::core::control::notice),
    ("debug", Origin::Core, self::core::control::notice),
    ("alert", Origin::Core, self::core::control::notice),
    ("crit", Origin::Core, self::core::control::notice),
    ("emerg", Origin::Core, self::core::control::notice),
    ("create_resources", Origin::Core, self::core::catalog::create_resources),
    ("break", Origin::Core, self::core::control::break_fn),
    ("next", Origin::Core, self::core::control::next),
    ("return", Origin::Core, self::core::control::return_fn),
    ("each", Origin::Core, self::core::iterate::each),
    ("reverse_each", Origin::Core, self::core::iterate::each),
    ("map", Origin::Core, self::core::iterate::map),
    ("filter", Origin::Core, self::core::iterate::map),
    ("any", Origin::Core, self::core::iterate::map),
    ("all", Origin::Core, self::core::iterate::map),
    ("find", Origin::Core, self::core::iterate::map),
    ("partition", Origin::Core, self::core::iterate::map),
    ("group_by", Origin::Core, self::core::iterate::map),
    ("reduce", Origin::Core, self::core::iterate::reduce),
    ("with", Origin::Core, self::core::iterate::with),
    ("then", Origin::Core, self::core::iterate::then),
    ("lest", Origin::Core, self::core::iterate::lest),
    ("step", Origin::Core, self::core::iterate::step),
    ("slice", Origin::Core, self::core::iterate::slice),
    ("index", Origin::Core, self::core::iterate::index),
    ("keys", Origin::Core, self::core::collections::keys),
    ("values", Origin::Core, self::core::collections::values),
    ("length", Origin::Core, self::core::collections::length),
    ("size", Origin::Core, self::core::collections::length),
    ("empty", Origin::Core, self::core::collections::empty),
    ("join", Origin::Core, self::core::collections::join),
    ("split", Origin::Core, self::core::strings::split),
    ("flatten", Origin::Core, self::core::collections::flatten_fn),
    ("unique", Origin::Core, self::core::collections::unique),
    ("sort", Origin::Core, self::core::collections::sort),
    ("reverse", Origin::Core, self::core::collections::reverse),
    ("upcase", Origin::Core, self::core::strings::upcase),
    ("downcase", Origin::Core, self::core::strings::upcase),
    ("capitalize", Origin::Core, self::core::strings::upcase),
    ("camelcase", Origin::Core, self::core::strings::upcase),
    ("strip", Origin::Core, self::core::strings::upcase),
    ("lstrip", Origin::Core, self::core::strings::upcase),
    ("rstrip", Origin::Core, self::core::strings::upcase),
    ("chomp", Origin::Core, self::core::strings::upcase),
    ("chop", Origin::Core, self::core::strings::upcase),
    ("abs", Origin::Core, self::core::math::abs),
    ("floor", Origin::Core, self::core::math::floor),
    ("ceiling", Origin::Core, self::core::math::floor),
    ("round", Origin::Core, self::core::math::floor),
    ("min", Origin::Core, self::core::math::min),
    ("max", Origin::Core, self::core::math::min),
    ("compare", Origin::Core, self::core::math::compare),
    ("sprintf", Origin::Core, self::core::strings::sprintf_fn),
    ("regsubst", Origin::Core, self::core::regsubst::regsubst_fn),
    ("match", Origin::Core, self::core::strings::match_fn),
    ("versioncmp", Origin::Core, self::core::strings::versioncmp_fn),
    ("dig", Origin::Core, self::core::dig::dig),
    ("getvar", Origin::Core, self::core::dig::getvar),
    ("get", Origin::Core, self::core::dig::get_fn),
    ("find_file", Origin::Core, self::core::env::find_file),
    ("find_template", Origin::Core, self::core::env::find_file),
    ("tree_each", Origin::Core, self::core::tree_each::tree_each),
    ("generate", Origin::Core, self::core::env::generate),
    ("assert_type", Origin::Core, self::core::types::assert_type),
    ("type", Origin::Core, self::core::types::type_fn),
    ("lookup", Origin::Core, self::core::lookup::lookup),
    ("hiera", Origin::Core, self::core::lookup::hiera),
    ("hiera_array", Origin::Core, self::core::lookup::hiera),
    ("hiera_hash", Origin::Core, self::core::lookup::hiera),
    ("hiera_include", Origin::Core, self::core::lookup::hiera),
    ("epp", Origin::Core, self::templates::epp),
    ("inline_epp", Origin::Core, self::templates::inline_epp),
    ("template", Origin::Core, self::templates::template),
    ("inline_template", Origin::Core, self::templates::inline_template),
    ("file", Origin::Core, self::templates::file),
    ("binary_file", Origin::Core, self::templates::binary_file),
    ("annotate", Origin::Core, self::core::control::annotate),
    ("strftime", Origin::Core, self::core::time::strftime),
    ("scanf", Origin::Core, self::core::strings::scanf_fn),
    ("md5", Origin::Core, self::core::digest::md5),
    ("sha1", Origin::Core, self::core::digest::md5),
    ("sha256", Origin::Core, self::core::digest::md5),
    ("fqdn_rand", Origin::Core, self::core::digest::fqdn_rand),
    ("shellquote", Origin::Core, self::core::strings::shellquote_fn),
    ("unwrap", Origin::Core, self::core::types::unwrap),
    ("call", Origin::Core, self::core::iterate::call),
    ("convert_to", Origin::Core, self::core::types::convert_to),
    ("new", Origin::Core, self::core::types::new_fn),
    ("module_directory", Origin::Core, self::core::env::module_directory),
    ("digest", Origin::Core, self::core::digest::digest),
    ("pick", Origin::Module("stdlib"), stdlib::collections::pick),
    ("pick_default", Origin::Module("stdlib"), stdlib::collections::pick_default),
    ("merge", Origin::Module("stdlib"), stdlib::collections::merge),
    ("deep_merge", Origin::Module("stdlib"), stdlib::collections::deep_merge_fn),
    ("any2array", Origin::Module("stdlib"), stdlib::convert::any2array),
    ("concat", Origin::Module("stdlib"), stdlib::collections::concat),
    ("is_service_default", Origin::Module("openstacklib"), modules::openstacklib::is_service_default),
    ("str2bool", Origin::Module("stdlib"), stdlib::convert::str2bool),
    ("bool2num", Origin::Module("stdlib"), stdlib::convert::bool2num),
    ("has_key", Origin::Module("stdlib"), stdlib::collections::has_key),
    ("count", Origin::Module("stdlib"), stdlib::collections::count),
    ("member", Origin::Module("stdlib"), stdlib::collections::member),
    ("delete_undef_values", Origin::Module("stdlib"), stdlib::collections::delete_undef_values),
    ("delete", Origin::Module("stdlib"), stdlib::collections::delete),
    ("prefix", Origin::Module("stdlib"), stdlib::collections::prefix),
    ("suffix", Origin::Module("stdlib"), stdlib::collections::prefix),
    ("join_keys_to_values", Origin::Module("stdlib"), stdlib::collections::join_keys_to_values),
    ("dirname", Origin::Module("stdlib"), stdlib::strings::dirname),
    ("basename", Origin::Module("stdlib"), stdlib::strings::dirname),
    ("is_string", Origin::Module("stdlib"), stdlib::validate::is_string),
    ("is_array", Origin::Module("stdlib"), stdlib::validate::is_array),
    ("is_hash", Origin::Module("stdlib"), stdlib::validate::is_hash),
    ("is_bool", Origin::Module("stdlib"), stdlib::validate::is_bool),
    ("deprecation", Origin::Module("stdlib"), stdlib::validate::deprecation),
    ("assert_private", Origin::Module("stdlib"), stdlib::validate::assert_private),
    ("validate_legacy", Origin::Module("stdlib"), stdlib::validate::validate_legacy),
    ("validate_string", Origin::Module("stdlib"), stdlib::validate::validate_string),
    ("validate_bool", Origin::Module("stdlib"), stdlib::validate::validate_string),
    ("validate_hash", Origin::Module("stdlib"), stdlib::validate::validate_string),
    ("validate_array", Origin::Module("stdlib"), stdlib::validate::validate_string),
    ("validate_absolute_path", Origin::Module("stdlib"), stdlib::validate::validate_string),
    ("validate_re", Origin::Module("stdlib"), stdlib::validate::validate_string),
    ("validate_integer", Origin::Module("stdlib"), stdlib::validate::validate_string),
    ("defined_with_params", Origin::Module("stdlib"), stdlib::catalog::defined_with_params),
    ("ensure_resource", Origin::Module("stdlib"), stdlib::catalog::ensure_resource),
    ("ensure_resources", Origin::Module("stdlib"), stdlib::catalog::ensure_resources),
    ("ensure_packages", Origin::Module("stdlib"), stdlib::catalog::ensure_packages),
    ("fqdn_rotate", Origin::Module("stdlib"), stdlib::catalog::fqdn_rotate),
    ("base64", Origin::Module("stdlib"), stdlib::convert::base64),
    ("normalize_ip_for_uri", Origin::Module("openstacklib"), modules::openstacklib::normalize_ip_for_uri),
    ("fact", Origin::Module("stdlib"), stdlib::catalog::fact),
    ("delete_at", Origin::Module("stdlib"), stdlib::collections::delete_at),
    ("memcached::max_memory", Origin::Module("memcached"), modules::memcached::memcached_max_memory),
    ("mysql::password", Origin::Module("mysql"), modules::mysql::mysql_password),
    ("mysql_password", Origin::Module("stdlib"), modules::mysql::mysql_password),
    ("postgresql::postgresql_password", Origin::Module("postgresql"), modules::postgresql::postgresql_postgresql_password),
    ("postgresql_password", Origin::Module("stdlib"), modules::postgresql::postgresql_postgresql_password),
    ("postgresql::postgresql_acls_to_resources_hash", Origin::Module("postgresql"), modules::postgresql::postgresql_postgresql_acls_to_resources_hash),
    ("ipaddresses", Origin::Module("ssh"), modules::ssh::ipaddresses),
    ("getvar_emptystring", Origin::Module("redis"), modules::redis::getvar_emptystring),
    ("apache::bool2httpd", Origin::Module("apache"), modules::apache::apache_bool2httpd),
    ("bool2httpd", Origin::Module("stdlib"), modules::apache::apache_bool2httpd),
    ("hash", Origin::Module("stdlib"), stdlib::collections::hash),
    ("range", Origin::Module("stdlib"), stdlib::collections::range),
    ("grep", Origin::Module("stdlib"), stdlib::collections::grep),
    ("reject", Origin::Module("stdlib"), stdlib::collections::grep),
    ("values_at", Origin::Module("stdlib"), stdlib::collections::values_at),
    ("union", Origin::Module("stdlib"), stdlib::collections::union),
    ("difference", Origin::Module("stdlib"), stdlib::collections::union),
    ("intersection", Origin::Module("stdlib"), stdlib::collections::union),
    ("bool2str", Origin::Module("stdlib"), stdlib::convert::bool2str),
    ("num2bool", Origin::Module("stdlib"), stdlib::convert::num2bool_fn),
    ("any2bool", Origin::Module("stdlib"), stdlib::convert::any2bool),
    ("is_integer", Origin::Module("stdlib"), stdlib::validate::is_integer),
    ("is_numeric", Origin::Module("stdlib"), stdlib::validate::is_integer),
    ("is_float", Origin::Module("stdlib"), stdlib::validate::is_integer),
    ("is_ip_address", Origin::Module("stdlib"), stdlib::net::is_ip_address),
    ("is_ipv4_address", Origin::Module("stdlib"), stdlib::net::is_ip_address),
    ("is_ipv6_address", Origin::Module("stdlib"), stdlib::net::is_ip_address),
    ("is_domain_name", Origin::Module("stdlib"), stdlib::net::is_domain_name_fn),
    ("enclose_ipv6", Origin::Module("stdlib"), stdlib::net::enclose_ipv6),
    ("uriescape", Origin::Module("stdlib"), stdlib::strings::uriescape),
    ("shell_escape", Origin::Module("stdlib"), stdlib::strings::shell_escape_fn),
    ("shell_join", Origin::Module("stdlib"), stdlib::strings::shell_join),
    ("validate_numeric", Origin::Module("stdlib"), stdlib::validate::validate_numeric_fn),
    ("getparam", Origin::Module("stdlib"), stdlib::catalog::getparam),
    ("get_module_path", Origin::Module("stdlib"), stdlib::catalog::get_module_path),
    ("dig44", Origin::Module("stdlib"), stdlib::collections::dig44),
    ("fqdn_rand_string", Origin::Module("stdlib"), stdlib::catalog::fqdn_rand_string),
    ("is_a", Origin::Module("stdlib"), stdlib::validate::is_a),
    ("to_json", Origin::Module("stdlib"), stdlib::convert::to_json),
    ("to_json_pretty", Origin::Module("stdlib"), stdlib::convert::to_json_pretty),
    ("template_body", Origin::Module("datacat"), modules::datacat::template_body),
    ("validate_network_vlan_ranges", Origin::Module("neutron"), modules::neutron::validate_network_vlan_ranges),
    ("validate_tunnel_id_ranges", Origin::Module("neutron"), modules::neutron::validate_network_vlan_ranges),
    ("validate_vni_ranges", Origin::Module("neutron"), modules::neutron::validate_network_vlan_ranges),
    ("validate_vxlan_udp_port", Origin::Module("neutron"), modules::neutron::validate_vxlan_udp_port),
    ("convert_to_json_string", Origin::Module("neutron"), modules::neutron::convert_to_json_string),
    ("parseyaml", Origin::Module("stdlib"), stdlib::convert::parseyaml),
    ("parsejson", Origin::Module("stdlib"), stdlib::convert::parseyaml),
    ("loadyaml", Origin::Module("stdlib"), stdlib::convert::parseyaml),
    ("loadjson", Origin::Module("stdlib"), stdlib::convert::parseyaml),
    ("mco_array_to_string", Origin::Module("mcollective"), modules::mcollective::mco_array_to_string),
    ("to_yaml", Origin::Module("stdlib"), stdlib::convert::to_yaml),
    ("os_transport_url", Origin::Module("openstacklib"), modules::openstacklib::os_transport_url_fn),
    ("os_database_connection", Origin::Module("openstacklib"), modules::openstacklib::os_database_connection_fn),
    ("inet6_prefix", Origin::Module("openstacklib"), modules::openstacklib::inet6_prefix),
    ("stdlib::ensure_packages", Origin::Module("stdlib"), stdlib::v9_catalog::ensure_packages),
    ("stdlib::os_version_gte", Origin::Module("stdlib"), stdlib::v9_catalog::os_version_gte),
    ("os_version_gte", Origin::Module("stdlib"), stdlib::v9_catalog::os_version_gte),
    ("stdlib::has_interface_with", Origin::Module("stdlib"), stdlib::v9_catalog::has_interface_with),
    ("stdlib::str2resource", Origin::Module("stdlib"), stdlib::v9_catalog::str2resource),
    ("stdlib::merge", Origin::Module("stdlib"), stdlib::v9_data::merge),
    ("stdlib::nested_values", Origin::Module("stdlib"), stdlib::v9_data::nested_values),
    ("stdlib::sort_by", Origin::Module("stdlib"), stdlib::v9_data::sort_by),
    ("stdlib::type_of", Origin::Module("stdlib"), stdlib::v9_data::type_of),
    ("type_of", Origin::Module("stdlib"), stdlib::v9_data::type_of),
    ("stdlib::seeded_rand", Origin::Module("stdlib"), stdlib::v9_data::seeded_rand),
    ("seeded_rand", Origin::Module("stdlib"), stdlib::v9_data::seeded_rand),
    ("stdlib::ip_in_range", Origin::Module("stdlib"), stdlib::v9_data::ip_in_range),
    ("stdlib::to_toml", Origin::Module("stdlib"), stdlib::v9_data::to_toml),
    ("to_toml", Origin::Module("stdlib"), stdlib::v9_data::to_toml),
    ("stdlib::to_yaml", Origin::Module("stdlib"), stdlib::convert::to_yaml),
    ("stdlib::to_json", Origin::Module("stdlib"), stdlib::convert::to_json),
    ("stdlib::to_json_pretty", Origin::Module("stdlib"), stdlib::convert::to_json_pretty),
    ("stdlib::shell_escape", Origin::Module("stdlib"), stdlib::strings::shell_escape_fn),
    ("stdlib::fqdn_rand_string", Origin::Module("stdlib"), stdlib::catalog::fqdn_rand_string),
    ("stdlib::fqdn_rotate", Origin::Module("stdlib"), stdlib::catalog::fqdn_rotate),
    ("stdlib::batch_escape", Origin::Module("stdlib"), stdlib::v9_text::batch_escape),
    ("batch_escape", Origin::Module("stdlib"), stdlib::v9_text::batch_escape),
    ("stdlib::powershell_escape", Origin::Module("stdlib"), stdlib::v9_text::powershell_escape),
    ("powershell_escape", Origin::Module("stdlib"), stdlib::v9_text::powershell_escape),
    ("stdlib::start_with", Origin::Module("stdlib"), stdlib::v9_text::start_with),
    ("stdlib::end_with", Origin::Module("stdlib"), stdlib::v9_text::start_with),
    ("stdlib::extname", Origin::Module("stdlib"), stdlib::v9_text::extname),
    ("stdlib::xml_encode", Origin::Module("stdlib"), stdlib::v9_text::xml_encode),
    ("stdlib::sha256", Origin::Module("stdlib"), stdlib::v9_text::sha256),
    ("stdlib::crc32", Origin::Module("stdlib"), stdlib::v9_text::crc32),
    ("stdlib::to_ruby", Origin::Module("stdlib"), stdlib::v9_text::to_ruby),
    ("to_ruby", Origin::Module("stdlib"), stdlib::v9_text::to_ruby),
    ("stdlib::to_python", Origin::Module("stdlib"), stdlib::v9_text::to_ruby),
    ("to_python", Origin::Module("stdlib"), stdlib::v9_text::to_ruby),
];

fn registry() -> &'static troupe_values::value::FastMap<&'static str, (Origin, NativeFn)> {
    static R: OnceLock<troupe_values::value::FastMap<&'static str, (Origin, NativeFn)>> =
        OnceLock::new();
    R.get_or_init(|| {
        let mut r = troupe_values::value::FastMap::with_capacity_and_hasher(
            FUNCTIONS.len(),
            Default::default(),
        );
        for &(name, origin, f) in FUNCTIONS {
            let dup = r.insert(name, (origin, f));
            assert!(dup.is_none(), "native function {name} is listed twice");
        }
        r
    })
}

/// Puppet's core function `name`.
pub(crate) fn core_fn(name: &str) -> Option<NativeFn> {
    match registry().get(name) {
        Some((Origin::Core, f)) => Some(*f),
        _ => None,
    }
}

/// The native stand-in for a module's Ruby function `name`, with the module searched first.
pub(crate) fn module_fn(name: &str) -> Option<(&'static str, NativeFn)> {
    match registry().get(name) {
        Some((Origin::Module(home), f)) => Some((*home, *f)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_is_listed_once() {
        assert_eq!(registry().len(), FUNCTIONS.len());
    }
}
