//! Other modules' Ruby functions, natively: one file per module.

pub mod apache;
pub mod datacat;
pub mod mcollective;
pub mod memcached;
pub mod mysql;
pub mod neutron;
pub mod openstacklib;
pub mod postgresql;
pub mod redis;
pub mod ssh;
pub mod verified;
