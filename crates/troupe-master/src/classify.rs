//! The external node classifier in the routes (`node_terminus = exec`): the node object and
//! the catalog ask it for the node's environment, classes and parameters, on the blocking pool
//! (the classifier is a program and may take its time, within `external_nodes_timeout`).

use std::sync::Arc;
use troupe_compiler::enc::{self, Classification};

use crate::State;

/// What the classifier said about a node.
pub(crate) enum Classified {
    /// No classifier is configured (`node_terminus = plain`).
    Plain,
    /// The classifier printed nothing: it does not know the node.
    Unknown,
    Node(Box<Classification>),
}

/// Runs the classifier for `name`; `Err` carries Puppet's message ("Failed when searching for
/// node ...").
pub(crate) async fn classify(state: &Arc<State>, name: &str) -> Result<Classified, String> {
    let command = match state.config.classifier() {
        Ok(None) => return Ok(Classified::Plain),
        Ok(Some(c)) => c.to_string(),
        Err(e) => return Err(format!("Failed when searching for node {name}: {e}")),
    };
    let timeout = state.config.external_nodes_timeout;
    let node = name.to_string();
    let r = tokio::task::spawn_blocking(move || enc::classify(&command, &node, timeout))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
    match r {
        Ok(Some(c)) => Ok(Classified::Node(Box::new(c))),
        Ok(None) => Ok(Classified::Unknown),
        Err(e) => {
            let msg = format!("Failed when searching for node {name}: {e}");
            tracing::error!(node = name, "{msg}");
            Err(msg)
        }
    }
}

/// The catalog Puppet answers when the classifier puts the node in another environment than
/// the agent asked for (and the agent asked to check): empty, in the classifier's environment,
/// so the agent runs again there.
pub(crate) fn empty_catalog(name: &str, environment: &str, uuid: &str) -> String {
    serde_json::json!({
        "tags": [], "name": name, "version": null, "code_id": null, "catalog_uuid": uuid,
        "catalog_format": 2, "environment": environment, "resources": [], "edges": [],
        "classes": []
    })
    .to_string()
}
