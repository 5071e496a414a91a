//! Scripted faults: answers the sandbox gives instead of the real ones, for the next N
//! matching requests. Loaded from `--faults FILE` and `POST /_sandbox/faults`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One scripted fault. In JSON:
/// `{"method":"GET","path":"/api/database/tables","status":503,"body":{...},"headers":{..},
/// "delay_ms":0,"drop":false,"times":1}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// HTTP method to match, or `*` for any.
    #[serde(default = "any_method")]
    pub method: String,
    /// Path to match exactly (no query string); a trailing `*` matches any path with that
    /// prefix.
    pub path: String,
    /// Status to answer with. Without one (and without `drop`) the request goes on to the
    /// real route after the delay.
    #[serde(default)]
    pub status: Option<u16>,
    /// Body to answer with: a JSON string is sent as plain text, anything else as JSON.
    #[serde(default)]
    pub body: Option<Value>,
    /// Extra response headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Wait this long before answering (or dropping, or passing the request on).
    #[serde(default)]
    pub delay_ms: u64,
    /// Close the connection without answering.
    #[serde(default)]
    pub drop: bool,
    /// How many matching requests this fault applies to; `null` means every one.
    #[serde(default = "once")]
    pub times: Option<u64>,
}

fn any_method() -> String {
    "*".to_owned()
}

fn once() -> Option<u64> {
    Some(1)
}

impl Fault {
    /// A fault answering `status` with `body` once, for any method on `path`.
    pub fn answer(path: impl Into<String>, status: u16, body: Value) -> Self {
        Self {
            method: any_method(),
            path: path.into(),
            status: Some(status),
            body: Some(body),
            headers: BTreeMap::new(),
            delay_ms: 0,
            drop: false,
            times: once(),
        }
    }

    /// A fault closing the connection once, for any method on `path`.
    pub fn drop_connection(path: impl Into<String>) -> Self {
        Self {
            status: None,
            body: None,
            drop: true,
            ..Self::answer(path, 0, Value::Null)
        }
    }

    /// A fault that holds the next request on `path` for `delay`, then lets the real route
    /// answer it.
    pub fn slow(path: impl Into<String>, delay: Duration) -> Self {
        Self {
            status: None,
            body: None,
            ..Self::answer(path, 0, Value::Null)
        }
        .delay(delay)
    }

    /// Restricts the fault to one method.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = method.into();
        self
    }

    /// Applies the fault to the next `times` matching requests (`None`: all of them).
    pub fn times(mut self, times: Option<u64>) -> Self {
        self.times = times;
        self
    }

    /// Waits this long first.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Checks what serde cannot: a usable status, method and header names.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(status) = self.status {
            StatusCode::from_u16(status)
                .map_err(|_| format!("fault for {}: invalid status {status}", self.path))?;
        }
        if self.method != "*" && axum::http::Method::from_bytes(self.method.as_bytes()).is_err() {
            return Err(format!(
                "fault for {}: invalid method {:?}",
                self.path, self.method
            ));
        }
        if !self.path.starts_with('/') {
            return Err(format!("fault path must start with '/': {:?}", self.path));
        }
        for (name, value) in &self.headers {
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("fault for {}: invalid header name {name:?}", self.path))?;
            HeaderValue::from_str(value)
                .map_err(|_| format!("fault for {}: invalid header value {value:?}", self.path))?;
        }
        Ok(())
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        let method_ok = self.method == "*" || self.method.eq_ignore_ascii_case(method);
        let path_ok = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => self.path == path,
        };
        method_ok && path_ok
    }

    /// The answer this fault gives, when it gives one.
    pub(crate) fn response(&self) -> Option<Response> {
        let status = StatusCode::from_u16(self.status?).ok()?;
        let mut response = match &self.body {
            Some(Value::String(text)) => {
                let mut response = (status, text.clone()).into_response();
                response.headers_mut().insert(
                    axum::http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                response
            }
            Some(body) => super::errors::json_response(status, body),
            None => status.into_response(),
        };
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                response.headers_mut().insert(name, value);
            }
        }
        Some(response)
    }
}

/// Parses a JSON array of faults (the `--faults` file and the control route's body; a single
/// object is accepted too).
pub fn parse_faults(text: &str) -> Result<Vec<Fault>, String> {
    let value: Value = serde_json::from_str(text).map_err(|err| err.to_string())?;
    let faults: Vec<Fault> = match value {
        Value::Array(_) => serde_json::from_value(value).map_err(|err| err.to_string())?,
        Value::Object(_) => vec![serde_json::from_value(value).map_err(|err| err.to_string())?],
        _ => return Err("expected a JSON array of faults".to_owned()),
    };
    for fault in &faults {
        fault.validate()?;
    }
    Ok(faults)
}

/// The faults still to fire, in the order they were added.
#[derive(Default)]
pub(crate) struct FaultStore {
    faults: Mutex<Vec<Fault>>,
}

impl FaultStore {
    pub fn add(&self, faults: Vec<Fault>) {
        self.lock().extend(faults);
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn list(&self) -> Vec<Fault> {
        self.lock().clone()
    }

    /// The first fault matching the request, counted as used once.
    pub fn take(&self, method: &str, path: &str) -> Option<Fault> {
        let mut faults = self.lock();
        let index = faults
            .iter()
            .position(|fault| fault.matches(method, path))?;
        let fault = faults[index].clone();
        match &mut faults[index].times {
            Some(left) if *left <= 1 => {
                faults.remove(index);
            }
            Some(left) => *left -= 1,
            None => {}
        }
        Some(fault)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_times() {
        let faults =
            parse_faults(r#"[{"path":"/api/database/tables","status":503,"times":2}]"#).unwrap();
        assert_eq!(faults[0].method, "*");
        let store = FaultStore::default();
        store.add(faults);
        assert!(store.take("GET", "/api/database/tables").is_some());
        assert!(store.take("POST", "/api/database/tables").is_some());
        assert!(store.take("GET", "/api/database/tables").is_none());
    }

    #[test]
    fn null_times_is_forever_and_method_filters() {
        let store = FaultStore::default();
        store.add(
            parse_faults(r#"[{"method":"POST","path":"/x*","drop":true,"times":null}]"#).unwrap(),
        );
        assert!(store.take("GET", "/x/y").is_none());
        for _ in 0..5 {
            assert!(store.take("post", "/x/y").is_some());
        }
    }

    #[test]
    fn rejects_bad_entries() {
        assert!(parse_faults(r#"[{"path":"/x","status":42}]"#).is_err());
        assert!(parse_faults(r#"[{"path":"x"}]"#).is_err());
        assert!(parse_faults(r#"[{"path":"/x","bogus":1}]"#).is_err());
        assert!(parse_faults(r#""nope""#).is_err());
    }
}
