//! What an expect looks for, compiled: the responder's byte patterns (with `??`
//! wildcards) and regexes, able to say *where* they matched so a raw stream can be
//! consumed up to the match's end, and which named groups they captured.

use encoding_rs::Encoding;
use regex::Regex;

use crate::engine::responder::MatchKind;
use crate::engine::responder::matcher::{BytePattern, regex_reason};
use crate::payload::{PayloadFormat, TextEncoding};

const NOTHING_TO_LOOK_FOR: &str = "type what to look for (or match any message)";

#[derive(Debug)]
pub(crate) struct Pattern {
    kind: MatchKind,
    look: Look,
    skip_others: bool,
}

#[derive(Debug)]
enum Look {
    Any,
    Bytes(BytePattern),
    /// UTF-8: run on the bytes themselves, so offsets are byte offsets even when some
    /// bytes are not valid text.
    Utf8Regex(regex::bytes::Regex),
    /// Other encodings: run on the decoded text; offsets are mapped back by encoding the
    /// text before them again.
    DecodedRegex {
        regex: Regex,
        decoder: &'static Encoding,
        encoding: TextEncoding,
    },
}

/// A match in a stream or a message: its bytes, and the named groups it captured.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub start: usize,
    pub end: usize,
    pub captures: Vec<(String, String)>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StreamMatch {
    Found(Found),
    /// Not yet: more bytes may make it match. No match starts before `searched`.
    NotYet {
        searched: usize,
    },
    /// It never will: the stream starts with other bytes.
    Never,
}

impl Pattern {
    /// `text` has the user's variables substituted already.
    pub(crate) fn compile(
        kind: MatchKind,
        text: &str,
        format: PayloadFormat,
        encoding: TextEncoding,
        skip_others: bool,
    ) -> Result<Pattern, String> {
        let look = match kind {
            MatchKind::Any => Look::Any,
            MatchKind::Regex => {
                if text.is_empty() {
                    return Err(NOTHING_TO_LOOK_FOR.into());
                }
                if encoding == TextEncoding::Utf8 {
                    Look::Utf8Regex(
                        regex::bytes::Regex::new(text)
                            .map_err(|error| regex_reason(&error, text))?,
                    )
                } else {
                    Look::DecodedRegex {
                        regex: Regex::new(text).map_err(|error| regex_reason(&error, text))?,
                        decoder: Encoding::for_label(encoding.label().as_bytes())
                            .unwrap_or(encoding_rs::UTF_8),
                        encoding,
                    }
                }
            }
            _ => Look::Bytes(BytePattern::compile_checked(text, format, encoding)?),
        };
        Ok(Pattern {
            kind,
            look,
            skip_others,
        })
    }

    pub(crate) fn skip_others(&self) -> bool {
        self.skip_others
    }

    /// The names of the regex's named groups (the variables a match sets).
    pub(crate) fn capture_names(&self) -> Vec<String> {
        let names: Vec<&str> = match &self.look {
            Look::Utf8Regex(regex) => regex.capture_names().flatten().collect(),
            Look::DecodedRegex { regex, .. } => regex.capture_names().flatten().collect(),
            Look::Any | Look::Bytes(_) => Vec::new(),
        };
        names.into_iter().map(str::to_string).collect()
    }

    /// What is looked for, as bytes (a regex: its text), for a failure's report.
    pub(crate) fn expected(&self) -> Vec<u8> {
        match &self.look {
            Look::Any => Vec::new(),
            Look::Bytes(pattern) => pattern.bytes().to_vec(),
            Look::Utf8Regex(regex) => regex.as_str().as_bytes().to_vec(),
            Look::DecodedRegex { regex, .. } => regex.as_str().as_bytes().to_vec(),
        }
    }

    /// One whole message (its body): whether it matches, and what it captured.
    pub(crate) fn match_message(&self, body: &[u8]) -> Option<Vec<(String, String)>> {
        match &self.look {
            Look::Any => Some(Vec::new()),
            Look::Bytes(pattern) => pattern.matches(self.kind, body).then(Vec::new),
            Look::Utf8Regex(_) | Look::DecodedRegex { .. } => {
                self.find_regex(body).map(|found| found.captures)
            }
        }
    }

    /// The bytes that arrived and were not consumed yet, as one stream; `searched` is what
    /// an earlier `NotYet` said (0 the first time).
    pub(crate) fn search_stream(&self, data: &[u8], searched: usize) -> StreamMatch {
        let not_yet = |searched| StreamMatch::NotYet { searched };
        match &self.look {
            Look::Any if data.is_empty() => not_yet(0),
            Look::Any => StreamMatch::Found(Found {
                start: 0,
                end: data.len(),
                captures: Vec::new(),
            }),
            Look::Bytes(pattern) => {
                let length = pattern.bytes().len();
                let anchored = matches!(self.kind, MatchKind::Exact | MatchKind::StartsWith)
                    && !self.skip_others;
                if anchored {
                    if data.len() < length {
                        return match pattern.may_start_with(data) {
                            true => not_yet(0),
                            false => StreamMatch::Never,
                        };
                    }
                    return match pattern.matches(MatchKind::StartsWith, data) {
                        true => StreamMatch::Found(Found {
                            start: 0,
                            end: length,
                            captures: Vec::new(),
                        }),
                        false => StreamMatch::Never,
                    };
                }
                if self.kind == MatchKind::EndsWith {
                    return match pattern.matches(MatchKind::EndsWith, data) {
                        true => StreamMatch::Found(Found {
                            start: data.len() - length,
                            end: data.len(),
                            captures: Vec::new(),
                        }),
                        false => not_yet(0),
                    };
                }
                match pattern.find_from(data, searched) {
                    Some(start) => StreamMatch::Found(Found {
                        start,
                        end: start + length,
                        captures: Vec::new(),
                    }),
                    // A match may still begin in the last length - 1 bytes.
                    None => not_yet(data.len().saturating_sub(length - 1).max(searched)),
                }
            }
            Look::Utf8Regex(_) | Look::DecodedRegex { .. } => match self.find_regex(data) {
                Some(found) => StreamMatch::Found(found),
                None => not_yet(0),
            },
        }
    }

    fn find_regex(&self, data: &[u8]) -> Option<Found> {
        match &self.look {
            Look::Utf8Regex(regex) => {
                let groups = regex.captures(data)?;
                let whole = groups.get(0)?;
                let captures = regex
                    .capture_names()
                    .flatten()
                    .map(|name| {
                        let value = groups
                            .name(name)
                            .map(|group| String::from_utf8_lossy(group.as_bytes()).into_owned())
                            .unwrap_or_default();
                        (name.to_string(), value)
                    })
                    .collect();
                Some(Found {
                    start: whole.start(),
                    end: whole.end(),
                    captures,
                })
            }
            Look::DecodedRegex {
                regex,
                decoder,
                encoding,
            } => {
                let text = decoder.decode_without_bom_handling(data).0;
                let groups = regex.captures(&text)?;
                let whole = groups.get(0)?;
                let captures = regex
                    .capture_names()
                    .flatten()
                    .map(|name| {
                        let value = groups.name(name).map(|g| g.as_str()).unwrap_or_default();
                        (name.to_string(), value.to_string())
                    })
                    .collect();
                // Bytes before an offset: the text before it encoded again (exact for
                // text that decoded cleanly; otherwise at most the whole stream).
                let bytes_before = |offset: usize| {
                    encoding
                        .encode(&text[..offset], 1)
                        .map(|bytes| bytes.len().min(data.len()))
                        .unwrap_or(data.len())
                };
                Some(Found {
                    start: bytes_before(whole.start()),
                    end: bytes_before(whole.end()),
                    captures,
                })
            }
            Look::Any | Look::Bytes(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(kind: MatchKind, text: &str, format: PayloadFormat, skip: bool) -> Pattern {
        Pattern::compile(kind, text, format, TextEncoding::Utf8, skip).unwrap()
    }

    fn found(start: usize, end: usize) -> StreamMatch {
        StreamMatch::Found(Found {
            start,
            end,
            captures: Vec::new(),
        })
    }

    #[test]
    fn anchored_kinds_match_at_the_stream_start_and_give_up_on_other_bytes() {
        let exact = pattern(MatchKind::Exact, "HELLO", PayloadFormat::Text, false);
        assert_eq!(
            exact.search_stream(b"HEL", 0),
            StreamMatch::NotYet { searched: 0 }
        );
        assert_eq!(exact.search_stream(b"HELLO world", 0), found(0, 5));
        assert_eq!(exact.search_stream(b"HEX", 0), StreamMatch::Never);
        assert_eq!(exact.search_stream(b"xHELLO", 0), StreamMatch::Never);
        let skipping = pattern(MatchKind::StartsWith, "HELLO", PayloadFormat::Text, true);
        assert_eq!(skipping.search_stream(b"xxHELLO", 0), found(2, 7));
    }

    #[test]
    fn contains_resumes_where_it_left_off_without_missing_a_split_match() {
        let contains = pattern(MatchKind::Contains, "ABC", PayloadFormat::Text, false);
        let StreamMatch::NotYet { searched } = contains.search_stream(b"xxxxAB", 0) else {
            panic!("no match yet");
        };
        assert_eq!(searched, 4);
        assert_eq!(contains.search_stream(b"xxxxABCz", searched), found(4, 7));
    }

    #[test]
    fn ends_with_matches_when_the_stream_ends_with_the_pattern() {
        let ends = pattern(MatchKind::EndsWith, "\\r\\n", PayloadFormat::Escaped, false);
        assert_eq!(
            ends.search_stream(b"ab\r\nc", 0),
            StreamMatch::NotYet { searched: 0 }
        );
        assert_eq!(ends.search_stream(b"ab\r\n", 0), found(2, 4));
    }

    #[test]
    fn hex_wildcards_match_any_byte_in_streams_and_messages() {
        let hex = pattern(MatchKind::Contains, "01 ?? 03", PayloadFormat::Hex, false);
        assert_eq!(hex.search_stream(b"\x00\x01\xff\x03", 0), found(1, 4));
        let exact = pattern(MatchKind::Exact, "?? 02", PayloadFormat::Hex, false);
        assert!(exact.match_message(b"\x09\x02").is_some());
        assert!(exact.match_message(b"\x09\x02\x00").is_none());
        assert_eq!(
            exact.search_stream(b"\x07", 0),
            StreamMatch::NotYet { searched: 0 }
        );
    }

    #[test]
    fn regex_named_groups_are_captured_with_byte_offsets() {
        let regex = pattern(
            MatchKind::Regex,
            r"len=(?P<len>\d+);",
            PayloadFormat::Text,
            false,
        );
        assert_eq!(regex.capture_names(), ["len"]);
        assert_eq!(
            regex.search_stream(b"\xffhead len=42; tail", 0),
            StreamMatch::Found(Found {
                start: 6,
                end: 13,
                captures: vec![("len".into(), "42".into())],
            })
        );
        assert_eq!(
            regex.match_message(b"len=7;"),
            Some(vec![("len".into(), "7".into())])
        );
    }

    #[test]
    fn regexes_in_other_encodings_give_byte_offsets() {
        let regex = Pattern::compile(
            MatchKind::Regex,
            "名字：(?P<name>.)",
            PayloadFormat::Text,
            TextEncoding::Gbk,
            false,
        )
        .unwrap();
        let stream = TextEncoding::Gbk.encode("前名字：王后", 1).unwrap();
        let StreamMatch::Found(found) = regex.search_stream(&stream, 0) else {
            panic!("matches");
        };
        assert_eq!((found.start, found.end), (2, 2 + 6 + 2));
        assert_eq!(found.captures, [("name".to_string(), "王".to_string())]);
    }

    #[test]
    fn bad_patterns_say_why() {
        let error = Pattern::compile(
            MatchKind::Regex,
            "a(",
            PayloadFormat::Text,
            TextEncoding::Utf8,
            false,
        )
        .unwrap_err();
        assert!(error.contains("unclosed group"), "{error}");
        let error = Pattern::compile(
            MatchKind::Exact,
            "",
            PayloadFormat::Text,
            TextEncoding::Utf8,
            false,
        )
        .unwrap_err();
        assert_eq!(error, NOTHING_TO_LOOK_FOR);
    }
}
