//! Whether git would pick up a project's `.insforge/project.json` (which holds the API key): a
//! small reader of `.gitignore` files (globs, `**`, `!`, directory-only and anchored patterns)
//! and of the repository's `.git/info/exclude`. It only reads; nothing is ever written to a
//! `.gitignore`.

use std::path::{Path, PathBuf};

/// One file of ignore patterns and the directory its patterns are relative to.
struct Rules {
    dir: PathBuf,
    text: String,
}

/// What to tell the user when `.insforge/project.json` under `root` is not kept out of git:
/// `None` when git would ignore it, or when neither a repository nor a `.gitignore` is in
/// sight.
///
/// The file is ignored, as in git, when a directory on its way from the repository's root is
/// excluded (nothing below an excluded directory can be re-included), or else when the last
/// pattern matching the file itself excludes it. So `*` then `!.insforge` still ignores
/// `.insforge/project.json` (it matches `*`), and `.insforge/*` then `!.insforge/project.json`
/// does not.
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
    let read = |dir: &Path, file: PathBuf| {
        let text = std::fs::read_to_string(file).ok()?;
        Some(Rules {
            dir: dir.to_path_buf(),
            text,
        })
    };
    // The .gitignore files at or above `root`, nearest first.
    let gitignores: Vec<Rules> = dirs
        .iter()
        .filter_map(|dir| read(dir, dir.join(".gitignore")))
        .collect();
    if repo.is_none() && gitignores.is_empty() {
        return None;
    }
    // Lowest precedence first, so that a later verdict wins: the repository's own exclude
    // file, then the .gitignore files from the outermost in, then one inside `.insforge/`.
    let insforge = root.join(".insforge");
    let mut rules: Vec<&Rules> = Vec::new();
    let exclude = repo.and_then(|r| read(r, r.join(".git").join("info").join("exclude")));
    rules.extend(exclude.as_ref());
    rules.extend(gitignores.iter().rev());
    let inner = read(&insforge, insforge.join(".gitignore"));
    rules.extend(inner.as_ref());

    if is_ignored(repo.unwrap_or(root), &insforge.join("project.json"), &rules) {
        return None;
    }
    let advice = "holds the project's API key and should not be committed";
    Some(match gitignores.first() {
        Some(rules) => format!(
            ".insforge/ {advice}: add a line `.insforge/` to {}",
            rules.dir.join(".gitignore").display()
        ),
        None => format!(
            ".insforge/ {advice}: create {} with a line `.insforge/`",
            repo.unwrap_or(root).join(".gitignore").display()
        ),
    })
}

/// Whether git ignores the file `path` (below `top`, the repository's root), given pattern
/// files in rising precedence: the first excluded directory on the way decides, else the file's
/// own verdict.
fn is_ignored(top: &Path, path: &Path, rules: &[&Rules]) -> bool {
    let Ok(relative) = path.strip_prefix(top) else {
        return false;
    };
    let parts: Vec<&std::ffi::OsStr> = relative
        .components()
        .map(std::path::Component::as_os_str)
        .collect();
    for n in 1..=parts.len() {
        let is_dir = n < parts.len();
        let subject: PathBuf = std::iter::once(top.as_os_str())
            .chain(parts[..n].iter().copied())
            .collect();
        let mut verdict = None;
        for rules in rules {
            let Ok(inside) = subject.strip_prefix(&rules.dir) else {
                continue;
            };
            let inside: Vec<String> = inside
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if inside.is_empty() {
                continue;
            }
            if let Some(v) = gitignore_verdict(&rules.text, &inside.join("/"), is_dir) {
                verdict = Some(v);
            }
        }
        if verdict == Some(true) {
            return true;
        }
    }
    false
}

/// Whether one pattern file's lines ignore `path` (relative to that file's directory, `/`
/// separated; a directory when `is_dir`): `Some(true)` ignored, `Some(false)` re-included by a
/// `!` line, `None` when no line is about it. The last matching line wins, as in git.
fn gitignore_verdict(text: &str, path: &str, is_dir: bool) -> Option<bool> {
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
        if pattern.is_empty() || (dir_only && !is_dir) {
            continue;
        }
        let anchored = pattern.contains('/');
        let pattern = pattern.strip_prefix('/').unwrap_or(pattern);
        let subject = if anchored {
            path
        } else {
            path.rsplit('/').next().unwrap_or(path)
        };
        if glob(pattern.as_bytes(), subject.as_bytes()) {
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
    fn the_link_file_is_what_counts_not_its_directory() {
        // `.insforge/project.json` matches `*`; `!.insforge` re-includes only the directory.
        for text in [
            "*\n!.insforge\n",
            "*\n!.insforge/\n",
            "*\n!/.insforge\n",
            "*\n!*/\n",
            "project.json\n",
            "*.json\n",
            ".insforge/*\n!.insforge/README\n",
            // An excluded directory cannot have its files re-included.
            ".insforge/\n!.insforge/project.json\n",
        ] {
            let advice = advice_for(&[("repo/.git/HEAD", ""), ("repo/app/.gitignore", text)]);
            assert_eq!(advice, None, "{text:?}");
        }
        // The file itself re-included: git would pick it up.
        for text in [
            "*\n!.insforge\n!.insforge/project.json\n",
            "*\n!.insforge/\n!project.json\n",
            ".insforge/*\n!.insforge/project.json\n",
            "*.json\n!project.json\n",
        ] {
            let advice = advice_for(&[("repo/.git/HEAD", ""), ("repo/app/.gitignore", text)]);
            assert!(advice.is_some(), "{text:?}");
        }
        // An excluded directory on the way from the repository's root.
        assert_eq!(
            advice_for(&[
                ("repo/.git/HEAD", ""),
                ("repo/.gitignore", "*\n"),
                ("repo/app/.gitignore", "!*\n"),
            ]),
            None
        );
        // A nearer .gitignore wins over a farther one.
        assert!(advice_for(&[
            ("repo/.git/HEAD", ""),
            ("repo/.gitignore", ".insforge/\n"),
            ("repo/app/.gitignore", "!.insforge/\n"),
        ])
        .is_some());
    }

    #[test]
    fn a_gitignore_inside_insforge_or_the_repositorys_exclude_file_counts() {
        for text in ["*\n", "project.json\n", "*\n!.gitignore\n"] {
            let advice = advice_for(&[
                ("repo/.git/HEAD", ""),
                ("repo/app/.insforge/.gitignore", text),
            ]);
            assert_eq!(advice, None, "{text:?}");
        }
        assert_eq!(
            advice_for(&[
                ("repo/.git/HEAD", ""),
                ("repo/.git/info/exclude", ".insforge/\n"),
            ]),
            None
        );
        // A .gitignore re-including what the exclude file ignores wins over it; the hint names
        // the .gitignore, never the file inside .insforge/.
        assert_eq!(
            advice_for(&[
                ("repo/.git/HEAD", ""),
                ("repo/.git/info/exclude", ".insforge/\n"),
                ("repo/.gitignore", "!.insforge/\n"),
                ("repo/app/.insforge/.gitignore", "other\n"),
            ])
            .as_deref(),
            Some(
                ".insforge/ holds the project's API key and should not be committed: add a \
                 line `.insforge/` to [T]/repo/.gitignore"
            )
        );
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
