//! `troupe node ctl status|drain|disable|enable|weight MASTER [N]`: the pool console's JSON API
//! (`/troupe/console/api` on the node's front) from the command line. It connects over TLS to
//! the front's first listen address (loopback when it listens on every address), checks the
//! front's certificate against the CA the front uses, and asks from this host's address,
//! which is an admin address by default (`admin`, `admin_allow`).

use super::config::NodeConfig;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value as J};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Args)]
pub struct CtlArgs {
    /// status, drain, disable, enable or weight.
    action: String,
    /// The master: http://ADDR:PORT, ADDR:PORT, or its PORT alone (not for status).
    master: Option<String>,
    /// The weight (0 to 100), for `weight`.
    weight: Option<u32>,
    /// The front to ask, ADDR:PORT (default: the node's front).
    #[arg(long)]
    front: Option<SocketAddr>,
}

/// The front's address, the CA file its certificate is checked with, and the name in it.
fn target(
    c: &NodeConfig,
    front: Option<SocketAddr>,
) -> Result<(SocketAddr, std::path::PathBuf, String)> {
    let f = c
        .front
        .as_ref()
        .ok_or_else(|| anyhow!("{}: this node runs no front", c.file.display()))?;
    let mut addr = front
        .or_else(|| f.config.listen.first().copied())
        .ok_or_else(|| anyhow!("the front has no listen address"))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let cadir_ca = match &c.store_config {
        troupe_store::StoreConfig::Dir { .. } => c
            .master
            .as_ref()
            .and_then(|m| m.config.cadir.clone())
            .map(|d| d.join("ca_crt.pem")),
        _ => None,
    };
    let ca = cadir_ca
        .filter(|p| p.exists())
        .unwrap_or_else(|| f.config.tls.ca.clone());
    let name = CertificateDer::pem_file_iter(&f.config.tls.cert)
        .ok()
        .and_then(|mut it| it.next())
        .and_then(Result::ok)
        .and_then(|der| troupe_ca::cert_cn(der.as_ref()))
        .or_else(|| c.certname.clone())
        .unwrap_or_else(|| "localhost".into());
    Ok((addr, ca, name))
}

/// One HTTP/1.1 exchange over TLS: the status and the body.
async fn exchange(
    addr: SocketAddr,
    ca: &std::path::Path,
    name: &str,
    method: &str,
    body: Option<&J>,
) -> Result<(u16, String)> {
    let mut roots = rustls::RootCertStore::empty();
    for c in
        CertificateDer::pem_file_iter(ca).with_context(|| format!("CA file {}", ca.display()))?
    {
        roots
            .add(c.with_context(|| format!("CA file {}", ca.display()))?)
            .with_context(|| format!("CA file {}", ca.display()))?;
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| anyhow!("connecting to the front at {addr}: timed out"))?
        .with_context(|| format!("connecting to the front at {addr}"))?;
    let server =
        ServerName::try_from(name.to_string()).map_err(|e| anyhow!("server name {name}: {e}"))?;
    let mut s = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(server, tcp)
        .await
        .with_context(|| format!("TLS to the front at {addr}"))?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!(
        "{method} {} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n",
        troupe_front::console::API_PATH
    );
    if body.is_some() {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            payload.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(&payload);
    s.write_all(req.as_bytes()).await?;
    s.flush().await?;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out))
        .await
        .map_err(|_| anyhow!("the front did not answer within 30 s"))?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("not an HTTP answer from {addr}"))?;
    // The front answers with Content-Length (no chunking) on the console.
    Ok((status, body.to_string()))
}

/// The console's name of the master the user gave.
fn resolve(masters: &[J], given: &str) -> Result<String> {
    let names: Vec<&str> = masters
        .iter()
        .filter_map(|m| m["master"].as_str())
        .collect();
    let found: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| {
            *n == given
                || n.split_once("://").is_some_and(|(_, a)| a == given)
                || (given.chars().all(|c| c.is_ascii_digit()) && n.ends_with(&format!(":{given}")))
        })
        .collect();
    match found.as_slice() {
        [one] => Ok(one.to_string()),
        [] => bail!(
            "no master '{given}' at this front (masters: {})",
            names.join(", ")
        ),
        many => bail!("'{given}' names several masters: {}", many.join(", ")),
    }
}

fn print_status(state: &J) {
    println!(
        "{:<32} {:<9} {:>6} {:>9} {:>9}  set by",
        "MASTER", "STATE", "WEIGHT", "IN FLIGHT", "REQUESTS"
    );
    for m in state["masters"].as_array().into_iter().flatten() {
        println!(
            "{:<32} {:<9} {:>6} {:>9} {:>9}  {}",
            m["master"].as_str().unwrap_or(""),
            m["state"].as_str().unwrap_or(""),
            m["weight"].to_string(),
            m["in_flight"].to_string(),
            m["requests"].to_string(),
            m["set_by"].as_str().unwrap_or("")
        );
    }
}

pub fn run(c: &NodeConfig, a: CtlArgs) -> Result<ExitCode> {
    let (addr, ca, name) = target(c, a.front)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (st, body) = exchange(addr, &ca, &name, "GET", None).await?;
        if st != 200 {
            bail!("the front at {addr} answered {st}: {}", body.trim());
        }
        let state: J = serde_json::from_str(&body).context("the console's JSON")?;
        if a.action == "status" {
            print_status(&state);
            return Ok(ExitCode::SUCCESS);
        }
        if !["drain", "disable", "enable", "weight"].contains(&a.action.as_str()) {
            bail!(
                "unknown action '{}': status, drain, disable, enable or weight",
                a.action
            );
        }
        let given = a
            .master
            .as_deref()
            .ok_or_else(|| anyhow!("{}: name the master", a.action))?;
        let master = resolve(
            state["masters"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[]),
            given,
        )?;
        let mut req = json!({"action": a.action, "master": master});
        if a.action == "weight" {
            let w = a
                .weight
                .ok_or_else(|| anyhow!("weight: give the weight (0 to 100)"))?;
            req["weight"] = json!(w);
        }
        let (st, body) = exchange(addr, &ca, &name, "POST", Some(&req)).await?;
        let answer: J = serde_json::from_str(&body).unwrap_or(json!({"message": body.trim()}));
        let msg = answer["message"].as_str().unwrap_or("").to_string();
        if st != 200 {
            eprintln!("troupe node ctl: {msg} (HTTP {st})");
            return Ok(ExitCode::from(1));
        }
        match answer["state"].as_str() {
            Some(s) => println!("{msg}: now {s}"),
            None => println!("{msg}"),
        }
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masters_are_found_by_url_address_or_port() {
        let m = vec![
            json!({"master": "http://127.0.0.1:18140"}),
            json!({"master": "http://127.0.0.1:18141"}),
        ];
        assert_eq!(
            resolve(&m, "18141").expect("port"),
            "http://127.0.0.1:18141"
        );
        assert_eq!(
            resolve(&m, "127.0.0.1:18140").expect("addr"),
            "http://127.0.0.1:18140"
        );
        assert_eq!(
            resolve(&m, "http://127.0.0.1:18140").expect("url"),
            "http://127.0.0.1:18140"
        );
        assert!(resolve(&m, "18142").is_err());
        assert!(resolve(&m, "814").is_err());
    }
}
