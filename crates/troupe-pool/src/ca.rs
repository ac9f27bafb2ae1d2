//! The two calls into the CA that depend on where it lives: opening (creating when the store
//! holds none) and importing a Puppet CA directory. With `settings.shared` set the CA is in
//! the store (etcd); otherwise in `settings.cadir`.

use std::path::Path;
use troupe_ca::{Ca, Settings};

use crate::Result;

/// Opens the CA the settings name, creating it when absent.
pub(crate) fn open(settings: Settings) -> Result<Ca> {
    Ok(Ca::open_or_init(settings)?)
}

/// Imports the Puppet CA directory `src` into the CA the settings name (its certificates,
/// serial, inventory and CRL kept; only into an empty etcd store), and opens it.
pub(crate) fn import(settings: Settings, src: &Path) -> Result<Ca> {
    for note in Ca::import_dir(settings.clone(), src)? {
        eprintln!("troupe pool: import: {note}");
    }
    open(settings)
}
