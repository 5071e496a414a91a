//! Just enough SQL lexing for what the backend decides from SQL text without running it:
//! splitting a script into statements, the guard that refuses transaction control, role
//! changes and database management, and the shape of a statement's command tag. Strings,
//! quoted identifiers, comments, dollar quotes and `BEGIN ATOMIC ... END` bodies are
//! respected; nothing else of SQL's grammar is needed.

/// Refused in any statement, on both raw SQL endpoints and in imports.
pub const TRANSACTION_CONTROL: &str = "Transaction control statements are not allowed.";
/// Refused in any statement, on both raw SQL endpoints and in imports.
pub const ROLE_CHANGE: &str =
    "Changing SQL execution role or session authorization is not allowed.";
/// `CREATE DATABASE` / `DROP DATABASE`, refused on the project-admin endpoint only.
pub const RESTRICTED_OPERATION: &str = "Query contains restricted operations";
/// SQL that does not parse.
pub const UNPARSEABLE: &str = "Query could not be parsed and was rejected for security reasons.";

/// One lexical token; words are upper-cased.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Semicolon,
    Other,
}

#[derive(Debug, Clone)]
struct Lexeme {
    token: Token,
    start: usize,
    end: usize,
}

/// One statement of a script.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The statement's text from its first token to its last, without the `;` (comments
    /// before the first token are left out; comments inside are kept).
    pub text: String,
    /// Its words, upper-cased, with `None` for tokens that are not words.
    words: Vec<Option<String>>,
}

impl Statement {
    /// The `i`-th token if it is a word (upper-cased).
    pub fn word(&self, i: usize) -> Option<&str> {
        self.words.get(i).and_then(|word| word.as_deref())
    }

    /// Whether node-postgres would report a number as `rowCount`: the command tag carries a
    /// count for SELECT (also `CREATE TABLE AS`, `SELECT INTO`), INSERT, UPDATE, DELETE,
    /// MERGE, FETCH, MOVE and COPY, and none for the other commands.
    pub fn reports_row_count(&self) -> bool {
        // `(SELECT 1)` is a SELECT too: look at the first word, wherever it is.
        match self.words.iter().flatten().next().map(String::as_str) {
            Some(
                "SELECT" | "VALUES" | "TABLE" | "WITH" | "INSERT" | "UPDATE" | "DELETE" | "MERGE"
                | "FETCH" | "MOVE" | "COPY",
            ) => true,
            Some("CREATE") => self.is_create_as(),
            _ => false,
        }
    }

    /// `CREATE [..] TABLE .. AS ..` or `CREATE MATERIALIZED VIEW .. AS ..`, whose command tag
    /// is `SELECT n`.
    fn is_create_as(&self) -> bool {
        let kind = self.words.iter().skip(1).take(4).flatten().find(|word| {
            matches!(
                word.as_str(),
                "TABLE" | "MATERIALIZED" | "VIEW" | "FUNCTION" | "INDEX"
            )
        });
        matches!(kind.map(String::as_str), Some("TABLE" | "MATERIALIZED"))
            && self.as_outside_parens()
    }

    /// Whether `AS` appears outside parentheses (a column list or a generated column keeps
    /// its `AS` inside them).
    fn as_outside_parens(&self) -> bool {
        let lexemes = lex(&self.text);
        let mut depth = 0i32;
        for lexeme in &lexemes {
            let text = &self.text[lexeme.start..lexeme.end];
            match (&lexeme.token, text) {
                (Token::Other, "(") => depth += 1,
                (Token::Other, ")") => depth -= 1,
                (Token::Word(word), _) if word == "AS" && depth == 0 => return true,
                _ => {}
            }
        }
        false
    }
}

/// Splits a script into its statements, leaving out empty ones (only whitespace, comments
/// or semicolons).
pub fn split(sql: &str) -> Vec<Statement> {
    let lexemes = lex(sql);
    let mut statements = Vec::new();
    let mut current: Vec<&Lexeme> = Vec::new();
    let mut atomic_depth = 0usize;
    for (i, lexeme) in lexemes.iter().enumerate() {
        match &lexeme.token {
            Token::Semicolon if atomic_depth == 0 => {
                push_statement(sql, &current, &mut statements);
                current.clear();
                continue;
            }
            Token::Word(word) if atomic_depth > 0 => {
                if word == "CASE" {
                    atomic_depth += 1;
                } else if word == "END" {
                    atomic_depth -= 1;
                }
            }
            Token::Word(word) if word == "BEGIN" => {
                let next_is_atomic = matches!(
                    lexemes.get(i + 1).map(|next| &next.token),
                    Some(Token::Word(next)) if next == "ATOMIC"
                );
                let in_create = matches!(
                    current.first().map(|first| &first.token),
                    Some(Token::Word(first)) if first == "CREATE"
                );
                if next_is_atomic && in_create {
                    atomic_depth = 1;
                }
            }
            _ => {}
        }
        current.push(lexeme);
    }
    push_statement(sql, &current, &mut statements);
    statements
}

fn push_statement(sql: &str, lexemes: &[&Lexeme], statements: &mut Vec<Statement>) {
    let (Some(first), Some(last)) = (lexemes.first(), lexemes.last()) else {
        return;
    };
    statements.push(Statement {
        text: sql[first.start..last.end].to_owned(),
        words: lexemes
            .iter()
            .map(|lexeme| match &lexeme.token {
                Token::Word(word) => Some(word.clone()),
                _ => None,
            })
            .collect(),
    });
}

/// The backend's SQL guard: the message of the first rule a statement breaks, if any.
/// `unrestricted` is the root endpoint, which may create and drop databases.
pub fn guard(sql: &str, unrestricted: bool) -> Result<(), &'static str> {
    for statement in split(sql) {
        let w = |i| statement.word(i);
        let refusal = match w(0) {
            Some("BEGIN" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "SAVEPOINT" | "RELEASE") => {
                Some(TRANSACTION_CONTROL)
            }
            Some("START" | "PREPARE") if w(1) == Some("TRANSACTION") => Some(TRANSACTION_CONTROL),
            Some("SET") => {
                let at = if matches!(w(1), Some("SESSION" | "LOCAL")) {
                    2
                } else {
                    1
                };
                let role = w(at) == Some("ROLE")
                    || (w(at) == Some("SESSION") && w(at + 1) == Some("AUTHORIZATION"))
                    || (w(1) == Some("SESSION") && w(2) == Some("AUTHORIZATION"));
                role.then_some(ROLE_CHANGE)
            }
            Some("RESET") => {
                let role = w(1) == Some("ROLE")
                    || (w(1) == Some("SESSION") && w(2) == Some("AUTHORIZATION"));
                role.then_some(ROLE_CHANGE)
            }
            Some("CREATE" | "DROP") if w(1) == Some("DATABASE") && !unrestricted => {
                Some(RESTRICTED_OPERATION)
            }
            _ => None,
        };
        if let Some(message) = refusal {
            return Err(message);
        }
    }
    Ok(())
}

/// A string literal: `'it''s'`.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// An identifier, always quoted: `"my ""table"""`.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An identifier quoted only when it has to be (the `%I` rule of the backend's SQL
/// formatter): plain lower-case names that are not reserved words stay bare.
pub fn format_ident(name: &str) -> String {
    let mut chars = name.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain && !is_reserved(name) {
        name.to_owned()
    } else {
        quote_ident(name)
    }
}

/// PostgreSQL's reserved key words (those that cannot be bare identifiers).
fn is_reserved(word: &str) -> bool {
    const RESERVED: &[&str] = &[
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "binary",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "natural",
        "not",
        "notnull",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "overlaps",
        "placing",
        "primary",
        "references",
        "returning",
        "right",
        "select",
        "session_user",
        "similar",
        "some",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
    ];
    RESERVED.contains(&word)
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

/// Tokens with their byte ranges; comments and whitespace are skipped.
fn lex(sql: &str) -> Vec<Lexeme> {
    let bytes: Vec<(usize, char)> = sql.char_indices().collect();
    let at = |i: usize| bytes.get(i).map(|&(_, c)| c);
    let offset = |i: usize| bytes.get(i).map_or(sql.len(), |&(o, _)| o);
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        let start = i;
        match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '-' if at(i + 1) == Some('-') => {
                while at(i).is_some_and(|c| c != '\n') {
                    i += 1;
                }
                continue;
            }
            '/' if at(i + 1) == Some('*') => {
                let mut depth = 0;
                while let Some(c) = at(i) {
                    if c == '/' && at(i + 1) == Some('*') {
                        depth += 1;
                        i += 2;
                    } else if c == '*' && at(i + 1) == Some('/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            '\'' => {
                let escapes = i > 0
                    && matches!(at(i - 1), Some('e' | 'E'))
                    && !(i > 1 && at(i - 2).is_some_and(is_ident_char));
                i += 1;
                while let Some(c) = at(i) {
                    if escapes && c == '\\' {
                        i += 2;
                    } else if c == '\'' {
                        if at(i + 1) == Some('\'') {
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                // A string right after `E` belongs to the same token as the `E`.
                if escapes {
                    if let Some(last) = out.last_mut() {
                        let last: &mut Lexeme = last;
                        last.token = Token::Other;
                        last.end = offset(i);
                        continue;
                    }
                }
                out.push(Lexeme {
                    token: Token::Other,
                    start: offset(start),
                    end: offset(i),
                });
            }
            '"' => {
                i += 1;
                while let Some(c) = at(i) {
                    i += 1;
                    if c == '"' {
                        if at(i) == Some('"') {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
                out.push(Lexeme {
                    token: Token::Other,
                    start: offset(start),
                    end: offset(i),
                });
            }
            '$' if at(i + 1).is_some_and(|c| c.is_ascii_digit()) => {
                i += 1;
                while at(i).is_some_and(|c| c.is_ascii_digit()) {
                    i += 1;
                }
                out.push(Lexeme {
                    token: Token::Other,
                    start: offset(start),
                    end: offset(i),
                });
            }
            '$' => {
                // A dollar quote `$tag$ ... $tag$`, or a lone `$`.
                let mut j = i + 1;
                while at(j).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    j += 1;
                }
                if at(j) == Some('$') {
                    let tag: String = sql[offset(i)..offset(j + 1)].to_owned();
                    let body_start = offset(j + 1);
                    let end = match sql[body_start..].find(&tag) {
                        Some(found) => body_start + found + tag.len(),
                        None => sql.len(),
                    };
                    while offset(i) < end {
                        i += 1;
                    }
                } else {
                    i += 1;
                }
                out.push(Lexeme {
                    token: Token::Other,
                    start: offset(start),
                    end: offset(i),
                });
            }
            ';' => {
                i += 1;
                out.push(Lexeme {
                    token: Token::Semicolon,
                    start: offset(start),
                    end: offset(i),
                });
            }
            c if is_ident_start(c) => {
                while at(i).is_some_and(is_ident_char) {
                    i += 1;
                }
                let word = sql[offset(start)..offset(i)].to_ascii_uppercase();
                out.push(Lexeme {
                    token: Token::Word(word),
                    start: offset(start),
                    end: offset(i),
                });
            }
            c if c.is_ascii_digit() => {
                while at(i).is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_') {
                    i += 1;
                }
                out.push(Lexeme {
                    token: Token::Other,
                    start: offset(start),
                    end: offset(i),
                });
            }
            _ => {
                i += 1;
                out.push(Lexeme {
                    token: Token::Other,
                    start: offset(start),
                    end: offset(i),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<String> {
        split(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_respecting_quotes_comments_and_bodies() {
        assert_eq!(texts("select 1; select 2;"), vec!["select 1", "select 2"]);
        assert_eq!(
            texts("select ';'; -- x; y\nselect \"a;b\""),
            vec!["select ';'", "select \"a;b\""]
        );
        assert_eq!(
            texts("select E'\\';'; select 2"),
            vec!["select E'\\';'", "select 2"]
        );
        assert_eq!(
            texts("create function f() returns int as $fn$ begin; return 1; end $fn$ language plpgsql; select 1"),
            vec!["create function f() returns int as $fn$ begin; return 1; end $fn$ language plpgsql", "select 1"]
        );
        assert_eq!(
            texts("create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end; select 3"),
            vec!["create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end", "select 3"]
        );
        assert_eq!(
            texts("/* a; /* nested; */ b; */ ; ;\n-- only comments"),
            Vec::<String>::new()
        );
        assert_eq!(
            texts("-- lead\nINSERT INTO t VALUES (1)"),
            vec!["INSERT INTO t VALUES (1)"]
        );
    }

    #[test]
    fn guard_refuses_like_the_backend() {
        assert_eq!(guard("BEGIN", false), Err(TRANSACTION_CONTROL));
        assert_eq!(guard("select 1; commit", true), Err(TRANSACTION_CONTROL));
        assert_eq!(guard("start transaction", false), Err(TRANSACTION_CONTROL));
        assert_eq!(guard("SET ROLE postgres", true), Err(ROLE_CHANGE));
        assert_eq!(guard("set local role x", false), Err(ROLE_CHANGE));
        assert_eq!(
            guard("SET SESSION AUTHORIZATION x", false),
            Err(ROLE_CHANGE)
        );
        assert_eq!(guard("reset role", false), Err(ROLE_CHANGE));
        assert_eq!(guard("CREATE DATABASE x", false), Err(RESTRICTED_OPERATION));
        assert_eq!(guard("CREATE DATABASE x", true), Ok(()));
        assert_eq!(guard("set search_path = public", false), Ok(()));
        assert_eq!(guard("do $$ begin commit; end $$", false), Ok(()));
        assert_eq!(guard("select 'begin'", false), Ok(()));
    }

    #[test]
    fn row_count_follows_the_command_tag() {
        let counts = |sql: &str| split(sql)[0].reports_row_count();
        assert!(counts("select 1"));
        assert!(counts("WITH x AS (select 1) select * from x"));
        assert!(counts("insert into t values (1)"));
        assert!(counts("create table t2 as select 1"));
        assert!(!counts(
            "create table t (a int generated always as (1) stored)"
        ));
        assert!(!counts("create view v as select 1"));
        assert!(!counts("create table t (id int)"));
        assert!(!counts("explain select 1"));
        assert!(counts("(select 1)"));
    }

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(format_ident("posts"), "posts");
        assert_eq!(format_ident("Posts"), "\"Posts\"");
        assert_eq!(format_ident("user"), "\"user\"");
        assert_eq!(format_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
