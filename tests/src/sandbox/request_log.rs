//! The log of requests the sandbox received, so tests can check what the CLI sent (or that
//! it sent nothing). Control routes (`/_sandbox/...`) are not logged.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

/// Whether the request carried the sandbox's API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyCheck {
    /// No `Authorization` or `x-api-key` header.
    Missing,
    /// A key or token was sent, but not the sandbox's key.
    Invalid,
    /// The sandbox's key was sent (as a bearer token or `x-api-key`).
    Valid,
}

/// One received request, as `GET /_sandbox/requests` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// Arrival order, from 1.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Path with its query string, as received.
    pub path: String,
    /// Headers with lower-case names; several values of one header are joined with `, `.
    /// `authorization` and `x-api-key` values are redacted (`Bearer ***`, `***`).
    pub headers: BTreeMap<String, String>,
    /// Whether the sandbox's API key was sent.
    pub api_key: KeyCheck,
    /// The body as UTF-8 (invalid sequences replaced).
    pub body: String,
    /// The body's exact length in bytes.
    pub body_len: usize,
    /// The body in standard base64, present only when it is not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// The status answered; `null` while the request is in flight or when the connection
    /// was dropped.
    pub status: Option<u16>,
}

/// Requests received so far.
#[derive(Default)]
pub(crate) struct RequestLog {
    inner: Mutex<LogInner>,
}

#[derive(Default)]
struct LogInner {
    next_seq: u64,
    entries: Vec<LoggedRequest>,
}

impl RequestLog {
    /// Records a request and returns its sequence number.
    pub fn record(
        &self,
        method: &str,
        path: &str,
        headers: &HeaderMap,
        api_key: KeyCheck,
        body: &[u8],
    ) -> u64 {
        let mut inner = self.lock();
        inner.next_seq += 1;
        let seq = inner.next_seq;
        let body_base64 = match std::str::from_utf8(body) {
            Ok(_) => None,
            Err(_) => Some(base64(body)),
        };
        inner.entries.push(LoggedRequest {
            seq,
            method: method.to_owned(),
            path: path.to_owned(),
            headers: redacted_headers(headers),
            api_key,
            body: String::from_utf8_lossy(body).into_owned(),
            body_len: body.len(),
            body_base64,
            status: None,
        });
        seq
    }

    /// Notes the status answered to request `seq`.
    pub fn set_status(&self, seq: u64, status: u16) {
        let mut inner = self.lock();
        if let Some(entry) = inner.entries.iter_mut().find(|entry| entry.seq == seq) {
            entry.status = Some(status);
        }
    }

    pub fn snapshot(&self) -> Vec<LoggedRequest> {
        self.lock().entries.clone()
    }

    pub fn clear(&self) {
        self.lock().entries.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogInner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn redacted_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let name = name.as_str().to_ascii_lowercase();
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let value = match name.as_str() {
            "authorization" => match value.split_once(' ') {
                Some((scheme, _)) => format!("{scheme} ***"),
                None => "***".to_owned(),
            },
            "x-api-key" => "***".to_owned(),
            _ => value,
        };
        out.entry(name)
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xff, 0xfe, 0x00, 0x01]), "//4AAQ==");
    }

    #[test]
    fn secrets_are_redacted() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer ik_secret".parse().unwrap());
        headers.insert("x-api-key", "ik_secret".parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        let log = RequestLog::default();
        let seq = log.record("POST", "/api/x?y=1", &headers, KeyCheck::Valid, b"{}");
        log.set_status(seq, 200);
        let entry = &log.snapshot()[0];
        assert_eq!(entry.headers["authorization"], "Bearer ***");
        assert_eq!(entry.headers["x-api-key"], "***");
        assert_eq!(entry.headers["content-type"], "application/json");
        assert_eq!(entry.status, Some(200));
        assert!(entry.body_base64.is_none());
    }
}
