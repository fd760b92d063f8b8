//! What a rule looks for, compiled once: bytes (with `??` wildcards when written in hex)
//! compared in place, or a regex run on the decoded body.

use regex::Regex;

use super::{MatchKind, RuleSpec};
use crate::payload::{PayloadError, PayloadFormat, TextEncoding, parse_escaped, parse_hex};

#[derive(Debug)]
pub(super) enum Matcher {
    Any,
    Bytes {
        kind: MatchKind,
        pattern: BytePattern,
    },
    Regex(Regex),
}

/// Bytes to find, some of which may stand for any byte.
#[derive(Debug)]
pub(crate) struct BytePattern {
    bytes: Vec<u8>,
    /// `true` where any byte matches; empty when nothing is a wildcard (the fast path).
    wildcards: Vec<bool>,
}

pub(super) const NOTHING_TO_LOOK_FOR: &str = "type what to look for (or match any message)";

impl Matcher {
    pub(super) fn compile(rule: &RuleSpec, encoding: TextEncoding) -> Result<Matcher, String> {
        match rule.matches {
            MatchKind::Any => Ok(Matcher::Any),
            MatchKind::Regex => {
                if rule.pattern.is_empty() {
                    return Err(NOTHING_TO_LOOK_FOR.into());
                }
                Regex::new(&rule.pattern)
                    .map(Matcher::Regex)
                    .map_err(|error| regex_reason(&error, &rule.pattern))
            }
            kind => Ok(Matcher::Bytes {
                kind,
                pattern: BytePattern::compile_checked(
                    &rule.pattern,
                    rule.pattern_format,
                    encoding,
                )?,
            }),
        }
    }
}

impl BytePattern {
    /// Compiles a pattern that must find at least one byte; errors in words.
    pub(crate) fn compile_checked(
        text: &str,
        format: PayloadFormat,
        encoding: TextEncoding,
    ) -> Result<BytePattern, String> {
        let pattern =
            BytePattern::compile(text, format, encoding).map_err(|error| error.to_string())?;
        if pattern.bytes.is_empty() {
            return Err(NOTHING_TO_LOOK_FOR.into());
        }
        Ok(pattern)
    }

    /// The bytes looked for (a wildcard shows as 0).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Where the pattern first occurs in `data` at or after `from`.
    pub(crate) fn find_from(&self, data: &[u8], from: usize) -> Option<usize> {
        let length = self.bytes.len();
        if data.len() < length || from > data.len() - length {
            return None;
        }
        let first = self.bytes[0];
        let first_is_wildcard = self.wildcards.first() == Some(&true);
        data[from..]
            .windows(length)
            .position(|window| (first_is_wildcard || window[0] == first) && self.matches_at(window))
            .map(|position| from + position)
    }

    /// Whether `data` (no longer than the pattern) may still grow into it: every byte so
    /// far is the pattern's.
    pub(crate) fn may_start_with(&self, data: &[u8]) -> bool {
        let length = data.len().min(self.bytes.len());
        self.matches_at_prefix(&data[..length])
    }

    fn matches_at_prefix(&self, window: &[u8]) -> bool {
        if self.wildcards.is_empty() {
            return window == &self.bytes[..window.len()];
        }
        window
            .iter()
            .zip(&self.bytes)
            .zip(&self.wildcards)
            .all(|((byte, wanted), any)| *any || byte == wanted)
    }

    fn compile(
        text: &str,
        format: PayloadFormat,
        encoding: TextEncoding,
    ) -> Result<BytePattern, PayloadError> {
        let bytes = match format {
            PayloadFormat::Text => encoding.encode(text, 1)?,
            PayloadFormat::Escaped => parse_escaped(text, encoding)?,
            PayloadFormat::Hex => return parse_hex_with_wildcards(text),
        };
        Ok(BytePattern {
            bytes,
            wildcards: Vec::new(),
        })
    }

    pub(crate) fn matches(&self, kind: MatchKind, body: &[u8]) -> bool {
        let length = self.bytes.len();
        if body.len() < length {
            return false;
        }
        match kind {
            MatchKind::Exact => body.len() == length && self.matches_at(body),
            MatchKind::StartsWith => self.matches_at(&body[..length]),
            MatchKind::EndsWith => self.matches_at(&body[body.len() - length..]),
            MatchKind::Contains => self.is_in(body),
            // Compiled to other matchers; never given a byte pattern.
            MatchKind::Any | MatchKind::Regex => true,
        }
    }

    /// `window` is as long as the pattern.
    fn matches_at(&self, window: &[u8]) -> bool {
        if self.wildcards.is_empty() {
            return window == self.bytes;
        }
        window
            .iter()
            .zip(&self.bytes)
            .zip(&self.wildcards)
            .all(|((byte, wanted), any)| *any || byte == wanted)
    }

    fn is_in(&self, body: &[u8]) -> bool {
        let length = self.bytes.len();
        if self.wildcards.is_empty() {
            let first = self.bytes[0];
            return body
                .windows(length)
                .any(|window| window[0] == first && window == self.bytes);
        }
        body.windows(length).any(|window| self.matches_at(window))
    }
}

/// Hex where `??` stands for any byte: `01 03 ?? ?? 00 01`. The hex between wildcards is
/// whole bytes; error positions are in the whole text.
fn parse_hex_with_wildcards(text: &str) -> Result<BytePattern, PayloadError> {
    let mut bytes = Vec::new();
    let mut wildcards = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    loop {
        let (segment, wildcard) = match rest.split_once("??") {
            Some((segment, after)) => (segment, Some(after)),
            None => (rest, None),
        };
        let parsed = parse_hex(segment).map_err(|error| PayloadError {
            position: error.position + offset,
            ..error
        })?;
        wildcards.resize(wildcards.len() + parsed.len(), false);
        bytes.extend(parsed);
        let Some(after) = wildcard else { break };
        bytes.push(0);
        wildcards.push(true);
        offset += segment.chars().count() + 2;
        rest = after;
    }
    if !wildcards.contains(&true) {
        wildcards.clear();
    }
    Ok(BytePattern { bytes, wildcards })
}

/// The regex crate's reason, on one line, with the character it points at when it draws
/// one under a one-line pattern.
pub(crate) fn regex_reason(error: &regex::Error, pattern: &str) -> String {
    let regex::Error::Syntax(text) = error else {
        return match error {
            regex::Error::CompiledTooBig(limit) => {
                format!("the regex is too big (over {limit} bytes once compiled)")
            }
            other => other.to_string(),
        };
    };
    let lines: Vec<&str> = text.lines().collect();
    let reason = lines
        .iter()
        .rev()
        .find_map(|line| line.strip_prefix("error: "))
        .unwrap_or(text);
    // The crate draws "    PATTERN" then "    ^^^" under the offending part.
    let drawn = lines.get(1).and_then(|line| line.strip_prefix("    ")) == Some(pattern);
    let caret = lines
        .get(2)
        .filter(|line| line.trim_start().starts_with('^'));
    match caret {
        Some(caret) if drawn => {
            let column = caret.chars().take_while(|c| *c == ' ').count();
            format!("{reason} at character {}", column.saturating_sub(4) + 1)
        }
        _ => reason.to_string(),
    }
}
