//! The master's own HTTP client, for the services it posts to and asks: the `http` report
//! processor's `reporturl` and PuppetDB. HTTP/1.1, TLS with the master's certificate as the
//! client's when the URL is `https`: one request on a new connection (`request`), or many on
//! one kept connection (`Conn`, the PuppetDB sender); callers bound the time. The body of the answer is read up to `MAX_ANSWER`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::sync::Arc;

/// The largest answer read (a PuppetDB query of many exported resources).
pub const MAX_ANSWER: usize = 256 * 1024 * 1024;

/// Where a URL points.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub tls: bool,
    /// `host:port`.
    pub authority: String,
    pub host: String,
    /// The path and query of the URL (`/` when it has none).
    pub path: String,
    /// `Basic ...` from the URL's user and password.
    pub basic: Option<String>,
}

impl Target {
    /// Reads an `http://` or `https://` URL; `setting` names it in errors.
    pub fn parse(url: &str, setting: &str) -> Result<Target, String> {
        let bad = || format!("{setting} = {url}: not an http:// or https:// URL");
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad());
        };
        let (auth, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (basic, hostport) = match auth.rsplit_once('@') {
            Some((user, h)) => (Some(user.to_string()), h),
            None => (None, auth),
        };
        if hostport.is_empty() {
            return Err(bad());
        }
        let port_given = hostport
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
        let host = match hostport.rsplit_once(':') {
            Some((h, _)) if port_given => h.trim_matches(['[', ']']).to_string(),
            _ => hostport.trim_matches(['[', ']']).to_string(),
        };
        let authority = if port_given {
            hostport.to_string()
        } else {
            format!("{hostport}:{}", if tls { 443 } else { 80 })
        };
        let basic = basic.map(|u| {
            let decoded = percent_encoding::percent_decode_str(&u)
                .decode_utf8_lossy()
                .into_owned();
            format!(
                "Basic {}",
                troupe_eval::value::base64_encode(decoded.as_bytes(), false)
            )
        });
        Ok(Target {
            url: url.to_string(),
            tls,
            authority,
            host,
            path: path.to_string(),
            basic,
        })
    }

    /// `scheme://host:port`, as Puppet names a server in messages.
    pub fn base(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.authority
        )
    }
}

/// An open HTTP/1.1 connection to one server, for callers that send many requests in a row
/// (the PuppetDB sender): kept while the server keeps it.
pub struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").finish_non_exhaustive()
    }
}

impl Conn {
    /// Connects (TCP, then TLS when the target is `https`).
    pub async fn open(t: &Target, tls: Option<Arc<rustls::ClientConfig>>) -> Result<Conn, String> {
        let tcp = tokio::net::TcpStream::connect(&t.authority)
            .await
            .map_err(|e| format!("[connect] {e}"))?;
        let _ = tcp.set_nodelay(true);
        match (t.tls, tls) {
            (true, Some(cfg)) => {
                let name = rustls::pki_types::ServerName::try_from(t.host.clone())
                    .map_err(|e| format!("[tls] {e}"))?;
                let s = tokio_rustls::TlsConnector::from(cfg)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("[tls] {e}"))?;
                Conn::handshake(TokioIo::new(s)).await
            }
            (true, None) => Err("[tls] no client TLS configuration".into()),
            (false, _) => Conn::handshake(TokioIo::new(tcp)).await,
        }
    }

    async fn handshake<I>(io: I) -> Result<Conn, String>
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| format!("[http] {e}"))?;
        tokio::spawn(conn);
        Ok(Conn { sender })
    }

    /// Whether the connection can take another request (the server has not closed it).
    pub fn usable(&self) -> bool {
        !self.sender.is_closed() && self.sender.is_ready()
    }

    /// One request on this connection: the answer's status and body.
    pub async fn send(
        &mut self,
        t: &Target,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<(u16, Bytes), String> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("Host", &t.authority);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("[request] {e}"))?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| format!("[http] {e}"))?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| format!("[http] {e}"))?
            .to_bytes();
        Ok((status, body))
    }
}

/// One request on a new connection: the answer's status and body. Errors name the step that
/// failed (`[connect]`, `[tls]`, `[http]`).
pub async fn request(
    t: &Target,
    tls: Option<Arc<rustls::ClientConfig>>,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<(u16, Bytes), String> {
    Conn::open(t, tls)
        .await?
        .send(t, method, path, headers, body)
        .await
}
