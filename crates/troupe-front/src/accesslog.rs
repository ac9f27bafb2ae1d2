//! The access log: Apache's combined format plus TLS protocol and cipher, backend and
//! duration. Fields a client controls are escaped as Apache's mod_log_config escapes them:
//! `"` and `\` get a backslash, `\b \n \r \t \v` their C escapes, and any other byte that is
//! not printable ASCII becomes `\xhh`, so no client can forge or split a field.

use hyper::body::Incoming;
use hyper::Request;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Escapes `bytes` for a log field.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// What is known of a request before it is handled.
#[derive(Debug)]
pub(crate) struct Entry {
    ip: IpAddr,
    user: String,
    line: String,
    referer: String,
    agent: String,
}

fn header_field(req: &Request<Incoming>, name: &str) -> String {
    req.headers()
        .get(name)
        .map_or_else(|| "-".to_string(), |v| escape(v.as_bytes()))
}

impl Entry {
    pub(crate) fn new(req: &Request<Incoming>, ip: IpAddr, user: Option<&str>) -> Entry {
        let line = format!(
            "{} {} {:?}",
            req.method(),
            req.uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/"),
            req.version()
        );
        Entry {
            ip,
            user: user.map_or_else(|| "-".to_string(), |u| escape(u.as_bytes())),
            line: escape(line.as_bytes()),
            referer: header_field(req, "referer"),
            agent: header_field(req, "user-agent"),
        }
    }

    /// The log line once the response is known.
    pub(crate) fn line(
        &self,
        resp: &crate::respond::Resp,
        protocol: &str,
        cipher: &str,
        backend: Option<SocketAddr>,
        took: Duration,
    ) -> String {
        let size = hyper::body::Body::size_hint(resp.body())
            .exact()
            .unwrap_or(0);
        format!(
            "{} - {} [{}] \"{}\" {} {} \"{}\" \"{}\" {} {} {} {}ms",
            self.ip,
            self.user,
            clf_time(),
            self.line,
            resp.status().as_u16(),
            size,
            self.referer,
            self.agent,
            protocol,
            cipher,
            backend.map_or_else(|| "-".to_string(), |b| b.to_string()),
            took.as_millis()
        )
    }
}

/// The access log's time: `26/Nov/2026:21:00:43 +0000`.
fn clf_time() -> String {
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
        t.day(),
        MON[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_as_apache_does() {
        assert_eq!(
            escape(b"a\"b\\c\n\t\x01\xff ok"),
            "a\\\"b\\\\c\\n\\t\\x01\\xff ok"
        );
    }
}
