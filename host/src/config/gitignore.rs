//! Whether git would pick up a project's `.insforge/` (which holds the API key): a small
//! reader of `.gitignore` files (globs, `**`, `!`, directory-only and anchored patterns). It
//! only reads; nothing is ever written to a `.gitignore`.

use std::path::Path;

/// What to tell the user when `.insforge/` under `root` is not kept out of git: `None` when a
/// `.gitignore` (in `root` or a parent up to the repository's root) covers it, or when neither
/// a repository nor a `.gitignore` is in sight.
pub fn advice(root: &Path) -> Option<String> {
    let mut dirs = Vec::new();
    let mut repo = None;
    for dir in root.ancestors() {
        dirs.push(dir);
        if dir.join(".git").exists() {
            repo = Some(dir);
            break;
        }
    }
    if repo.is_none() {
        // Outside a repository, only the directory's own .gitignore says anything.
        dirs.truncate(1);
    }
    let files: Vec<(&Path, String)> = dirs
        .iter()
        .filter_map(|dir| {
            let text = std::fs::read_to_string(dir.join(".gitignore")).ok()?;
            Some((*dir, text))
        })
        .collect();
    if repo.is_none() && files.is_empty() {
        return None;
    }
    // Outermost first, so a nearer file's later lines win, as in git.
    let mut ignored = false;
    for (dir, text) in files.iter().rev() {
        let relative = root.strip_prefix(dir).unwrap_or(Path::new(""));
        let mut parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        parts.push(".insforge".to_owned());
        if let Some(verdict) = gitignore_verdict(text, &parts) {
            ignored = verdict;
        }
    }
    if ignored {
        return None;
    }
    let advice = "holds the project's API key and should not be committed";
    Some(match files.first() {
        Some((dir, _)) => format!(
            ".insforge/ {advice}: add a line `.insforge/` to {}",
            dir.join(".gitignore").display()
        ),
        None => format!(
            ".insforge/ {advice}: create {} with a line `.insforge/`",
            repo.unwrap_or(root).join(".gitignore").display()
        ),
    })
}

/// Whether one `.gitignore`'s lines ignore the directory `parts` (relative to that file, ending
/// in `.insforge`) or its `project.json`: `Some(true)` ignored, `Some(false)` re-included by a
/// `!` line, `None` when no line is about it. The last matching line wins, as in git.
fn gitignore_verdict(text: &str, parts: &[String]) -> Option<bool> {
    // Every directory on the way (an ignored parent ignores .insforge too), then the file.
    let mut paths: Vec<(String, bool)> = (1..=parts.len())
        .map(|n| (parts[..n].join("/"), true))
        .collect();
    paths.push((format!("{}/project.json", parts.join("/")), false));

    let mut verdict = None;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (negated, pattern) = match line.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let (dir_only, pattern) = match pattern.strip_suffix('/') {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        if pattern.is_empty() {
            continue;
        }
        let anchored = pattern.contains('/');
        let pattern = pattern.strip_prefix('/').unwrap_or(pattern);
        let hit = paths.iter().any(|(path, is_dir)| {
            if dir_only && !is_dir {
                return false;
            }
            let subject = if anchored {
                path.as_str()
            } else {
                path.rsplit('/').next().unwrap_or(path)
            };
            glob(pattern.as_bytes(), subject.as_bytes())
        });
        if hit {
            verdict = Some(!negated);
        }
    }
    verdict
}

/// gitignore's globs: `*` and `?` within one path component, `**` across them, `[...]` classes,
/// `\` escapes.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.first() {
        None => text.is_empty(),
        Some(b'*') if pattern.get(1) == Some(&b'*') => {
            let rest = &pattern[2..];
            if let Some(after) = rest.strip_prefix(b"/") {
                // `**/` also matches no directory at all.
                if glob(after, text) {
                    return true;
                }
            }
            (0..=text.len()).any(|i| glob(rest, &text[i..]))
        }
        Some(b'*') => (0..=text.len())
            .take_while(|&i| i == 0 || text[i - 1] != b'/')
            .any(|i| glob(&pattern[1..], &text[i..])),
        Some(b'?') => text.first().is_some_and(|&c| c != b'/') && glob(&pattern[1..], &text[1..]),
        Some(b'[') => match class(&pattern[1..], text.first().copied()) {
            Some((true, used)) => glob(&pattern[1 + used..], &text[1..]),
            Some((false, _)) => false,
            // No closing `]`: a literal `[`.
            None => text.first() == Some(&b'[') && glob(&pattern[1..], &text[1..]),
        },
        Some(b'\\') if pattern.len() > 1 => {
            text.first() == Some(&pattern[1]) && glob(&pattern[2..], &text[1..])
        }
        Some(&c) => text.first() == Some(&c) && glob(&pattern[1..], &text[1..]),
    }
}

/// A `[...]` class (after its `[`) against one character: whether it matches and how many
/// pattern bytes the class used; `None` when the class is not closed.
fn class(pattern: &[u8], c: Option<u8>) -> Option<(bool, usize)> {
    let (negated, start) = match pattern.first() {
        Some(b'!' | b'^') => (true, 1),
        _ => (false, 0),
    };
    let mut i = start;
    let mut matched = false;
    loop {
        let first = *pattern.get(i)?;
        if first == b']' && i > start {
            break;
        }
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&e| e != b']') {
            let last = pattern[i + 2];
            matched |= c.is_some_and(|c| (first..=last).contains(&c));
            i += 3;
        } else {
            matched |= c == Some(first);
            i += 1;
        }
    }
    let c = c?;
    Some((c != b'/' && matched != negated, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advice_for(files: &[(&str, &str)]) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let root = dir.path().join("repo/app");
        std::fs::create_dir_all(&root).unwrap();
        advice(&root).map(|a| a.replace(&dir.path().display().to_string(), "[T]"))
    }

    #[test]
    fn a_gitignore_covering_insforge_needs_no_hint() {
        for line in [
            ".insforge",
            ".insforge/",
            "/.insforge/",
            "**/.insforge",
            ".insforge/*",
            ".insforge/project.json",
            ".*",
            ".insforge*",
            ".[i]nsforge",
            "*",
        ] {
            let advice = advice_for(&[("repo/.git/HEAD", ""), ("repo/app/.gitignore", line)]);
            assert_eq!(advice, None, "{line}");
        }
        // In the repository's root, naming the directory or a parent of it.
        for line in [
            "app/.insforge",
            "/app/",
            "app",
            ".insforge",
            "**/.insforge/",
        ] {
            let advice = advice_for(&[("repo/.git/HEAD", ""), ("repo/.gitignore", line)]);
            assert_eq!(advice, None, "{line}");
        }
    }

    #[test]
    fn a_gitignore_missing_insforge_gets_a_hint() {
        for text in [
            "target\nnode_modules/\n",
            "# .insforge\n",
            ".insforge\n!.insforge\n",
            "other/.insforge\n",
            ".insforge.bak\n",
            ".insforge/project.json/\n",
        ] {
            let advice = advice_for(&[("repo/.git/HEAD", ""), ("repo/app/.gitignore", text)]);
            assert_eq!(
                advice.as_deref(),
                Some(
                    ".insforge/ holds the project's API key and should not be committed: add a \
                     line `.insforge/` to [T]/repo/app/.gitignore"
                ),
                "{text:?}"
            );
        }
        // A repository without any .gitignore.
        assert_eq!(
            advice_for(&[("repo/.git/HEAD", "")]).as_deref(),
            Some(
                ".insforge/ holds the project's API key and should not be committed: create \
                 [T]/repo/.gitignore with a line `.insforge/`"
            )
        );
        // Outside a repository, the directory's own .gitignore still counts.
        assert!(advice_for(&[("repo/app/.gitignore", "dist\n")]).is_some());
        assert_eq!(advice_for(&[("repo/app/.gitignore", ".insforge\n")]), None);
        // Neither a repository nor a .gitignore: nothing to say.
        assert_eq!(advice_for(&[]), None);
        // A parent's .gitignore outside the repository is not git's business.
        assert_eq!(advice_for(&[("repo/.gitignore", "dist\n")]), None);
    }

    #[test]
    fn globs_follow_gitignore() {
        let g = |p: &str, t: &str| glob(p.as_bytes(), t.as_bytes());
        assert!(g("*.json", "project.json"));
        assert!(!g("*", "a/b"));
        assert!(g("**", "a/b"));
        assert!(g("a/**/b", "a/b"));
        assert!(g("a/**/b", "a/x/y/b"));
        assert!(g("?insforge", ".insforge"));
        assert!(g("[.]insforge", ".insforge"));
        assert!(!g("[!.]insforge", ".insforge"));
        assert!(g("[a-z]", "q"));
        assert!(g("\\*", "*"));
        assert!(!g("\\*", "x"));
        assert!(g("[", "["));
    }
}
