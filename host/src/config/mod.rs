//! Files on disk: the project link, and the user's `~/.insforge/` directory.

pub mod fs;
pub mod gitignore;
pub mod project;
pub mod user;

use std::path::PathBuf;

/// The user's home directory (`HOME`, or the platform's profile directory).
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// `~/.insforge`, where credentials, settings and the plugin store live.
pub fn user_dir() -> Option<PathBuf> {
    home_dir().map(|h| h.join(".insforge"))
}
