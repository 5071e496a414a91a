//! Turning failed answers and transport failures into errors the user can act on.
//!
//! One place decides, for every plugin, how an HTTP status maps to an exit code: 401 → not
//! authenticated, 403 → permission denied, a 404 naming a resource → not found, a 404 for a route
//! the backend lacks → general, everything else → general. The body decides the 404 case: the
//! backend answers a route miss with the code `NOT_FOUND`, and a missing resource with a specific
//! `*_NOT_FOUND` code (or, for function invocation, no code at all).

use insforge_plugin_api::abi::Target;
use serde_json::Value;

use crate::error::{CliError, Kind};

/// The error for a non-2xx answer from `target`.
pub fn http_error(target: Target, status: u16, body: &[u8]) -> CliError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| -> Option<String> {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
    };
    let code = field("error");
    // OAuth errors use `error_description`; PostgREST uses `message` with a `code`.
    let message = field("message")
        .or_else(|| field("error_description"))
        .or_else(|| code.clone())
        .unwrap_or_else(|| format!("request failed with HTTP status {status}"));
    let next_actions = field("nextActions");
    // The backend names a missing route `NOT_FOUND` and a missing resource `*_NOT_FOUND`; the
    // platform answers `NOT_FOUND` for a missing project or organisation too, so only the
    // backend's convention decides.
    let route_miss = status == 404
        && target != Target::PLATFORM
        && (parsed.is_none() || code.as_deref() == Some("NOT_FOUND"));
    // The platform has no documented route-miss answer; a page that is not JSON, or the
    // `Endpoint <path> not found` wording of InsForge servers, means the URL is not the
    // platform's (a wrong --api-url), not that a named thing is missing.
    let platform_miss = status == 404
        && target == Target::PLATFORM
        && (parsed.is_none() || message.starts_with("Endpoint "));

    let kind = match status {
        401 => Kind::NotAuthenticated,
        403 => Kind::PermissionDenied,
        404 if route_miss || platform_miss => Kind::Http,
        404 => Kind::NotFound,
        _ => Kind::Http,
    };
    let mut err = if route_miss {
        CliError::new(kind, format!("not available on this backend: {message}"))
            .with_hint("upgrade the backend, or check the project's URL with `insforge current`")
    } else if platform_miss {
        CliError::new(
            kind,
            format!("not a route of the InsForge platform: {message}"),
        )
        .with_hint(
            "check --api-url, INSFORGE_API_URL and platform_api_url in ~/.insforge/config.json",
        )
    } else {
        CliError::new(kind, message)
    };
    if let Some(next) = next_actions {
        err = err.with_hint(next);
    }
    if status == 401 {
        err = err.with_hint(match target {
            Target::PLATFORM => "log in again (`insforge login`)",
            _ => "check the project's API key (`insforge link`)",
        });
    }
    if let Some(hint) = server_error_hint(status) {
        err = err.with_hint(hint);
    }
    // The backend's `error` is a machine code (`AUTH_INVALID_API_KEY`); the platform's is a
    // word (`Unauthorized`), so its errors carry the documented codes of their kind.
    match code {
        Some(code) if target != Target::PLATFORM => err.with_code(code),
        _ => err,
    }
}

/// Context for a 5xx answer, whose message alone may be terse (`kaput`) or only a code. A 500 is
/// often for good (the backend answers a SQL runtime error such as a division by zero with 500),
/// so it is not called temporary; the other 5xx (a gateway, an unavailable or overloaded server)
/// usually are.
fn server_error_hint(status: u16) -> Option<String> {
    match status {
        500 => Some("the server answered HTTP 500".to_owned()),
        501..=599 => Some(format!(
            "the server answered HTTP {status}; this is usually temporary, try again"
        )),
        _ => None,
    }
}

/// The error for a request that never got an answer.
pub fn transport_error(err: &reqwest::Error, url: &str) -> CliError {
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_owned(),
            })
        })
        .unwrap_or_else(|| url.to_owned());
    let io_kind = io_error_kind(err);
    let message = if err.is_timeout() {
        format!("Connection to {host} timed out. Check your network, VPN, or proxy settings.")
    } else if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
        format!("Connection to {host} refused. The server may be down or blocked by a firewall.")
    } else if matches!(
        io_kind,
        Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted)
    ) || err.is_body()
        || err.is_decode()
    {
        format!("Connection to {host} was reset. A proxy, VPN, or firewall may be interfering.")
    } else if is_dns_failure(err) {
        format!(
            "Cannot resolve {host} (DNS lookup failed). Check your internet connection or DNS settings."
        )
    } else {
        format!("Network error contacting {host}: {}", root_cause(err))
    };
    CliError::new(Kind::Network, message)
}

fn io_error_kind(err: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = e.source();
    }
    None
}

fn is_dns_failure(err: &reqwest::Error) -> bool {
    let text = root_cause(err).to_ascii_lowercase();
    err.is_connect() && (text.contains("dns") || text.contains("failed to lookup"))
}

fn root_cause(err: &reqwest::Error) -> String {
    let mut source: &(dyn std::error::Error + 'static) = err;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, body: &str) -> CliError {
        http_error(Target::BACKEND, status, body.as_bytes())
    }

    #[test]
    fn platform_errors_use_the_documented_codes_and_a_route_miss_names_the_url() {
        let e = http_error(
            Target::PLATFORM,
            401,
            br#"{"error":"Unauthorized","message":"Invalid or expired token"}"#,
        );
        assert_eq!(e.json_code(), "AUTH_ERROR");
        let e = http_error(
            Target::PLATFORM,
            404,
            br#"{"error":"NOT_FOUND","message":"Endpoint /v2/organizations/v1 not found"}"#,
        );
        assert_eq!(e.kind.exit_code(), 1);
        assert!(e.hints.iter().any(|h| h.contains("--api-url")));
        let e = http_error(Target::PLATFORM, 404, b"<html>not here</html>");
        assert_eq!(e.kind.exit_code(), 1);
    }

    #[test]
    fn platform_404_naming_a_project_exits_4() {
        let e = http_error(
            Target::PLATFORM,
            404,
            br#"{"error":"NOT_FOUND","message":"Project not found"}"#,
        );
        assert_eq!(e.kind, Kind::NotFound);
        assert_eq!(e.message, "Project not found");
    }

    #[test]
    fn backend_401_exits_2_with_the_server_message_and_a_link_hint() {
        let e = err(
            401,
            r#"{"error":"AUTH_INVALID_API_KEY","message":"Invalid API key","statusCode":401,"nextActions":"Check the API key is valid or generate a new API key."}"#,
        );
        assert_eq!(e.kind.exit_code(), 2);
        assert_eq!(e.message, "Invalid API key");
        assert_eq!(e.json_code(), "AUTH_INVALID_API_KEY");
        assert_eq!(
            e.hints,
            [
                "Check the API key is valid or generate a new API key.",
                "check the project's API key (`insforge link`)"
            ]
        );
    }

    #[test]
    fn named_resource_404_exits_4_and_route_miss_exits_1() {
        assert_eq!(
            err(
                404,
                r#"{"error":"SECRET_NOT_FOUND","message":"Secret not found: X"}"#
            )
            .kind
            .exit_code(),
            4
        );
        assert_eq!(
            err(404, r#"{"error":"Function not found or not active"}"#)
                .kind
                .exit_code(),
            4
        );
        let miss = err(
            404,
            r#"{"error":"NOT_FOUND","message":"Endpoint /api/x not found"}"#,
        );
        assert_eq!(miss.kind.exit_code(), 1);
        assert!(miss.message.contains("not available on this backend"));
        assert_eq!(err(404, "<html>").kind.exit_code(), 1);
    }

    #[test]
    fn forbidden_exits_5_and_other_statuses_exit_1() {
        assert_eq!(
            err(403, r#"{"error":"FORBIDDEN","message":"no"}"#)
                .kind
                .exit_code(),
            5
        );
        assert_eq!(
            err(409, r#"{"error":"DATABASE_DUPLICATE","message":"dup"}"#)
                .kind
                .exit_code(),
            1
        );
        let e = err(502, "bad gateway");
        assert_eq!(e.kind.exit_code(), 1);
        assert_eq!(e.message, "request failed with HTTP status 502");
        assert_eq!(e.json_code(), "HTTP_ERROR");
    }

    #[test]
    fn server_errors_say_which_status_came_back() {
        let e = http_error(Target::PLATFORM, 503, br#"{"message":"kaput"}"#);
        assert_eq!(e.message, "kaput");
        assert_eq!(
            e.hints,
            ["the server answered HTTP 503; this is usually temporary, try again"]
        );
        let e = err(
            502,
            r#"{"error":"BAD_GATEWAY","message":"kaput","nextActions":"Wait a minute."}"#,
        );
        assert_eq!(
            e.hints,
            [
                "Wait a minute.",
                "the server answered HTTP 502; this is usually temporary, try again"
            ]
        );
        // A 500 is often for good (a SQL runtime error): it is not called temporary.
        let e = err(
            500,
            r#"{"error":"INTERNAL_ERROR","message":"division by zero"}"#,
        );
        assert_eq!(e.hints, ["the server answered HTTP 500"]);
        assert!(err(429, "{}").hints.is_empty());
        assert!(err(409, r#"{"message":"dup"}"#).hints.is_empty());
    }

    #[test]
    fn postgrest_errors_show_their_message() {
        let e = err(
            404,
            r#"{"code":"PGRST202","details":"d","hint":null,"message":"Could not find the function"}"#,
        );
        assert_eq!(e.message, "Could not find the function");
        assert_eq!(e.kind.exit_code(), 4);
    }
}
