//! Fresh, empty PostgreSQL databases for tests, so that tests can run in parallel against
//! one server without seeing each other's tables.
//!
//! ```no_run
//! use insforge_tests::sandbox::{testdb, Sandbox, SandboxConfig};
//! let url = testdb::fresh_database(&testdb::admin_url()).unwrap();
//! let sandbox = Sandbox::spawn(SandboxConfig::new("ik_test").with_database_url(url)).unwrap();
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio_postgres::NoTls;

/// The environment variable naming the PostgreSQL server tests use.
pub const DATABASE_URL_VAR: &str = "DATABASE_URL";

/// `DATABASE_URL`, which must name a PostgreSQL server where the user may create databases.
///
/// # Panics
///
/// When it is not set: tests that need PostgreSQL fail rather than skip. Start one with
/// `eval "$(scripts/pg start /tmp/insforge-pg)"`.
pub fn admin_url() -> String {
    match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{DATABASE_URL_VAR} is not set: these tests need PostgreSQL. Start a throwaway \
             server with `eval \"$(scripts/pg start /tmp/insforge-pg)\"` (or run scripts/test)."
        ),
    }
}

/// Creates an empty database on the server `admin_url` points at and returns a URL for it
/// (the same URL with the database name replaced). `admin_url` must be a `postgres://` or
/// `postgresql://` URL.
///
/// Blocks the calling thread (it works inside a tokio runtime too, on a helper thread);
/// async code may prefer [`fresh_database_async`].
pub fn fresh_database(admin_url: &str) -> Result<String, String> {
    let admin_url = admin_url.to_owned();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| err.to_string())?
            .block_on(fresh_database_async(&admin_url))
    })
    .join()
    .map_err(|_| "the thread creating the database panicked".to_owned())?
}

/// [`fresh_database`] for async code.
pub async fn fresh_database_async(admin_url: &str) -> Result<String, String> {
    let name = unique_name();
    let (client, connection) = tokio_postgres::connect(admin_url, NoTls)
        .await
        .map_err(|err| format!("cannot connect to {}: {err}", redact(admin_url)))?;
    let connection = tokio::spawn(connection);
    // Concurrent CREATE DATABASE from one template can collide; retry a few times.
    let mut attempt = 0;
    loop {
        match client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
        {
            Ok(()) => break,
            Err(err) if attempt < 20 => {
                tracing::debug!(error = %err, "CREATE DATABASE failed, retrying");
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(err) => return Err(format!("cannot create database {name}: {err}")),
        }
    }
    drop(client);
    let _ = connection.await;
    with_database(admin_url, &name)
}

/// Drops a database made by [`fresh_database`] (`database_url` is what it returned).
pub async fn drop_database(admin_url: &str, database_url: &str) -> Result<(), String> {
    let name = database_name(database_url).ok_or("no database name in the URL")?;
    let (client, connection) = tokio_postgres::connect(admin_url, NoTls)
        .await
        .map_err(|err| err.to_string())?;
    let connection = tokio::spawn(connection);
    let result = client
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .map_err(|err| err.to_string());
    drop(client);
    let _ = connection.await;
    result
}

fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "insforge_test_{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Splits a URL into what comes before the database name, the name, and the query.
fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let scheme_end = url.find("://")? + 3;
    let (main, query) = match url.find('?') {
        Some(at) => (&url[..at], &url[at..]),
        None => (url, ""),
    };
    match main[scheme_end..].find('/') {
        Some(slash) => {
            let at = scheme_end + slash;
            Some((&main[..at], &main[at + 1..], query))
        }
        None => Some((main, "", query)),
    }
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> Result<String, String> {
    let (base, _, query) =
        split_url(url).ok_or_else(|| format!("not a postgres:// URL: {}", redact(url)))?;
    Ok(format!("{base}/{name}{query}"))
}

/// The database name in a URL.
pub fn database_name(url: &str) -> Option<String> {
    split_url(url)
        .map(|(_, name, _)| name.to_owned())
        .filter(|name| !name.is_empty())
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1").unwrap(),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgresql://u:p@h:1/db?sslmode=disable", "t2").unwrap(),
            "postgresql://u:p@h:1/t2?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h", "t3").unwrap(),
            "postgres://h/t3"
        );
        assert_eq!(
            database_name("postgres://h:1/abc?x=1").as_deref(),
            Some("abc")
        );
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    }

    #[test]
    fn names_are_unique() {
        assert_ne!(unique_name(), unique_name());
    }
}
