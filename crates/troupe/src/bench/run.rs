//! One simulated agent run: a new TLS connection with the agent's certificate, then the
//! requests an agent makes, in its order: the node object, the plugin sync's
//! `file_metadatas` (pluginfacts, plugins), the catalog (POST, with its facts) and the report.

use anyhow::{anyhow, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::identities::Identity;
use super::AgentArgs;

/// What every run shares.
pub(super) struct Plan {
    server: String,
    server_name: ServerName<'static>,
    environment: String,
    /// Each agent's facts, made once (its names and address) and encoded as the agent sends
    /// them: JSON escaped once more, then form-encoded.
    facts: Vec<String>,
    ids: Vec<Identity>,
    timeout: Duration,
}

/// The catalog's `version` (its first `"version":` key: the catalog's own comes before its
/// resources, in troupe's and in puppetserver's), read without parsing the whole catalog.
fn catalog_version(cat: &[u8]) -> serde_json::Value {
    const KEY: &[u8] = b"\"version\":";
    cat.windows(KEY.len())
        .position(|w| w == KEY)
        .and_then(|at| {
            serde_json::Deserializer::from_slice(&cat[at + KEY.len()..])
                .into_iter::<serde_json::Value>()
                .next()?
                .ok()
        })
        .unwrap_or(serde_json::Value::Null)
}

/// An HTTP/1.1 connection over TLS; opened again (a new handshake, as the agent makes) when
/// the server closed it after an answer.
pub(super) struct Conn {
    send: SendRequest<Full<Bytes>>,
    server: String,
    host: String,
    name: ServerName<'static>,
    tls: Arc<rustls::ClientConfig>,
}

impl Conn {
    pub(super) async fn open(
        server: &str,
        name: &ServerName<'static>,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Conn> {
        let send = Conn::connect(server, name, tls.clone()).await?;
        // The Host header names the server as the agent does (its name and port), not the
        // address connected to: Jetty refuses a Host that differs from the TLS SNI.
        let port = server.rsplit_once(':').map(|(_, p)| p).unwrap_or("8140");
        let host = match name {
            ServerName::DnsName(d) => format!("{}:{port}", d.as_ref()),
            _ => server.to_string(),
        };
        Ok(Conn {
            send,
            server: server.to_string(),
            host,
            name: name.clone(),
            tls,
        })
    }

    async fn connect(
        server: &str,
        name: &ServerName<'static>,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<SendRequest<Full<Bytes>>> {
        let tcp = TcpStream::connect(server)
            .await
            .map_err(|e| anyhow!("connect: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let stream = TlsConnector::from(tls)
            .connect(name.clone(), tcp)
            .await
            .map_err(|e| anyhow!("tls: {e}"))?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| anyhow!("http: {e}"))?;
        tokio::spawn(conn);
        Ok(send)
    }

    /// One request; the status and the body (decompressed when gzip).
    pub(super) async fn call(
        &mut self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(u16, Bytes)> {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("Host", &self.host)
            .header(
                "Accept",
                "application/vnd.puppet.rich+json, application/json",
            )
            .header("Accept-Encoding", "gzip;q=1.0,deflate;q=0.6,identity;q=0.3")
            .header("User-Agent", "Puppet/7.23.0 Ruby/3.1 (troupe bench)")
            .header("X-Puppet-Version", "7.23.0");
        if let Some(ct) = content_type {
            b = b.header("Content-Type", ct);
        }
        let req = b.body(Full::new(Bytes::from(body)))?;
        if self.send.ready().await.is_err() {
            self.send = Conn::connect(&self.server, &self.name, self.tls.clone()).await?;
            self.send.ready().await.map_err(|e| anyhow!("http: {e}"))?;
        }
        let resp = self
            .send
            .send_request(req)
            .await
            .map_err(|e| anyhow!("http: {e}"))?;
        let status = resp.status().as_u16();
        let gz = resp
            .headers()
            .get("content-encoding")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| anyhow!("http body: {e}"))?
            .to_bytes();
        let body = if gz {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut out)
                .map_err(|e| anyhow!("gzip: {e}"))?;
            Bytes::from(out)
        } else {
            body
        };
        Ok((status, body))
    }
}

fn form(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl Plan {
    pub(super) fn new(
        a: &AgentArgs,
        server_name: String,
        facts: serde_json::Value,
        ids: Vec<Identity>,
    ) -> Result<Plan> {
        let server_name = ServerName::try_from(server_name.clone())
            .map_err(|_| anyhow!("--server-name {server_name}: not a host name"))?;
        let facts = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let f = serde_json::json!({"name": id.name, "values": facts_of(&facts, &id.name, i as u64)});
                form(&form(&f.to_string()))
            })
            .collect();
        Ok(Plan {
            server: a.server.clone(),
            server_name,
            environment: a.environment.clone(),
            facts,
            ids,
            timeout: Duration::from_secs_f64(a.timeout),
        })
    }

    /// Run number `seq`: its agent is one of the identities, in turn.
    pub(super) async fn agent_run(&self, seq: u64) -> Result<()> {
        let i = (seq % self.ids.len() as u64) as usize;
        match tokio::time::timeout(self.timeout, self.steps(&self.ids[i], &self.facts[i], seq))
            .await
        {
            Ok(r) => r,
            Err(_) => Err(anyhow!("timeout")),
        }
    }

    async fn steps(&self, id: &Identity, facts: &str, seq: u64) -> Result<()> {
        let env = &self.environment;
        let name = &id.name;
        let uuid = uuid(seq);
        let mut c = Conn::open(&self.server, &self.server_name, id.tls.clone()).await?;
        let q = format!("environment={env}&configured_environment={env}&transaction_uuid={uuid}");
        expect(
            c.call(
                Method::GET,
                &format!("/puppet/v3/node/{name}?{q}"),
                None,
                vec![],
            )
            .await?,
            "node",
        )?;
        for mount in ["pluginfacts", "plugins"] {
            let p = format!(
                "/puppet/v3/file_metadatas/{mount}?recurse=true&max_files=-1&ignore=.svn&ignore=CVS&ignore=.git&ignore=.hg&links=follow&checksum_type=sha256&source_permissions=use&environment={env}"
            );
            expect(
                c.call(Method::GET, &p, None, vec![]).await?,
                "file_metadatas",
            )?;
        }
        let body = format!(
            "environment={env}&facts_format=application%2Fjson&facts={facts}&transaction_uuid={uuid}&static_catalog=true&checksum_type=sha256&configured_environment={env}&check_environment=true"
        );
        let cat = c
            .call(
                Method::POST,
                &format!("/puppet/v3/catalog/{name}?environment={env}"),
                Some("application/x-www-form-urlencoded"),
                body.into_bytes(),
            )
            .await?;
        let cat = expect(cat, "catalog")?;
        let version = catalog_version(&cat);
        let report = report(name, env, &uuid, version);
        expect(
            c.call(
                Method::PUT,
                &format!("/puppet/v3/report/{name}?environment={env}"),
                Some("application/json"),
                report.into_bytes(),
            )
            .await?,
            "report",
        )?;
        Ok(())
    }
}

/// The facts of one agent: the template with its own names and addresses.
fn facts_of(template: &serde_json::Value, name: &str, seq: u64) -> serde_json::Value {
    let mut f = template.clone();
    if let Some(o) = f.as_object_mut() {
        let host = name.split('.').next().unwrap_or(name);
        let ip = format!(
            "10.{}.{}.{}",
            (seq >> 16) & 255,
            (seq >> 8) & 255,
            seq & 255
        );
        o.insert("hostname".into(), host.into());
        o.insert("fqdn".into(), name.into());
        o.insert("clientcert".into(), name.into());
        o.insert("ipaddress".into(), ip.clone().into());
        if let Some(n) = o.get_mut("networking").and_then(|n| n.as_object_mut()) {
            n.insert("hostname".into(), host.into());
            n.insert("fqdn".into(), name.into());
            n.insert("ip".into(), ip.into());
        }
    }
    f
}

fn expect((status, body): (u16, Bytes), what: &str) -> Result<Bytes> {
    if status == 200 {
        return Ok(body);
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    Err(anyhow!("{what} {status}: {text}"))
}

/// A v4-shaped UUID, unique per run.
fn uuid(seq: u64) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (t >> 32) as u32,
        (t >> 16) as u16,
        t as u16 & 0xfff,
        (seq >> 48) as u16 & 0xfff,
        seq & 0xffff_ffff_ffff
    )
}

/// A report of an unchanged run, as an agent sends it (format 12, with its metrics).
fn report(name: &str, env: &str, uuid: &str, version: serde_json::Value) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let time = iso8601(now.as_secs() as i64);
    serde_json::json!({
        "host": name, "time": time, "configuration_version": version,
        "transaction_uuid": uuid, "report_format": 12, "puppet_version": "7.23.0",
        "status": "unchanged", "transaction_completed": true, "noop": false,
        "noop_pending": false, "environment": env, "corrective_change": false,
        "catalog_uuid": uuid, "cached_catalog_status": "not_used",
        "logs": [{"level": "notice", "message": "Applied catalog in 0.02 seconds",
                  "source": "Puppet", "tags": ["notice"], "time": time}],
        "metrics": {
            "resources": {"name": "resources", "label": "Resources", "values": [
                ["total", "Total", 10], ["changed", "Changed", 0], ["failed", "Failed", 0]]},
            "time": {"name": "time", "label": "Time", "values": [
                ["catalog_application", "Catalog application", 0.02], ["total", "Total", 0.9]]},
            "changes": {"name": "changes", "label": "Changes", "values": [["total", "Total", 0]]},
            "events": {"name": "events", "label": "Events", "values": [["total", "Total", 0]]}
        },
        "resource_statuses": {}
    })
    .to_string()
}

/// `YYYY-MM-DDTHH:MM:SS.000000000+00:00` for seconds since the epoch.
fn iso8601(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = troupe_eval::time::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000000000+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso8601_dates() {
        assert_eq!(super::iso8601(0), "1970-01-01T00:00:00.000000000+00:00");
        assert_eq!(
            super::iso8601(1_796_408_957),
            "2026-12-04T18:29:17.000000000+00:00"
        );
        assert_eq!(
            super::iso8601(951_782_400),
            "2000-02-29T00:00:00.000000000+00:00"
        );
    }

    #[test]
    fn the_catalog_version_is_read_from_its_first_version_key() {
        use serde_json::json;
        let v = |t: &str| super::catalog_version(t.as_bytes());
        assert_eq!(
            v(
                r#"{"tags":["version"],"name":"n","version":1733,"code_id":null,"resources":[{"parameters":{"version":"x"}}]}"#
            ),
            json!(1733)
        );
        assert_eq!(v(r#"{"name":"n","version":"abc-1","x":1}"#), json!("abc-1"));
        assert_eq!(v(r#"{"name":"n"}"#), json!(null));
        assert_eq!(v(r#"{"version":"#), json!(null));
    }
}
