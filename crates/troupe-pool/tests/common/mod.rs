//! The etcd cluster and temp-dir helpers of `troupe_store::testing` (the `testing` feature).

#![allow(unused_imports)]

pub use troupe_store::testing::*;
