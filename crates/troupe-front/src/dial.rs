//! Dialing a master: TCP with `connect_timeout`, then TLS (the CA bundle, the front's
//! certificate as client certificate, the master's IP or `backend_server_name` as the name)
//! for an `https://` master.

use crate::backend::Backend;
use crate::{upstream, State};
use tokio::net::TcpStream;

pub(crate) async fn connect(state: &State, b: &Backend) -> Result<upstream::Conn, String> {
    let stream = tokio::time::timeout(state.config.connect_timeout, TcpStream::connect(b.addr))
        .await
        .map_err(|_| "connect timeout".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    if !b.tls {
        return Ok(upstream::Conn::new(Box::new(stream)));
    }
    let cfg = state
        .client_tls
        .clone()
        .ok_or("no TLS client configuration")?;
    let name = match &state.config.backend_server_name {
        Some(n) => rustls::pki_types::ServerName::try_from(n.clone())
            .map_err(|e| format!("server name: {e}"))?,
        None => rustls::pki_types::ServerName::IpAddress(b.addr.ip().into()),
    };
    let tls = tokio::time::timeout(
        state.config.connect_timeout,
        tokio_rustls::TlsConnector::from(cfg).connect(name, stream),
    )
    .await
    .map_err(|_| "TLS handshake timeout".to_string())?
    .map_err(|e| format!("TLS: {e}"))?;
    Ok(upstream::Conn::new(Box::new(tls)))
}
