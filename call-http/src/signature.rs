//! Provider callbacks that cannot be forged.
//!
//! With a provider secret configured, `POST /api/provider/webhook` takes a
//! callback only when it is signed with that secret, in either of two
//! schemes, and otherwise refuses it with 401 before reading it:
//! - Twilio's: `X-Twilio-Signature` is the base64 HMAC-SHA1 of the URL the
//!   provider called followed by each form parameter's name and value,
//!   sorted by name, then by value, each distinct pair once; the secret is
//!   the account's auth token.
//! - callwork's own: `X-Callwork-Signature: sha256=<hex HMAC-SHA256 of the
//!   body>`, the scheme of callwork's own webhooks ([`crate::notify::sign`]).
//!
//! Such a provider cannot send the API key, so with a provider secret the
//! signature is what admits a callback to that route in place of the key.

use axum::http::{HeaderMap, header};
use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use hmac::{Hmac, KeyInit, Mac};
use subtle::ConstantTimeEq;

use crate::notify;

/// Twilio's signature header.
pub const TWILIO_SIGNATURE_HEADER: &str = "x-twilio-signature";

/// The secret provider callbacks are signed with.
#[derive(Clone)]
pub struct ProviderSecret(Vec<u8>);

impl std::fmt::Debug for ProviderSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProviderSecret(..)")
    }
}

impl ProviderSecret {
    /// A secret; `None` when it is empty (an empty key signs for anyone).
    pub fn new(secret: &str) -> Option<ProviderSecret> {
        (!secret.is_empty()).then(|| ProviderSecret(secret.as_bytes().to_vec()))
    }

    /// Whether the callback to `url` with these headers and body carries a
    /// signature made with this secret, in either scheme. Compared in
    /// constant time.
    pub fn verifies(&self, url: &str, headers: &HeaderMap, body: &[u8]) -> bool {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(presented) = header(TWILIO_SIGNATURE_HEADER) {
            let form = header(header::CONTENT_TYPE.as_str())
                .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
            let expected = twilio_signature(&self.0, url, if form { body } else { b"" });
            return same(presented.trim(), &expected);
        }
        if let Some(presented) = header(notify::SIGNATURE_HEADER) {
            return same(presented.trim(), &notify::sign(&self.0, body));
        }
        false
    }
}

/// Twilio's signature of a request to `url` with the form body `form`.
fn twilio_signature(secret: &[u8], url: &str, form: &[u8]) -> String {
    // Each name once, in order, with its distinct values in order, as
    // Twilio's own validators sign them.
    let params: std::collections::BTreeSet<(String, String)> =
        form_urlencoded::parse(form).into_owned().collect();
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(url.as_bytes());
    for (name, value) in &params {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    BASE64.encode(mac.finalize().into_bytes())
}

fn same(presented: &str, expected: &str) -> bool {
    presented.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// The URL a callback was sent to, as the provider signed it: the scheme
/// and host a proxy in front reports (`X-Forwarded-Proto`,
/// `X-Forwarded-Host`), else `http` and `Host`, with the path and query the
/// request came with.
pub(crate) fn called_url(headers: &HeaderMap, path_and_query: &str) -> String {
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let scheme = first("x-forwarded-proto").unwrap_or("http");
    let host = first("x-forwarded-host").or_else(|| first(header::HOST.as_str())).unwrap_or("");
    format!("{scheme}://{host}{path_and_query}")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    /// Twilio's published example: auth token 12345.
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const FORM: &[u8] = b"To=%2B18005551212&From=%2B14158675309&Digits=1234\
                          &CallSid=CA1234567890ABCDE&Caller=%2B14158675309";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn twilio_signatures_match_twilios_published_vectors() {
        assert_eq!(twilio_signature(b"12345", URL, FORM), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        // A repeated name: its distinct values, sorted.
        let repeated = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234";
        assert_eq!(twilio_signature(b"12345", URL, repeated), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
    }

    #[test]
    fn a_callback_is_verified_by_either_scheme_and_nothing_else() {
        let secret = ProviderSecret::new("12345").unwrap();
        let form = ("content-type", "application/x-www-form-urlencoded");
        let twilio = ("x-twilio-signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        let check = |headers: HeaderMap, url: &str, body: &[u8], expected: bool| {
            assert_eq!(secret.verifies(url, &headers, body), expected, "{headers:?} {url}");
        };
        check(headers(&[form, twilio]), URL, FORM, true);
        check(headers(&[form, twilio]), "https://mycompany.com/myapp.php", FORM, false);
        check(headers(&[form, twilio]), URL, b"To=%2B18005551213", false);
        check(
            headers(&[form, ("x-twilio-signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8")]),
            URL,
            FORM,
            false,
        );
        check(headers(&[form]), URL, FORM, false);
        let body = br#"{"id": "prov-1", "status": "ringing"}"#;
        let ours = notify::sign(b"12345", body);
        check(headers(&[("x-callwork-signature", &ours)]), URL, body, true);
        check(headers(&[("x-callwork-signature", &ours)]), URL, b"{}", false);
        let other = notify::sign(b"54321", body);
        check(headers(&[("x-callwork-signature", &other)]), URL, body, false);
        assert!(ProviderSecret::new("").is_none(), "an empty secret is no secret");
    }

    #[test]
    fn the_called_url_is_the_one_a_proxy_was_asked_for() {
        let path = "/api/provider/webhook?x=1";
        let direct = headers(&[("host", "127.0.0.1:4000")]);
        assert_eq!(called_url(&direct, path), "http://127.0.0.1:4000/api/provider/webhook?x=1");
        let proxied = headers(&[
            ("host", "10.0.0.5:4000"),
            ("x-forwarded-proto", "https, http"),
            ("x-forwarded-host", "calls.example.com"),
        ]);
        assert_eq!(
            called_url(&proxied, path),
            "https://calls.example.com/api/provider/webhook?x=1"
        );
    }
}
