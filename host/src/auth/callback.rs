//! The loopback server that receives the browser login's redirect.
//!
//! It listens on `127.0.0.1` on a port the system picks, answers each request with a small
//! page, and ends at the first callback that carries a code and the expected state, at a
//! callback reporting an error, at a callback with the wrong state, or at the deadline. It
//! speaks just enough HTTP/1.1 for a browser's single GET; anything else gets 400 or 404.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::api::Interrupt;
use crate::error::{CliError, Result};

/// How much of a request is read: a browser's GET with a long query fits easily.
const MAX_REQUEST: usize = 16 * 1024;
/// How long one connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The server, bound and ready.
pub struct CallbackServer {
    listener: TcpListener,
    port: u16,
}

/// What one request to the server amounted to.
enum Visit {
    /// Not a usable callback (other path, missing parameters): keep waiting.
    Ignored,
    /// The login ends with this outcome.
    Done(Result<String>),
}

impl CallbackServer {
    /// Binds `127.0.0.1:0`.
    pub async fn bind() -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| {
            CliError::general(format!(
                "cannot listen on 127.0.0.1 for the login callback: {e}"
            ))
        })?;
        let port = listener.local_addr()?.port();
        Ok(CallbackServer { listener, port })
    }

    /// `http://127.0.0.1:<port>/callback`.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    /// Waits for the callback; returns the authorization code. Connections are served side by
    /// side, so a browser's idle preconnect (or anything else holding a connection open) does
    /// not hold up the real callback.
    pub async fn wait(
        self,
        state: &str,
        timeout: Duration,
        interrupt: &Interrupt,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<Result<String>>(1);
        let state = state.to_owned();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let (done_tx, state) = (done_tx.clone(), state.clone());
                    tokio::spawn(async move {
                        if let Visit::Done(outcome) = serve(stream, &state).await {
                            let _ = done_tx.send(outcome).await;
                        }
                    });
                }
                Some(outcome) = done_rx.recv() => return outcome,
                () = tokio::time::sleep_until(deadline) => {
                    return Err(CliError::general("Authentication timed out. Please try again.")
                        .with_hint("run `insforge login` again; with --no-browser, open the URL yourself"));
                }
                () = interrupt.wait() => return Err(CliError::interrupted()),
            }
        }
    }
}

async fn serve(mut stream: TcpStream, state: &str) -> Visit {
    let target = match tokio::time::timeout(READ_TIMEOUT, read_target(&mut stream)).await {
        Ok(Some(target)) => target,
        _ => {
            let _ = respond(
                &mut stream,
                400,
                "Bad request",
                "The request could not be read.",
            )
            .await;
            return Visit::Ignored;
        }
    };
    let (visit, status, title, text) = judge(&target, state);
    let _ = respond(&mut stream, status, title, &text).await;
    visit
}

/// Decides what a request target means for the login, and the page to answer with.
fn judge(target: &str, expected_state: &str) -> (Visit, u16, &'static str, String) {
    let Ok(url) = reqwest::Url::parse(&format!("http://127.0.0.1{target}")) else {
        return (
            Visit::Ignored,
            400,
            "Invalid callback",
            "The request could not be read.".into(),
        );
    };
    if url.path() != "/callback" {
        return (Visit::Ignored, 404, "Not found", "Not found".into());
    }
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let state_matches = |state: &str| constant_time_eq(state.as_bytes(), expected_state.as_bytes());
    let mismatch = || {
        (
            Visit::Done(Err(CliError::general(
                "State mismatch. Possible CSRF attack.",
            )
            .with_hint("nothing was stored; run `insforge login` again"))),
            400,
            "Authentication refused",
            "This callback does not belong to the login in progress; it was refused.".to_owned(),
        )
    };
    if let Some(error) = param("error") {
        if param("state").is_some_and(|s| !state_matches(&s)) {
            return mismatch();
        }
        let message = param("error_description").unwrap_or(error);
        let page = format!("The platform reported: {message}. You can close this window.");
        return (
            Visit::Done(Err(CliError::general(format!("login failed: {message}")))),
            200,
            "Authentication failed",
            page,
        );
    }
    let (Some(code), Some(state)) = (param("code"), param("state")) else {
        return (
            Visit::Ignored,
            400,
            "Invalid callback",
            "The callback is missing its code or state.".into(),
        );
    };
    if !state_matches(&state) {
        return mismatch();
    }
    // The code still has to be exchanged, so the page does not claim success yet.
    (
        Visit::Done(Ok(code)),
        200,
        "Login received",
        "The InsForge CLI is finishing your login. You can close this window and return to \
         the terminal."
            .into(),
    )
}

/// Reads the request head and returns its target (`/callback?...`).
async fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() + n > MAX_REQUEST {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = std::str::from_utf8(&buf).ok()?;
    let mut parts = head.lines().next()?.split(' ');
    let _method = parts.next()?;
    let target = parts.next()?;
    target.starts_with('/').then(|| target.to_owned())
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    title: &str,
    text: &str,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1><p>{x}</p></body></html>\n",
        t = html_escape(title),
        x = html_escape(text)
    );
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(target: &str) -> (Option<Result<String>>, u16) {
        let (visit, status, _, _) = judge(target, "st");
        match visit {
            Visit::Ignored => (None, status),
            Visit::Done(r) => (Some(r), status),
        }
    }

    #[test]
    fn a_callback_with_code_and_the_right_state_yields_the_code() {
        let (r, status) = outcome("/callback?code=abc&state=st");
        assert_eq!(r.unwrap().unwrap(), "abc");
        assert_eq!(status, 200);
    }

    #[test]
    fn a_wrong_state_ends_the_login_with_an_error() {
        let (r, status) = outcome("/callback?code=abc&state=other");
        assert_eq!(
            r.unwrap().unwrap_err().message,
            "State mismatch. Possible CSRF attack."
        );
        assert_eq!(status, 400);
    }

    #[test]
    fn an_error_callback_wins_and_its_description_is_the_message() {
        let (r, _) =
            outcome("/callback?error=access_denied&error_description=No+way&code=x&state=st");
        assert_eq!(r.unwrap().unwrap_err().message, "login failed: No way");
    }

    #[test]
    fn an_error_callback_with_a_foreign_state_is_a_mismatch() {
        let (r, status) = outcome("/callback?error=access_denied&state=other");
        assert_eq!(
            r.unwrap().unwrap_err().message,
            "State mismatch. Possible CSRF attack."
        );
        assert_eq!(status, 400);
    }

    #[test]
    fn other_paths_and_incomplete_callbacks_keep_waiting() {
        let (r, status) = outcome("/favicon.ico");
        assert!(r.is_none());
        assert_eq!(status, 404);
        let (r, status) = outcome("/callback?code=x");
        assert!(r.is_none());
        assert_eq!(status, 400);
    }

    #[test]
    fn pages_escape_what_the_platform_sent() {
        let escaped = html_escape("<script>\"x\"</script>");
        assert!(!escaped.contains('<') && !escaped.contains('"'));
    }
}
