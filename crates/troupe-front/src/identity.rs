//! Identity headers: only the front may tell a master who the client is.
//!
//! The front sets `X-Client-Verify`, `X-Client-DN` and `X-Client-Cert` from its own TLS layer;
//! any header a client sent that a master (or a CGI/Rack back end, which maps `X-Client-DN`,
//! `X_Client_DN` and `x-client_dn` all to `HTTP_X_CLIENT_DN`) could read as identity is
//! dropped. Names are compared without regard to case, and `_` counts as `-`.

/// Whether a client-sent header named `name` is one the front must drop: the `X-Client-*`
/// identity headers, every `SSL-*` / `X-SSL-*` header (mod_ssl's `SSL_CLIENT_S_DN`,
/// `SSL_CLIENT_VERIFY`, `SSL_CLIENT_CERT` and the rest, as headers or CGI-style names), and
/// `X-Forwarded-Client-Cert`.
pub fn is_identity_header(name: &str) -> bool {
    let n: String = name
        .chars()
        .map(|c| match c {
            '_' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    // A CGI-style spelling of a header (`HTTP_X_CLIENT_DN`) is judged as the header.
    let n = n.strip_prefix("http-").unwrap_or(&n);
    matches!(
        n,
        "x-client-verify" | "x-client-dn" | "x-client-cert" | "x-forwarded-client-cert"
    ) || n.starts_with("x-client-cert-")
        || n.starts_with("ssl-")
        || n.starts_with("x-ssl-")
}

#[cfg(test)]
mod tests {
    use super::is_identity_header;

    #[test]
    fn every_spelling_of_an_identity_header_is_dropped() {
        for n in [
            "x-client-verify",
            "X-Client-DN",
            "X_Client_DN",
            "x_client_verify",
            "x-client_cert",
            "SSL_CLIENT_S_DN",
            "SSL_CLIENT_VERIFY",
            "SSL_CLIENT_CERT",
            "ssl-client-cert",
            "SSL_CLIENT_S_DN_CN",
            "X-SSL-Client-DN",
            "x_ssl_client_verify",
            "HTTP_X_CLIENT_DN",
            "X-Forwarded-Client-Cert",
        ] {
            assert!(is_identity_header(n), "{n} passes");
        }
        for n in [
            "content-type",
            "x-client",
            "x-clientdn",
            "x-puppet-version",
            "accept",
            "sslx",
        ] {
            assert!(!is_identity_header(n), "{n} is dropped");
        }
    }
}
