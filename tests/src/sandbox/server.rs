//! The HTTP front: accepts connections, and for every request applies scripted faults, logs
//! it, enforces the body size cap and the JSON body check, then hands it to the routes.
//!
//! A plain `axum::serve` cannot close a connection without answering, which the `drop`
//! fault needs, so connections are served with hyper directly.

use std::convert::Infallible;
use std::future::Future;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;

use super::auth::Credentials;
use super::errors::{ApiError, NEXT_ACTIONS_INVALID_JSON};
use super::state::SandboxState;
use super::{control, db, json_body, metadata, platform, usage};

/// How long a stopping sandbox waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Every route the sandbox serves. Unknown paths and wrong methods get the backend's
/// route-level 404, before any authentication.
pub(crate) fn routes(state: SandboxState) -> Router {
    Router::new()
        .merge(db::routes())
        .merge(usage::routes())
        .merge(metadata::routes())
        .merge(platform::routes())
        .merge(control::routes())
        .fallback(route_not_found)
        .method_not_allowed_fallback(route_not_found)
        // The front has already read the body within `--max-upload`.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

async fn route_not_found(request: Request<Body>) -> ApiError {
    ApiError::route_not_found(&original_url(&request))
}

/// The path with its query string, as the client sent them.
pub(crate) fn original_url<B>(request: &Request<B>) -> String {
    request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".into())
}

/// Accepts connections until `shutdown` resolves, then lets requests in flight finish.
pub(crate) async fn serve(
    listener: TcpListener,
    state: SandboxState,
    shutdown: impl Future<Output = ()>,
) {
    let router = routes(state.clone());
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let state = state.clone();
                let router = router.clone();
                let service = hyper::service::service_fn(move |request| {
                    handle(state.clone(), router.clone(), request)
                });
                let connection = http.serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(err) = connection.await {
                        tracing::debug!(error = %err, "connection ended");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight at shutdown were abandoned");
    }
}

/// Returned by the request handler to make hyper close the connection unanswered.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose (scripted fault)")
    }
}

impl std::error::Error for DropConnection {}

async fn handle(
    state: SandboxState,
    router: Router,
    request: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let url = original_url(&request);
    let is_control = path == "/_sandbox" || path.starts_with("/_sandbox/");
    let fault = if is_control {
        None
    } else {
        state.faults.take(&method, &path)
    };

    let (parts, body) = request.into_parts();
    let (body, too_large) = match read_body(&parts.headers, body, state.max_upload).await {
        Ok(body) => (body, false),
        Err(BodyError::TooLarge) => (Bytes::new(), true),
        Err(BodyError::Broken) => return Err(DropConnection),
    };

    let seq = (!is_control).then(|| {
        let credentials = Credentials::of(&parts.headers, &state.api_key);
        state.requests.record(
            &method,
            &url,
            &parts.headers,
            credentials.key_check(),
            &body,
        )
    });
    let finish = |response: Response<Body>| {
        if let Some(seq) = seq {
            state.requests.set_status(seq, response.status().as_u16());
        }
        log_request(&method, &url, Some(response.status()), started);
        response
    };

    if let Some(fault) = fault {
        if fault.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
        }
        if fault.drop {
            log_request(&method, &url, None, started);
            return Err(DropConnection);
        }
        if let Some(response) = fault.response() {
            return Ok(finish(response));
        }
    }

    if too_large {
        return Ok(finish(too_large_error().into_response()));
    }

    if json_body::is_json(&parts.headers) && !body.is_empty() {
        if let Err(message) = json_body::check(&String::from_utf8_lossy(&body)) {
            let error =
                ApiError::invalid_input(message).with_next_actions(NEXT_ACTIONS_INVALID_JSON);
            return Ok(finish(error.into_response()));
        }
    }

    let request = Request::from_parts(parts, Body::from(body));
    let response: Result<Response<Body>, Infallible> = router.oneshot(request).await;
    let response = match response {
        Ok(response) => response,
        Err(never) => match never {},
    };
    Ok(finish(response))
}

fn log_request(method: &str, url: &str, status: Option<StatusCode>, started: Instant) {
    let ms = started.elapsed().as_millis();
    match status {
        Some(status) => tracing::info!("{method} {url} -> {} ({ms} ms)", status.as_u16()),
        None => tracing::info!("{method} {url} -> connection dropped ({ms} ms)"),
    }
}

enum BodyError {
    TooLarge,
    Broken,
}

/// How much of an oversized body is read and thrown away before answering 413, so that the
/// client, still sending, sees the answer rather than a reset connection.
const DRAIN_LIMIT: u64 = 256 * 1024 * 1024;

async fn read_body(
    headers: &axum::http::HeaderMap,
    mut body: Incoming,
    max: u64,
) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let mut collected = Vec::new();
    let mut seen: u64 = 0;
    let mut too_large = declared.is_some_and(|len| len > max);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len() as u64;
        if seen > max {
            too_large = true;
        }
        if too_large {
            collected = Vec::new();
            if seen > DRAIN_LIMIT {
                break;
            }
        } else {
            collected.extend_from_slice(&data);
        }
    }
    if too_large {
        Err(BodyError::TooLarge)
    } else {
        Ok(Bytes::from(collected))
    }
}

/// The Express body parser's answer to an oversized body, as the backend's error handler
/// words it.
fn too_large_error() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "INTERNAL_ERROR",
        "request entity too large",
    )
}
