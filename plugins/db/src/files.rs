//! Local files: reading the user's input files (or stdin) and writing output files atomically.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use insforge_plugin_api::{Context, Error, Result};

/// The path argument that stands for stdin.
pub(crate) const STDIN: &str = "-";

/// Resolves a path the user typed against the directory they ran the command in. The host
/// reports that directory in its context; a host may run plugins elsewhere, so the process's
/// own working directory is not relied on.
pub(crate) fn resolve(cx: &Context<'_>, path: &str) -> PathBuf {
    let cwd = &cx.info().cwd;
    let path = Path::new(path);
    if path.is_absolute() || cwd.as_os_str().is_empty() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    }
}

/// Reads a whole input file, or stdin for `-`.
pub(crate) fn read_input(cx: &Context<'_>, path: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if path == STDIN {
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::general(format!("cannot read stdin: {e}")))?;
    } else {
        bytes = fs::read(resolve(cx, path))
            .map_err(|e| Error::general(format!("cannot read {path}: {e}")))?;
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` so that the file is either its old self or complete: the bytes go
/// to a temporary file in the same directory (a rename across file systems is not atomic),
/// which is flushed to disk and then renamed over the target.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let temp = dir.join(format!(
        ".{}.{}-{nonce}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));

    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        // Best effort: the temporary file is ours and useless now.
        let _ = fs::remove_file(&temp);
        return written;
    }
    sync_directory(dir);
    Ok(())
}

/// Flushes the directory entry of the rename, so the new file survives a power cut. Not every
/// platform can open a directory for this; the data itself is already on disk by then.
fn sync_directory(dir: &Path) {
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("insforge-db-files-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join("dump.sql");
        fs::write(&target, "old contents that are longer").unwrap();

        write_atomically(&target, b"new\r\nbytes").unwrap();

        assert_eq!(fs::read(&target).unwrap(), b"new\r\nbytes");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["dump.sql"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_write_into_a_missing_directory_fails_cleanly() {
        let target = std::env::temp_dir()
            .join(format!("insforge-db-missing-{}", std::process::id()))
            .join("dump.sql");
        assert!(write_atomically(&target, b"x").is_err());
        assert!(!target.exists());
    }
}
