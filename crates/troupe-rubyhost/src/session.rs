//! A session: one helper held for one chain of requests. Requests are re-entrant: while
//! troupe answers a callback it may make a nested request on the same session, because the
//! helper serves requests in the same strict stack order.

use crate::helper::Helper;
use crate::{Failure, Pool};
use serde_json::{json, Map, Value as J};
use std::cell::{Cell, RefCell};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What troupe answers while the helper works on a request.
pub trait Callbacks {
    /// A question from the Ruby code (`what`: `call_function`, `call_lambda`, `lookupvar`,
    /// `exist`, `findresource`, `catalog_resources`, `classes`, `variables`), with the
    /// message's other fields. An `Err` is raised in Ruby as a `Puppet::ParseError`.
    fn callback(
        &mut self,
        session: &Session,
        what: &str,
        msg: &Map<String, J>,
    ) -> Result<J, String>;
    /// A log message Puppet's code emitted (`warning`, `notice`, ...).
    fn log(&mut self, level: &str, message: &str);
}

/// One helper for one chain of requests; it goes back to the pool when dropped.
#[derive(Debug)]
pub struct Session {
    pool: Arc<Pool>,
    helper: RefCell<Option<Helper>>,
    next: Cell<u64>,
}

impl Session {
    pub(crate) fn new(pool: Arc<Pool>, helper: Helper) -> Session {
        Session {
            pool,
            helper: RefCell::new(Some(helper)),
            next: Cell::new(0),
        }
    }

    /// The helper's process id (for tests and logs).
    pub fn pid(&self) -> Option<u32> {
        self.helper.borrow().as_ref().map(|h| h.pid)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Helper) -> Result<T, Failure>) -> Result<T, Failure> {
        let mut slot = self.helper.borrow_mut();
        let Some(h) = slot.as_mut() else {
            return Err(Failure::Helper(
                "the Ruby helper of this request failed earlier".into(),
            ));
        };
        let r = f(h);
        if !h.alive() {
            *slot = None;
            self.pool.failures.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    /// Sends `req` (an object with `op` and its fields; the id is added) and serves the
    /// helper's callbacks until its answer arrives.
    pub fn request(&self, mut req: Map<String, J>, cb: &mut dyn Callbacks) -> Result<J, Failure> {
        let id = self.next.get() + 1;
        self.next.set(id);
        req.insert("id".into(), J::from(id));
        self.pool.requests.fetch_add(1, Ordering::Relaxed);
        self.with(|h| {
            h.write(&J::Object(req))?;
            h.busy();
            Ok(())
        })?;
        loop {
            let msg = self.with(|h| h.read())?;
            let op = msg.get("op").and_then(J::as_str).unwrap_or("");
            let mine = msg.get("id").and_then(J::as_u64) == Some(id);
            match op {
                "result" if mine => {
                    self.with(|h| {
                        h.idle();
                        Ok(())
                    })?;
                    return Ok(msg.get("value").cloned().unwrap_or(J::Null));
                }
                "error" if mine => {
                    self.with(|h| {
                        h.idle();
                        Ok(())
                    })?;
                    let s = |k: &str| msg.get(k).and_then(J::as_str).map(str::to_string);
                    return Err(Failure::Raised {
                        class: s("class").unwrap_or_default(),
                        message: s("message").unwrap_or_default(),
                        file: s("file"),
                        line: msg.get("line").and_then(J::as_u64),
                        remote: msg.get("remote").and_then(J::as_bool) == Some(true),
                    });
                }
                "log" => {
                    let s = |k: &str| msg.get(k).and_then(J::as_str).unwrap_or("");
                    cb.log(s("level"), s("message"));
                }
                "callback" => {
                    let cid = msg.get("id").cloned().unwrap_or(J::Null);
                    let what = msg.get("what").and_then(J::as_str).unwrap_or("");
                    self.with(|h| {
                        h.idle();
                        Ok(())
                    })?;
                    let answer = match cb.callback(self, what, &msg) {
                        Ok(v) => json!({"id": cid, "op": "result", "value": v}),
                        Err(m) => json!({"id": cid, "op": "error", "message": m}),
                    };
                    self.with(|h| {
                        h.write(&answer)?;
                        h.busy();
                        Ok(())
                    })?;
                }
                _ => {
                    let broken =
                        |h: &mut Helper| Err(h.broken("the Ruby helper broke the protocol"));
                    return self.with(broken);
                }
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.pool.release(self.helper.get_mut().take());
    }
}
