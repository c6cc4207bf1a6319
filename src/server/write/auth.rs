//! Who may write: a bearer token when one is configured, else loopback clients only.

use std::net::IpAddr;

use subtle::ConstantTimeEq;

use crate::server::error::ApiError;

/// Decide whether a write may proceed. `authorization` is the header value, `peer` the
/// client's address (`None` when unknown, which counts as not loopback). The scheme is
/// matched without regard to case, as RFC 9110 asks; the token is compared in constant time.
///
/// # Errors
/// 401 for a missing or wrong token when one is configured; 403 for a non-loopback client
/// when none is.
pub fn authorize(
    token: Option<&str>,
    authorization: Option<&str>,
    peer: Option<IpAddr>,
) -> Result<(), ApiError> {
    match token {
        Some(token) => {
            let Some(given) = authorization.and_then(bearer_token) else {
                return Err(ApiError::Unauthorized(
                    "writes need an 'Authorization: Bearer <token>' header".into(),
                ));
            };
            if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
                Ok(())
            } else {
                Err(ApiError::Unauthorized("the bearer token is wrong".into()))
            }
        }
        None if peer.is_some_and(|ip| ip.is_loopback()) => Ok(()),
        None => Err(ApiError::Forbidden(
            "writes are accepted from this machine only; set DOWNLINK_WRITE_TOKEN to allow remote writers"
                .into(),
        )),
    }
}

/// The token of an `Authorization: Bearer <token>` value, whatever the scheme's case.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_auth_matrix() {
        let loopback: Option<IpAddr> = Some("127.0.0.1".parse().unwrap());
        let loopback6: Option<IpAddr> = Some("::1".parse().unwrap());
        let remote: Option<IpAddr> = Some("192.0.2.7".parse().unwrap());
        let status = |r: Result<(), ApiError>| r.map_or_else(|e| e.status().as_u16(), |()| 200);
        // (token, header, peer) -> status
        let cases = [
            (None, None, loopback, 200),
            (None, None, loopback6, 200),
            (None, None, remote, 403),
            (None, None, None, 403),
            (None, Some("Bearer anything"), remote, 403),
            (Some("s3cret"), None, loopback, 401),
            (Some("s3cret"), None, remote, 401),
            (Some("s3cret"), Some("Bearer s3cret"), loopback, 200),
            (Some("s3cret"), Some("Bearer s3cret"), remote, 200),
            (Some("s3cret"), Some("bearer s3cret"), remote, 200),
            (Some("s3cret"), Some("BEARER  s3cret "), remote, 200),
            (Some("s3cret"), Some("Bearer wrong"), remote, 401),
            (Some("s3cret"), Some("Bearer wrong"), loopback, 401),
            (Some("s3cret"), Some("Bearer "), remote, 401),
            (Some("s3cret"), Some("Basic s3cret"), remote, 401),
            (Some("s3cret"), Some("Bearers3cret"), remote, 401),
            (Some("s3cret"), Some("Bearer s3cret2"), remote, 401),
        ];
        for (token, header, peer, want) in cases {
            assert_eq!(
                status(authorize(token, header, peer)),
                want,
                "token={token:?} header={header:?} peer={peer:?}"
            );
        }
    }
}
