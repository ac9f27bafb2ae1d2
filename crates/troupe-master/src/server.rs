//! The connection side of the master: accepting with connection limits, the TLS handshake
//! under a deadline, hyper's HTTP/1.1 with a header deadline, and the loop that keeps the TLS
//! files (certificates, CRL) current and warns before the CRL expires.

use crate::identity::TlsPeer;
use crate::{api, compress, tls, BoxError, State};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;

/// Resolves on SIGTERM or Ctrl-C.
pub async fn stop_signal() {
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    match term {
        Ok(mut t) => {
            tokio::select! {
                _ = t.recv() => tracing::info!("SIGTERM, stopping"),
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

pub async fn serve(
    state: Arc<State>,
    listener: std::net::TcpListener,
    stop: impl Future<Output = ()>,
) -> Result<(), BoxError> {
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    let addr = listener.local_addr()?;
    let tls = if state.config.plain_http {
        None
    } else {
        load_crl(&state);
        Some(Arc::new(RwLock::new(tls::server_config(&state.config)?)))
    };
    tracing::info!(
        "listening on {} ({}), code in {}, {} compile workers",
        addr,
        if tls.is_some() { "https" } else { "http" },
        state.config.codedir.display(),
        state.pool.workers
    );
    let reload = tls
        .as_ref()
        .map(|cfg| tokio::spawn(reload_loop(state.clone(), cfg.clone())));
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let ip = peer.ip().to_canonical();
        let trusted_addr = state
            .config
            .trusted_proxies
            .iter()
            .any(|t| t.to_canonical() == ip);
        let Some(mut slot) = state.limits.admit(ip, trusted_addr) else {
            continue;
        };
        // Over plain HTTP only a trusted proxy speaks for certified clients.
        if tls.is_none() && !trusted_addr && !slot.take_anonymous(&state.limits) {
            continue;
        }
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                Some(cfg) => {
                    let current = match cfg.read() {
                        Ok(c) => c.clone(),
                        Err(_) => return,
                    };
                    let acceptor = tokio_rustls::TlsAcceptor::from(current);
                    let hold = Duration::from_secs(state.config.limits.handshake_timeout.max(1));
                    let Ok(Ok(s)) = tokio::time::timeout(hold, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let generation = state.tls_generation.load(Ordering::SeqCst);
                    let peer_cert = Arc::new(TlsPeer::from_tls(s.get_ref().1, generation));
                    // Clients without a verified certificate share a part of the slots; the
                    // rest is kept for certified ones.
                    if !peer_cert.has_cert() && !slot.take_anonymous(&state.limits) {
                        return;
                    }
                    let _slot = slot;
                    serve_conn(TokioIo::new(s), state, peer, peer_cert).await
                }
                None => {
                    let _slot = slot;
                    let anonymous = Arc::new(TlsPeer::anonymous());
                    serve_conn(TokioIo::new(stream), state, peer, anonymous).await
                }
            }
        });
    }
    if let Some(r) = reload {
        r.abort();
    }
    Ok(())
}

/// Reads the CRL into the state (the text for re-judging open connections, its expiry).
fn load_crl(state: &State) {
    let crl = std::fs::read_to_string(tls::paths(&state.config).crl).unwrap_or_default();
    let next = tls::crl_next_update(&crl).map(|(_, n)| n).unwrap_or(0);
    state.crl_next_update.store(next, Ordering::SeqCst);
    if let Ok(mut w) = state.crl.write() {
        *w = Arc::from(crl);
    }
}

/// How often the reload loop looks at the TLS files: a revocation written by the pool's
/// mirror applies within this.
const RELOAD_POLL: Duration = Duration::from_millis(250);
/// How often the CA's files are copied into the ssldir (local CA; also as soon as the CA's CRL
/// or certificate file changes) and the CRL's expiry checked.
const CA_SYNC_EVERY: Duration = Duration::from_secs(2);
/// How often the CA is asked to re-issue a CRL that is due, on a shared store.
const CRL_REFRESH_EVERY: Duration = Duration::from_secs(60);

/// Keeps the ssldir in step with the CA and rebuilds the TLS configuration when the
/// certificates or the CRL change, so revocations apply without a restart; warns while the
/// CRL is close to expiry and errors once it has expired. On a shared store the pool's mirror
/// writes the files; the CA here only re-issues a CRL that is due.
async fn reload_loop(state: Arc<State>, cfg: Arc<RwLock<Arc<rustls::ServerConfig>>>) {
    let mut last = tls::stamp(&state.config);
    let mut warned: Option<std::time::Instant> = None;
    let shared = state.config.shared.is_some();
    let ca_every = if shared {
        CRL_REFRESH_EVERY
    } else {
        CA_SYNC_EVERY
    };
    let (mut last_check, mut last_ca) = (None::<std::time::Instant>, None::<std::time::Instant>);
    // A local CA's CRL and certificate: a change (a revocation by `troupe ca` or another
    // master) is copied at the next poll, not at the next periodic sync.
    let ca_files: Vec<std::path::PathBuf> = match (&state.config.cadir, shared) {
        (Some(d), false) => vec![d.join("ca_crl.pem"), d.join("ca_crt.pem")],
        _ => vec![],
    };
    let ca_stamp = || -> Vec<Option<std::time::SystemTime>> {
        ca_files
            .iter()
            .map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
            .collect()
    };
    let mut last_ca_stamp = ca_stamp();
    loop {
        if last_check.is_none_or(|t| t.elapsed() >= CA_SYNC_EVERY) {
            last_check = Some(std::time::Instant::now());
            if let Some(msg) = tls::crl_expiry_warning(&tls::paths(&state.config).crl) {
                if warned.is_none_or(|w| w.elapsed() > Duration::from_secs(6 * 3600)) {
                    tracing::warn!("{msg}");
                    warned = Some(std::time::Instant::now());
                }
            } else {
                warned = None;
            }
        }
        tokio::time::sleep(RELOAD_POLL).await;
        let stamp = ca_stamp();
        let ca_changed = stamp != last_ca_stamp;
        if let Some(ca) = state
            .ca
            .clone()
            .filter(|_| ca_changed || last_ca.is_none_or(|t| t.elapsed() >= ca_every))
        {
            last_ca = Some(std::time::Instant::now());
            last_ca_stamp = stamp;
            let config = state.config.clone();
            let r = tokio::task::spawn_blocking(move || {
                if config.shared.is_some() {
                    ca.refresh_crl_if_due()
                        .map(|_| false)
                        .map_err(|e| e.to_string())
                } else {
                    tls::sync_from_ca(&config, &ca).map_err(|e| e.to_string())
                }
            })
            .await;
            if let Ok(Err(e)) = r {
                tracing::error!("cannot sync the CA files: {e}");
            }
        }
        let now = tls::stamp(&state.config);
        if now != last {
            match tls::server_config(&state.config) {
                Ok(c) => {
                    if let Ok(mut w) = cfg.write() {
                        *w = c;
                    }
                    load_crl(&state);
                    state.tls_generation.fetch_add(1, Ordering::SeqCst);
                    tracing::info!("TLS certificates or CRL changed; reloaded");
                    last = now;
                }
                Err(e) => tracing::error!("cannot reload TLS: {e}"),
            }
        }
    }
}

async fn serve_conn<I>(io: I, state: Arc<State>, peer: SocketAddr, tls_peer: Arc<TlsPeer>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let header_timeout = Duration::from_secs(state.config.limits.header_read_timeout.max(1));
    let svc = service_fn(move |req| {
        let state = state.clone();
        let tls_peer = tls_peer.clone();
        let gzip = compress::accepts_gzip(req.headers().get(hyper::header::ACCEPT_ENCODING));
        let head = req.method() == hyper::Method::HEAD;
        async move {
            let resp = api::handle(state, peer, &tls_peer, req).await;
            Ok::<_, Infallible>(compress::encode(gzip, head, resp).await)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true)
        .serve_connection(io, svc)
        .await;
}
