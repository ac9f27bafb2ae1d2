//! puppetserver's administrative API (`/puppet-admin-api/v1/`), as far as troupe has its
//! state: `DELETE environment-cache` forgets the environments kept for their
//! `environment_timeout` (every one, or the one named by `?environment=NAME`), so that the
//! next compile reads the new code. Like puppetserver's default `auth.conf`, only a
//! `pp_cli_auth` certificate may call it (see `auth`).

use crate::respond::{base, error, Resp};
use crate::State;
use hyper::StatusCode;

/// Answers `METHOD /puppet-admin-api/v1/REST`.
pub(crate) fn route(state: &State, method: &str, rest: &str, query: &[(String, String)]) -> Resp {
    match (method, rest) {
        ("DELETE", "environment-cache") => {
            let env = query
                .iter()
                .find(|(k, _)| k == "environment")
                .map(|(_, v)| v.as_str());
            let n = state.cache.flush_environments(env);
            tracing::info!(
                environment = env.unwrap_or("(all)"),
                flushed = n,
                "environment cache flushed"
            );
            base(StatusCode::NO_CONTENT, None, "")
        }
        _ => error(
            StatusCode::NOT_FOUND,
            &format!("No route for {method} /puppet-admin-api/v1/{rest}"),
            "HANDLER_NOT_FOUND",
        ),
    }
}
