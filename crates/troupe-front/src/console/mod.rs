//! The pool console, Apache's `balancer-manager` for troupe: one page (`/troupe/console`) with
//! every master of the pool, its state (`UP`, `DOWN`, `DRAINING`, `DRAINED`, `DISABLED`),
//! weight and charts of the last ten minutes or hour; controls to drain, disable, enable and
//! weigh masters; the CA at a glance (certificate counts, the CRL's next update, pending
//! requests with their fingerprints and extensions) with sign and reject. The same as JSON at
//! `/troupe/console/api` (GET: the state; POST with `Content-Type: application/json`: an
//! action). Only administrators (`auth`) see or act; every action is logged with who did it.
//!
//! `control`: the masters' settings in the pool's store; `history` and `charts`: the charts;
//! `page`: the HTML; `actions`: the posts.

pub(crate) mod actions;
pub mod auth;
pub mod charts;
pub mod control;
pub mod history;
pub(crate) mod page;

use crate::respond::{simple, Resp};
use crate::State;
use hyper::StatusCode;
use serde_json::Value as J;

pub const PATH: &str = "/troupe/console";
pub const FORM_PATH: &str = "/troupe/console/action";
pub const API_PATH: &str = "/troupe/console/api";

/// The CA as the console sees it; the binary provides it (`State::set_ca_console`) where this
/// host can open the CA. Calls block (the console runs them on the blocking pool).
pub trait CaConsole: Send + Sync + std::fmt::Debug {
    /// `{"signed": N, "pending": N, "revoked": N, "crl_next_update": RFC3339, "requests":
    /// [{"name", "fingerprint", "dns_alt_names": [...], "extensions": {...}}]}`.
    fn summary(&self) -> Result<J, String>;
    /// Signs a pending request with the checks of `troupe ca sign`; the answer's text.
    fn sign(&self, name: &str) -> Result<String, String>;
    /// Rejects (deletes) a pending request; the answer's text.
    fn reject(&self, name: &str) -> Result<String, String>;
}

/// Whether the path is the console's.
pub fn is_console(path: &str) -> bool {
    path == PATH || path == FORM_PATH || path == API_PATH
}

pub(crate) fn forbidden(why: &str) -> Resp {
    simple(
        StatusCode::FORBIDDEN,
        "text/plain; charset=utf-8",
        format!("Forbidden: {why}\n"),
    )
}

impl State {
    /// Hands the console the CA (callable from any thread).
    pub fn set_ca_console(&self, ca: std::sync::Arc<dyn CaConsole>) {
        let mut g = match self.ca_console.write() {
            Ok(g) => g,
            Err(e) => e.into_inner(),
        };
        *g = Some(ca);
    }

    pub(crate) fn ca_console(&self) -> Option<std::sync::Arc<dyn CaConsole>> {
        match self.ca_console.read() {
            Ok(g) => g.clone(),
            Err(e) => e.into_inner().clone(),
        }
    }
}

/// The CA's summary, or why there is none.
pub(crate) async fn ca_summary(state: &State) -> J {
    let Some(ca) = state.ca_console() else {
        return serde_json::json!({"error": "this front has no CA to show"});
    };
    match tokio::task::spawn_blocking(move || ca.summary()).await {
        Ok(Ok(j)) => j,
        Ok(Err(e)) => serde_json::json!({ "error": e }),
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    }
}
