//! The user's variables in a scenario: `{{name}}` from `--var`, the file's `[vars]`,
//! `{{env:NAME}}` from the environment, values captured by regex expects (named groups),
//! and `{{socket.port}}` / `{{socket.addr}}` of a socket once it is open. They are
//! substituted in the text before the payload's own template compiles, so the composer's
//! variables (`{{counter}}`, `{{crc16-modbus}}`, …) keep working beside them.

use std::borrow::Cow;
use std::collections::HashMap;

/// `k=v` from the command line.
pub fn parse_cli_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("expected NAME=VALUE, got {text:?}")),
    }
}

/// How a value is written into the text it replaces a `{{name}}` in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// As it is (text, and hex, where the value is hex digits).
    None,
    /// A `regex` pattern: the value matches itself literally.
    Regex,
    /// Escaped text (`\n`, `\x02`): a backslash in the value stays a backslash.
    Backslashes,
}

/// The user's variables and their values.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    values: HashMap<String, String>,
}

/// One `{{…}}` in a text: what is between the braces (trimmed) and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    /// 1-based character position of its `{{`.
    pub position: usize,
}

/// What to do with one `{{name}}`.
pub(crate) enum Lookup<'a> {
    /// Replace it with this.
    Value(Cow<'a, str>),
    /// Leave it for the payload's template (`{{counter}}`, `{{crc16-modbus}}`, …).
    Keep,
}

impl Vars {
    /// The file's `[vars]`, each overridden by a `--var` of the same name (`--var`s the
    /// file does not name are variables too).
    pub fn new(file: &[(String, String)], command_line: &[(String, String)]) -> Vars {
        let mut vars = Vars::default();
        for (name, value) in file.iter().chain(command_line) {
            vars.set(name, value);
        }
        vars
    }

    pub fn set(&mut self, name: &str, value: &str) {
        match self.values.get_mut(name) {
            // Captured again each round of a repeat: reuse the room.
            Some(old) => {
                old.clear();
                old.push_str(value);
            }
            None => {
                self.values.insert(name.to_string(), value.to_string());
            }
        }
    }

    /// A variable's value: a set one, or `env:NAME` from the environment.
    pub fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        if let Some(value) = self.values.get(name) {
            return Some(Cow::Borrowed(value));
        }
        let variable = name.strip_prefix("env:")?;
        std::env::var(variable.trim()).ok().map(Cow::Owned)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// `text` with each `{{name}}` of a variable replaced by its value, written as `escape`
    /// says. Other `{{…}}` are left for the payload's template to compile (which rejects
    /// names it does not know either). An unset `{{env:NAME}}` is an error.
    pub fn substitute(&self, text: &str, escape: Escape) -> Result<String, String> {
        substitute_with(text, escape, |name| {
            if let Some(value) = self.get(name) {
                return Ok(Lookup::Value(value));
            }
            match name.strip_prefix("env:") {
                Some(variable) => Err(format!(
                    "the environment variable {} is not set",
                    variable.trim()
                )),
                None => Ok(Lookup::Keep),
            }
        })
    }
}

/// Every `{{…}}` in `text`, in order (an unclosed `{{` ends the search: the template
/// reports it).
pub fn references(text: &str) -> Vec<Reference> {
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(open) = text[rest..].find("{{").map(|at| rest + at) {
        let Some(length) = text[open + 2..].find("}}") else {
            break;
        };
        let inside = &text[open + 2..open + 2 + length];
        found.push(Reference {
            name: inside.trim().to_string(),
            position: text[..open].chars().count() + 1,
        });
        rest = open + 2 + length + 2;
    }
    found
}

/// Whether `name` is written like a variable of the user's (`port`, `web.port`,
/// `env:HOME`, `session_id`), so an unknown one left in a pattern or an address is a
/// mistake rather than braces meant literally.
pub fn looks_like_variable(name: &str) -> bool {
    let bare = name.strip_prefix("env:").unwrap_or(name);
    !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Replaces each `{{name}}` as `lookup` says.
pub(crate) fn substitute_with<'a>(
    text: &str,
    escape: Escape,
    mut lookup: impl FnMut(&str) -> Result<Lookup<'a>, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    while let Some(open) = text[rest..].find("{{").map(|at| rest + at) {
        let Some(length) = text[open + 2..].find("}}") else {
            break;
        };
        let close = open + 2 + length + 2;
        let inside = &text[open + 2..open + 2 + length];
        out.push_str(&text[rest..open]);
        match lookup(inside.trim())? {
            Lookup::Value(value) => match escape {
                Escape::None => out.push_str(&value),
                Escape::Regex => out.push_str(&regex::escape(&value)),
                Escape::Backslashes => out.push_str(&value.replace('\\', "\\\\")),
            },
            Lookup::Keep => out.push_str(&text[open..close]),
        }
        rest = close;
    }
    out.push_str(&text[rest..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn command_line_overrides_the_file_and_adds_its_own() {
        let vars = Vars::new(
            &pairs(&[("host", "a"), ("port", "1")]),
            &pairs(&[("port", "2"), ("extra", "x")]),
        );
        assert_eq!(vars.get("host").as_deref(), Some("a"));
        assert_eq!(vars.get("port").as_deref(), Some("2"));
        assert_eq!(vars.get("extra").as_deref(), Some("x"));
        assert_eq!(vars.get("nope"), None);
    }

    #[test]
    fn user_variables_are_substituted_and_the_templates_own_are_kept() {
        let mut vars = Vars::new(&pairs(&[("id", "7")]), &[]);
        vars.set("web.port", "8080");
        assert_eq!(
            vars.substitute(
                "GET /{{ id }} {{counter}} {{web.port}} {{crc16-modbus}} {{nope}}",
                Escape::None
            )
            .unwrap(),
            "GET /7 {{counter}} 8080 {{crc16-modbus}} {{nope}}"
        );
        assert_eq!(
            vars.substitute("unclosed {{id", Escape::None).unwrap(),
            "unclosed {{id"
        );
    }

    #[test]
    fn values_are_escaped_for_regexes_and_escaped_text() {
        let vars = Vars::new(&pairs(&[("v", "a.b\\c")]), &[]);
        assert_eq!(
            vars.substitute("^{{v}}$", Escape::Regex).unwrap(),
            r"^a\.b\\c$"
        );
        assert_eq!(
            vars.substitute("{{v}}\\n", Escape::Backslashes).unwrap(),
            "a.b\\\\c\\n"
        );
    }

    #[test]
    fn environment_variables_are_read_and_a_missing_one_is_an_error() {
        let vars = Vars::default();
        let path = std::env::var("PATH").expect("tests run with a PATH");
        assert_eq!(vars.substitute("{{env:PATH}}", Escape::None).unwrap(), path);
        assert_eq!(
            vars.substitute("{{env:SOCKLAB_SURELY_UNSET_42}}", Escape::None)
                .unwrap_err(),
            "the environment variable SOCKLAB_SURELY_UNSET_42 is not set"
        );
    }

    #[test]
    fn references_name_their_position() {
        assert_eq!(
            references("ab{{x}}é{{ y.port }}{{"),
            [
                Reference {
                    name: "x".into(),
                    position: 3
                },
                Reference {
                    name: "y.port".into(),
                    position: 9
                }
            ]
        );
        assert!(looks_like_variable("web.port"));
        assert!(looks_like_variable("env:HOME"));
        assert!(!looks_like_variable("\"a\": 1"));
        assert!(!looks_like_variable(""));
    }

    #[test]
    fn command_line_variables_need_a_name_and_an_equals_sign() {
        assert_eq!(
            parse_cli_var("a=b=c").unwrap(),
            ("a".to_string(), "b=c".to_string())
        );
        assert!(parse_cli_var("novalue").is_err());
        assert!(parse_cli_var("=x").is_err());
    }
}
