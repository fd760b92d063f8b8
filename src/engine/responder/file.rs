//! The rules file: a session's responder (and optionally its framing) as TOML, shared by
//! the window's export/import and `socklab server|udp --rules FILE`.
//!
//! The file is flat on purpose, one `[[rule]]` table per rule with every field optional:
//!
//! ```toml
//! mode = "first-match"          # or "all-matching"
//! encoding = "UTF-8"            # text patterns, replies and regex decoding
//! framing = "line"              # optional: raw, line, line:crlf, delim:0d0a, fixed:16, len:2be
//! max-message = 1048576         # optional
//! check = "crc16-modbus"        # optional: checksum checked on received messages
//!
//! [[rule]]
//! name = "ping"
//! match = "regex"               # any, exact, starts-with, contains, ends-with, regex
//! pattern = '^PING (\d+)'
//! pattern-format = "text"       # text, escaped, hex (hex takes ?? for any byte)
//! action = "reply"              # reply, close, drop
//! reply = "PONG {{1}} #{{counter}}"
//! reply-format = "text"
//! line-ending = "lf"            # none, lf, crlf, cr
//! append-checksum = "crc16-modbus:le"
//! variables = true
//! delay-ms = 0
//! to = "sender"                 # sender, all
//! enabled = true
//! ```

use serde::{Deserialize, Serialize};

use super::{MATCH_NAMES, ReplyTo, Responder, ResponderSpec, RuleAction, RuleField, RuleSpec};
use crate::engine::framing::{DEFAULT_MAX_MESSAGE, Framing, FramingSpec};
use crate::payload::{
    Checksum, LINE_ENDING_NAMES, PayloadFormat, PayloadSpec, TextEncoding, name_in,
};

/// What a rules file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RulesFile {
    pub responder: ResponderSpec,
    /// The framing the rules were written for, if the file says.
    pub framing: Option<FramingSpec>,
}

/// Reads a rules file; errors give the line and column, or the rule and its reason.
///
/// The rules are compiled too, so a bad regex or reply is reported before anything opens.
/// A file that names only `max-message` or `check` gets raw framing.
pub fn parse_rules_file(text: &str) -> Result<RulesFile, String> {
    let shape: FileShape =
        toml::from_str(text).map_err(|error| error.to_string().trim_end().to_string())?;
    let file = shape.into_rules_file()?;
    if let Err(errors) = Responder::compile(&file.responder) {
        let lines: Vec<String> = errors
            .iter()
            .map(|error| {
                let field = match error.field {
                    RuleField::Pattern => "pattern",
                    RuleField::Reply => "reply",
                };
                format!("rule {}, {field}: {}", error.rule + 1, error.message)
            })
            .collect();
        return Err(lines.join("\n"));
    }
    Ok(file)
}

/// Writes a rules file that [`parse_rules_file`] reads back as the same.
pub fn write_rules_file(file: &RulesFile) -> String {
    let shape = FileShape::from_rules_file(file);
    match toml::to_string(&shape) {
        Ok(body) => format!("# socklab rules\n{body}"),
        // Only strings, booleans, clamped integers and tables: nothing TOML cannot hold.
        Err(error) => format!("# socklab could not write these rules: {error}\n"),
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileShape {
    #[serde(default = "first_match")]
    mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    framing: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_message: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    check: Option<String>,
    #[serde(default)]
    rule: Vec<RuleShape>,
}

fn first_match() -> String {
    MODES[0].to_string()
}

/// Every field optional, defaulting to [`RuleSpec::default`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
struct RuleShape {
    name: String,
    #[serde(rename = "match")]
    matches: String,
    pattern: String,
    pattern_format: String,
    action: String,
    reply: String,
    reply_format: String,
    line_ending: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    append_checksum: Option<String>,
    variables: bool,
    delay_ms: u64,
    to: String,
    enabled: bool,
}

impl Default for RuleShape {
    fn default() -> Self {
        RuleShape::from_spec(&RuleSpec::default())
    }
}

const MODES: [&str; 2] = ["first-match", "all-matching"];

const FORMAT_NAMES: [(PayloadFormat, &str); 3] = [
    (PayloadFormat::Text, "text"),
    (PayloadFormat::Escaped, "escaped"),
    (PayloadFormat::Hex, "hex"),
];

const ACTION_NAMES: [(RuleAction, &str); 3] = [
    (RuleAction::Reply, "reply"),
    (RuleAction::Close, "close"),
    (RuleAction::Drop, "drop"),
];

const TO_NAMES: [(ReplyTo, &str); 2] = [(ReplyTo::Sender, "sender"), (ReplyTo::All, "all")];

/// The value `text` names (ignoring case), or why not, listing the names there are.
fn value_of<T: Copy>(names: &[(T, &'static str)], text: &str) -> Result<T, String> {
    names
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(text.trim()))
        .map(|(value, _)| *value)
        .ok_or_else(|| {
            let choices: Vec<&str> = names.iter().map(|(_, name)| *name).collect();
            format!("unknown \"{text}\" (use {})", choices.join(", "))
        })
}

impl FileShape {
    fn from_rules_file(file: &RulesFile) -> FileShape {
        let responder = &file.responder;
        let framing = file.framing.as_ref();
        FileShape {
            mode: MODES[usize::from(responder.all_matching)].to_string(),
            encoding: Some(responder.encoding.label().to_string()),
            framing: framing.map(|spec| framing_to_text(&spec.framing)),
            max_message: framing
                .map(|spec| spec.max_message)
                .filter(|max| *max != DEFAULT_MAX_MESSAGE)
                // TOML integers are signed 64-bit.
                .map(|max| u64::try_from(max).unwrap_or(u64::MAX).min(i64::MAX as u64)),
            check: framing
                .and_then(|spec| spec.checksum)
                .map(|checksum| checksum.to_string()),
            rule: responder.rules.iter().map(RuleShape::from_spec).collect(),
        }
    }

    fn into_rules_file(self) -> Result<RulesFile, String> {
        let all_matching = match value_of(&[(false, MODES[0]), (true, MODES[1])], &self.mode) {
            Ok(all) => all,
            Err(reason) => return Err(format!("mode: {reason}")),
        };
        let encoding = match &self.encoding {
            None => TextEncoding::default(),
            Some(name) => TextEncoding::from_label(name)?,
        };
        let framing =
            if self.framing.is_none() && self.max_message.is_none() && self.check.is_none() {
                None
            } else {
                let framing = match &self.framing {
                    None => Framing::Raw,
                    Some(text) => {
                        framing_from_text(text).map_err(|reason| format!("framing: {reason}"))?
                    }
                };
                let checksum = match &self.check {
                    None => None,
                    Some(text) => {
                        Some(Checksum::parse(text).map_err(|reason| format!("check: {reason}"))?)
                    }
                };
                let max_message = match self.max_message {
                    None => DEFAULT_MAX_MESSAGE,
                    Some(max) => usize::try_from(max).unwrap_or(usize::MAX),
                };
                let spec = FramingSpec {
                    framing,
                    max_message,
                    checksum,
                };
                spec.validate()
                    .map_err(|reason| format!("framing: {reason}"))?;
                Some(spec)
            };
        let rules = self
            .rule
            .into_iter()
            .enumerate()
            .map(|(index, rule)| rule.into_spec(index + 1))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RulesFile {
            responder: ResponderSpec {
                all_matching,
                encoding,
                rules,
            },
            framing,
        })
    }
}

impl RuleShape {
    fn from_spec(rule: &RuleSpec) -> RuleShape {
        RuleShape {
            name: rule.name.clone(),
            matches: name_in(&MATCH_NAMES, rule.matches).to_string(),
            pattern: rule.pattern.clone(),
            pattern_format: name_in(&FORMAT_NAMES, rule.pattern_format).to_string(),
            action: name_in(&ACTION_NAMES, rule.action).to_string(),
            reply: rule.reply.text.clone(),
            reply_format: name_in(&FORMAT_NAMES, rule.reply.format).to_string(),
            line_ending: name_in(&LINE_ENDING_NAMES, rule.reply.line_ending).to_string(),
            append_checksum: rule.reply.checksum.map(|checksum| checksum.to_string()),
            variables: rule.reply.variables,
            // TOML integers are signed 64-bit.
            delay_ms: rule.delay_ms.min(i64::MAX as u64),
            to: name_in(&TO_NAMES, rule.to).to_string(),
            enabled: rule.enabled,
        }
    }

    /// `number` is 1-based, as people count rules.
    fn into_spec(self, number: usize) -> Result<RuleSpec, String> {
        let in_field =
            |name: &'static str| move |reason: String| format!("rule {number}, {name}: {reason}");
        Ok(RuleSpec {
            enabled: self.enabled,
            name: self.name,
            matches: value_of(&MATCH_NAMES, &self.matches).map_err(in_field("match"))?,
            pattern: self.pattern,
            pattern_format: value_of(&FORMAT_NAMES, &self.pattern_format)
                .map_err(in_field("pattern-format"))?,
            action: value_of(&ACTION_NAMES, &self.action).map_err(in_field("action"))?,
            reply: PayloadSpec {
                text: self.reply,
                format: value_of(&FORMAT_NAMES, &self.reply_format)
                    .map_err(in_field("reply-format"))?,
                line_ending: value_of(&LINE_ENDING_NAMES, &self.line_ending)
                    .map_err(in_field("line-ending"))?,
                checksum: match &self.append_checksum {
                    None => None,
                    Some(text) => Some(Checksum::parse(text).map_err(in_field("append-checksum"))?),
                },
                variables: self.variables,
            },
            delay_ms: self.delay_ms,
            to: value_of(&TO_NAMES, &self.to).map_err(in_field("to"))?,
        })
    }
}

fn framing_from_text(text: &str) -> Result<Framing, String> {
    text.parse::<Framing>()
}

fn framing_to_text(framing: &Framing) -> String {
    framing.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::framing::LineEnd;
    use crate::engine::responder::MatchKind;
    use crate::payload::{ByteOrder, ChecksumKind, LineEnding};

    const PING_RULES: &str = r#"
# socklab rules
mode = "all-matching"
encoding = "gbk"

[[rule]]
name = "ping"
match = "regex"
pattern = '^PING (\d+)'
reply = "PONG {{1}} #{{counter}}"
line-ending = "crlf"
delay-ms = 20

[[rule]]
match = "starts-with"
pattern = "01 03 ?? ??"
pattern-format = "hex"
action = "drop"
enabled = false
"#;

    fn ping_rules() -> ResponderSpec {
        ResponderSpec {
            all_matching: true,
            encoding: TextEncoding::Gbk,
            rules: vec![
                RuleSpec {
                    name: "ping".into(),
                    matches: MatchKind::Regex,
                    pattern: r"^PING (\d+)".into(),
                    reply: PayloadSpec {
                        text: "PONG {{1}} #{{counter}}".into(),
                        line_ending: LineEnding::CrLf,
                        ..PayloadSpec::default()
                    },
                    delay_ms: 20,
                    ..RuleSpec::default()
                },
                RuleSpec {
                    matches: MatchKind::StartsWith,
                    pattern: "01 03 ?? ??".into(),
                    pattern_format: PayloadFormat::Hex,
                    action: RuleAction::Drop,
                    enabled: false,
                    ..RuleSpec::default()
                },
            ],
        }
    }

    #[test]
    fn a_file_reads_into_the_rules_it_describes() {
        let file = parse_rules_file(PING_RULES).unwrap();
        assert_eq!(file.responder, ping_rules());
        assert_eq!(file.framing, None);
    }

    #[test]
    fn an_empty_file_is_no_rules() {
        assert_eq!(parse_rules_file("").unwrap(), RulesFile::default());
    }

    #[test]
    fn written_rules_read_back_the_same() {
        let mut rules = ping_rules();
        rules.rules.push(RuleSpec {
            name: "quit \"now\"".into(),
            matches: MatchKind::Exact,
            pattern: "QUIT\\r".into(),
            pattern_format: PayloadFormat::Escaped,
            action: RuleAction::Close,
            reply: PayloadSpec {
                text: "bye\n'{{peer}}'".into(),
                format: PayloadFormat::Escaped,
                line_ending: LineEnding::Cr,
                checksum: None,
                variables: false,
            },
            delay_ms: 0,
            to: ReplyTo::All,
            enabled: true,
        });
        let file = RulesFile {
            responder: rules,
            framing: None,
        };
        let written = write_rules_file(&file);
        assert!(written.starts_with("# socklab rules\n"), "{written}");
        assert!(written.contains("[[rule]]"), "{written}");
        assert_eq!(parse_rules_file(&written).unwrap(), file);
    }

    /// Needs Framing's and Checksum's text forms (the framing branch).
    #[test]
    fn framing_and_checksums_read_and_round_trip() {
        let text = r#"
framing = "line:crlf"
max-message = 4096
check = "crc16-modbus"

[[rule]]
match = "any"
reply = "01 03 02 00 2A"
reply-format = "hex"
append-checksum = "crc16-modbus:be"
"#;
        let file = parse_rules_file(text).unwrap();
        let expected = RulesFile {
            responder: ResponderSpec {
                rules: vec![RuleSpec {
                    reply: PayloadSpec {
                        text: "01 03 02 00 2A".into(),
                        format: PayloadFormat::Hex,
                        checksum: Some(Checksum {
                            kind: ChecksumKind::Crc16Modbus,
                            order: ByteOrder::Big,
                        }),
                        ..PayloadSpec::default()
                    },
                    ..RuleSpec::default()
                }],
                ..ResponderSpec::default()
            },
            framing: Some(FramingSpec {
                framing: Framing::Line(LineEnd::CrLf),
                max_message: 4096,
                checksum: Some(Checksum::usual(ChecksumKind::Crc16Modbus)),
            }),
        };
        assert_eq!(file, expected);
        assert_eq!(parse_rules_file(&write_rules_file(&file)).unwrap(), file);

        let delimited = RulesFile {
            responder: ResponderSpec::echo(),
            framing: Some(FramingSpec {
                framing: Framing::Delimiter(vec![0xde, 0xad]),
                ..FramingSpec::default()
            }),
        };
        let written = write_rules_file(&delimited);
        assert!(!written.contains("max-message"), "{written}");
        assert_eq!(parse_rules_file(&written).unwrap(), delimited);
    }

    #[test]
    fn syntax_errors_give_the_line() {
        let error = parse_rules_file("mode = \"first-match\"\n[[rule]\n").unwrap_err();
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    fn misspelt_keys_are_errors() {
        let error = parse_rules_file("[[rule]]\npatern = \"x\"\n").unwrap_err();
        assert!(
            error.contains("patern") && error.contains("line 2"),
            "{error}"
        );
        let error = parse_rules_file("moed = \"all-matching\"\n").unwrap_err();
        assert!(error.contains("moed"), "{error}");
    }

    #[test]
    fn bad_values_name_the_rule_and_field() {
        let error = parse_rules_file("[[rule]]\n[[rule]]\nmatch = \"startswith\"\n").unwrap_err();
        assert_eq!(
            error,
            "rule 2, match: unknown \"startswith\" (use any, exact, starts-with, contains, \
             ends-with, regex)"
        );
        let error = parse_rules_file("[[rule]]\nto = \"everyone\"\n").unwrap_err();
        assert!(
            error.starts_with("rule 1, to: unknown \"everyone\""),
            "{error}"
        );
        let error = parse_rules_file("encoding = \"latin-9\"\n").unwrap_err();
        assert!(
            error.starts_with("encoding: unknown \"latin-9\" (use UTF-8, GBK"),
            "{error}"
        );
        let error = parse_rules_file("mode = \"every\"\n").unwrap_err();
        assert_eq!(
            error,
            "mode: unknown \"every\" (use first-match, all-matching)"
        );
    }

    #[test]
    fn rules_that_do_not_compile_are_reported_with_their_number() {
        let text = "[[rule]]\nmatch = \"regex\"\npattern = \"^GET (\"\n\
                    [[rule]]\nmatch = \"contains\"\n";
        let error = parse_rules_file(text).unwrap_err();
        let lines: Vec<&str> = error.lines().collect();
        assert_eq!(
            lines,
            [
                "rule 1, pattern: unclosed group at character 6",
                "rule 2, pattern: type what to look for (or match any message)",
            ]
        );
    }
}
