//! Responders: a session's rules, run on the net thread against every message it receives
//! so that socklab answers like the device it stands in for, at wire speed and without a
//! window. Rules are written as [`ResponderSpec`] (in the window, or a rules file), compiled
//! once into a [`Responder`], and shared with the owner, which reads the hit counters live.

mod file;
pub(crate) mod matcher;

use std::borrow::Cow;
use std::cell::OnceCell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Local};
use encoding_rs::Encoding;
use serde::{Deserialize, Serialize};

use crate::payload::{
    LineEnding, PayloadFormat, PayloadSpec, Template, TemplateValues, TextEncoding,
};
use matcher::Matcher;

pub use file::{RulesFile, parse_rules_file, write_rules_file};

/// What a rule looks for in a message's body (the message without its delimiter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchKind {
    /// Every message.
    #[default]
    Any,
    Exact,
    StartsWith,
    Contains,
    EndsWith,
    /// A regular expression on the body decoded as text, with capture groups.
    Regex,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleAction {
    /// Send the reply (after the delay).
    #[default]
    Reply,
    /// Close the connection (UDP: nothing to close, the same as `Drop`).
    Close,
    /// Answer nothing, and stop looking at further rules for this message.
    Drop,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplyTo {
    /// The connection (or UDP address) the message came from.
    #[default]
    Sender,
    /// Every connection of the session (UDP: every known peer).
    All,
}

/// One rule as typed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleSpec {
    pub enabled: bool,
    /// A name for the person reading the rules; may be empty.
    pub name: String,
    pub matches: MatchKind,
    /// What to look for; unused for `Any`.
    pub pattern: String,
    /// How `pattern` is written for exact/starts/contains/ends: text, escapes, or hex where
    /// `??` stands for any byte. Regex patterns are always text.
    pub pattern_format: PayloadFormat,
    pub action: RuleAction,
    pub reply: PayloadSpec,
    pub delay_ms: u64,
    pub to: ReplyTo,
}

impl Default for RuleSpec {
    fn default() -> Self {
        RuleSpec {
            enabled: true,
            name: String::new(),
            matches: MatchKind::Any,
            pattern: String::new(),
            pattern_format: PayloadFormat::Text,
            action: RuleAction::Reply,
            reply: PayloadSpec::default(),
            delay_ms: 0,
            to: ReplyTo::Sender,
        }
    }
}

/// A session's rules, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResponderSpec {
    /// Every matching rule fires, in order; otherwise only the first.
    pub all_matching: bool,
    /// How text patterns and replies are encoded, and how regexes decode messages.
    pub encoding: TextEncoding,
    pub rules: Vec<RuleSpec>,
}

impl ResponderSpec {
    /// One rule, "any message → {{echo}}": an echo server.
    pub fn echo() -> ResponderSpec {
        ResponderSpec {
            all_matching: false,
            encoding: TextEncoding::Utf8,
            rules: vec![RuleSpec {
                name: "Echo".into(),
                reply: PayloadSpec {
                    text: "{{echo}}".into(),
                    format: PayloadFormat::Text,
                    line_ending: LineEnding::None,
                    checksum: None,
                    variables: true,
                },
                ..RuleSpec::default()
            }],
        }
    }
}

/// How the rules and scenario files name match kinds (scenarios leave out `any`, the first).
pub(crate) const MATCH_NAMES: [(MatchKind, &str); 6] = [
    (MatchKind::Any, "any"),
    (MatchKind::Exact, "exact"),
    (MatchKind::StartsWith, "starts-with"),
    (MatchKind::Contains, "contains"),
    (MatchKind::EndsWith, "ends-with"),
    (MatchKind::Regex, "regex"),
];

impl MatchKind {
    pub const ALL: [MatchKind; 6] = [
        MatchKind::Any,
        MatchKind::Exact,
        MatchKind::StartsWith,
        MatchKind::Contains,
        MatchKind::EndsWith,
        MatchKind::Regex,
    ];

    pub fn label(self) -> &'static str {
        match self {
            MatchKind::Any => "Any message",
            MatchKind::Exact => "Exact",
            MatchKind::StartsWith => "Starts with",
            MatchKind::Contains => "Contains",
            MatchKind::EndsWith => "Ends with",
            MatchKind::Regex => "Regex",
        }
    }
}

impl RuleAction {
    pub const ALL: [RuleAction; 3] = [RuleAction::Reply, RuleAction::Close, RuleAction::Drop];

    pub fn label(self) -> &'static str {
        match self {
            RuleAction::Reply => "Reply",
            RuleAction::Close => "Close connection",
            RuleAction::Drop => "Drop",
        }
    }
}

impl ReplyTo {
    pub const ALL: [ReplyTo; 2] = [ReplyTo::Sender, ReplyTo::All];

    pub fn label(self) -> &'static str {
        match self {
            ReplyTo::Sender => "Sender",
            ReplyTo::All => "All",
        }
    }
}

/// Which part of a rule an error is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleField {
    Pattern,
    Reply,
}

/// Why a rule does not compile: which rule (0-based), which field, and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    pub rule: usize,
    pub field: RuleField,
    pub message: String,
}

/// What a rule decided about one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reaction {
    Reply {
        rule: usize,
        data: Vec<u8>,
        to: ReplyTo,
        delay: Duration,
    },
    Close {
        rule: usize,
    },
    Drop {
        rule: usize,
    },
}

/// Live hit counters, one per rule, read by the owner while the net thread counts.
#[derive(Debug, Default)]
pub struct RuleHits {
    hits: Vec<AtomicU64>,
}

impl RuleHits {
    pub fn get(&self, rule: usize) -> u64 {
        self.hits
            .get(rule)
            .map_or(0, |hits| hits.load(Ordering::Relaxed))
    }
    pub fn len(&self) -> usize {
        self.hits.len()
    }
    pub fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }
    /// Hits of every rule together.
    pub fn total(&self) -> u64 {
        self.hits
            .iter()
            .map(|hits| hits.load(Ordering::Relaxed))
            .sum()
    }

    /// Counts one hit of `rule` and returns its new count.
    fn count(&self, rule: usize) -> u64 {
        // Only the net thread counts; the owner only reads.
        self.hits[rule].fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Compiled rules.
#[derive(Debug)]
pub struct Responder {
    rules: Vec<CompiledRule>,
    all_matching: bool,
    /// How regex rules decode a message (only when a regex rule is reached).
    decoder: &'static Encoding,
    hits: Arc<RuleHits>,
}

#[derive(Debug)]
struct CompiledRule {
    enabled: bool,
    matcher: Matcher,
    action: RuleAction,
    /// Empty for rules that do not reply.
    reply: Template,
    to: ReplyTo,
    delay: Duration,
}

impl Responder {
    /// Compiles every rule (disabled ones too, so their errors show); all errors at once.
    ///
    /// A reply is compiled only for rules whose action is Reply: a reply kept in a rule
    /// switched to Close or Drop is not an error.
    pub fn compile(spec: &ResponderSpec) -> Result<Responder, Vec<RuleError>> {
        let mut errors = Vec::new();
        let mut rules = Vec::with_capacity(spec.rules.len());
        for (index, rule) in spec.rules.iter().enumerate() {
            let matcher = Matcher::compile(rule, spec.encoding).map_err(|message| RuleError {
                rule: index,
                field: RuleField::Pattern,
                message,
            });
            let reply = match rule.action {
                RuleAction::Reply => {
                    Template::compile(&rule.reply, spec.encoding).map_err(|error| RuleError {
                        rule: index,
                        field: RuleField::Reply,
                        message: error.to_string(),
                    })
                }
                RuleAction::Close | RuleAction::Drop => Ok(Template::literal(Vec::new())),
            };
            match (matcher, reply) {
                (Ok(matcher), Ok(reply)) => rules.push(CompiledRule {
                    enabled: rule.enabled,
                    matcher,
                    action: rule.action,
                    reply,
                    to: rule.to,
                    delay: Duration::from_millis(rule.delay_ms),
                }),
                (matcher, reply) => errors.extend(matcher.err().into_iter().chain(reply.err())),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Responder {
            hits: Arc::new(RuleHits {
                hits: rules.iter().map(|_| AtomicU64::new(0)).collect(),
            }),
            rules,
            all_matching: spec.all_matching,
            decoder: Encoding::for_label(spec.encoding.label().as_bytes())
                .unwrap_or(encoding_rs::UTF_8),
        })
    }

    /// The hit counters, shared.
    pub fn hits(&self) -> Arc<RuleHits> {
        Arc::clone(&self.hits)
    }

    /// Runs the enabled rules against one message (`message` as received, `body` without
    /// its delimiter) and appends what to do. A rule's hit counter (its `{{counter}}`)
    /// counts up when it fires; `global_counter` counts every templated reply of the session.
    pub fn react(
        &self,
        message: &[u8],
        body: &[u8],
        peer: Option<SocketAddr>,
        now: DateTime<Local>,
        global_counter: &mut u64,
        out: &mut Vec<Reaction>,
    ) {
        // Decoded at most once per message, and only when a regex rule looks at it.
        let decoded: OnceCell<Cow<'_, str>> = OnceCell::new();
        for (index, rule) in self.rules.iter().enumerate() {
            if !rule.enabled {
                continue;
            }
            let mut captures = Vec::new();
            let matched = match &rule.matcher {
                Matcher::Any => true,
                Matcher::Bytes { kind, pattern } => pattern.matches(*kind, body),
                Matcher::Regex(regex) => {
                    let text =
                        decoded.get_or_init(|| self.decoder.decode_without_bom_handling(body).0);
                    if rule.reply.uses_captures() && rule.action == RuleAction::Reply {
                        match regex.captures(text) {
                            Some(found) => {
                                captures
                                    .extend(found.iter().map(|group| group.map(|g| g.as_str())));
                                true
                            }
                            None => false,
                        }
                    } else {
                        regex.is_match(text)
                    }
                }
            };
            if !matched {
                continue;
            }
            let counter = self.hits.count(index);
            match rule.action {
                RuleAction::Reply => {
                    *global_counter += 1;
                    let values = TemplateValues {
                        counter,
                        global_counter: *global_counter,
                        now,
                        peer,
                        message,
                        captures: &captures,
                    };
                    let mut data = Vec::new();
                    rule.reply.render(&values, &mut data);
                    out.push(Reaction::Reply {
                        rule: index,
                        data,
                        to: rule.to,
                        delay: rule.delay,
                    });
                }
                RuleAction::Close => out.push(Reaction::Close { rule: index }),
                RuleAction::Drop => {
                    out.push(Reaction::Drop { rule: index });
                    return;
                }
            }
            if !self.all_matching {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matcher::NOTHING_TO_LOOK_FOR;
    use super::*;
    use crate::payload::{Checksum, ChecksumKind};

    fn rule(matches: MatchKind, pattern: &str, reply: &str) -> RuleSpec {
        RuleSpec {
            matches,
            pattern: pattern.into(),
            reply: PayloadSpec {
                text: reply.into(),
                ..PayloadSpec::default()
            },
            ..RuleSpec::default()
        }
    }

    fn responder(rules: Vec<RuleSpec>) -> Responder {
        Responder::compile(&ResponderSpec {
            rules,
            ..ResponderSpec::default()
        })
        .unwrap()
    }

    /// What the responder does with `body` (sent with a `\n` delimiter).
    fn react(responder: &Responder, body: &[u8]) -> Vec<Reaction> {
        let mut global_counter = 0;
        react_counting(responder, body, &mut global_counter)
    }

    fn react_counting(responder: &Responder, body: &[u8], global: &mut u64) -> Vec<Reaction> {
        let mut message = body.to_vec();
        message.push(b'\n');
        let mut out = Vec::new();
        let peer = Some("127.0.0.1:4000".parse().unwrap());
        responder.react(&message, body, peer, Local::now(), global, &mut out);
        out
    }

    fn reply(rule: usize, data: &[u8]) -> Reaction {
        Reaction::Reply {
            rule,
            data: data.to_vec(),
            to: ReplyTo::Sender,
            delay: Duration::ZERO,
        }
    }

    /// Which rules reply to `body`, given one rule per pattern replying its own number.
    fn replies(
        kind: MatchKind,
        format: PayloadFormat,
        patterns: &[&str],
        body: &[u8],
    ) -> Vec<usize> {
        let rules = patterns
            .iter()
            .map(|pattern| RuleSpec {
                pattern_format: format,
                ..rule(kind, pattern, "")
            })
            .collect();
        let all = Responder::compile(&ResponderSpec {
            all_matching: true,
            rules,
            ..ResponderSpec::default()
        })
        .unwrap();
        react(&all, body)
            .into_iter()
            .map(|reaction| match reaction {
                Reaction::Reply { rule, .. } => rule,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn text_patterns_match_by_kind() {
        let patterns = ["PING", "PI", "IN", "NG", "PONG", "PING!"];
        let text = PayloadFormat::Text;
        assert_eq!(replies(MatchKind::Exact, text, &patterns, b"PING"), [0]);
        assert_eq!(
            replies(MatchKind::StartsWith, text, &patterns, b"PING"),
            [0, 1]
        );
        assert_eq!(
            replies(MatchKind::Contains, text, &patterns, b"PING"),
            [0, 1, 2, 3]
        );
        assert_eq!(
            replies(MatchKind::EndsWith, text, &patterns, b"PING"),
            [0, 3]
        );
        assert_eq!(
            replies(MatchKind::Contains, text, &patterns, b"PIN"),
            [1, 2]
        );
        assert_eq!(
            replies(MatchKind::Any, text, &patterns, b""),
            [0, 1, 2, 3, 4, 5]
        );
        assert!(replies(MatchKind::Exact, text, &patterns, b"").is_empty());
    }

    #[test]
    fn hex_patterns_take_wildcards_in_every_kind() {
        let hex = PayloadFormat::Hex;
        let frame = b"\x01\x03\x00\x10\x00\x01";
        let patterns = [
            "01 03 ?? ?? 00 01",
            "01??",
            "??01",
            "03 ?? ?? 00",
            "02 ??",
            "0103",
        ];
        assert_eq!(replies(MatchKind::Exact, hex, &patterns, frame), [0]);
        assert_eq!(
            replies(MatchKind::StartsWith, hex, &patterns, frame),
            [0, 1, 5]
        );
        assert_eq!(replies(MatchKind::EndsWith, hex, &patterns, frame), [0, 2]);
        assert_eq!(
            replies(MatchKind::Contains, hex, &patterns, frame),
            [0, 1, 2, 3, 5]
        );
        assert!(replies(MatchKind::Exact, hex, &patterns, b"\x01\x03\x00\x10\x00").is_empty());
    }

    #[test]
    fn escaped_patterns_match_control_bytes() {
        let escaped = PayloadFormat::Escaped;
        let patterns = ["\\x02", "\\x03", "a\\tb"];
        assert_eq!(
            replies(MatchKind::StartsWith, escaped, &patterns, b"\x02a\tb\x03"),
            [0]
        );
        assert_eq!(
            replies(MatchKind::Contains, escaped, &patterns, b"\x02a\tb\x03"),
            [0, 1, 2]
        );
    }

    #[test]
    fn text_patterns_are_encoded_like_the_messages() {
        let gbk = Responder::compile(&ResponderSpec {
            encoding: TextEncoding::Gbk,
            rules: vec![rule(MatchKind::Contains, "中", "是")],
            ..ResponderSpec::default()
        })
        .unwrap();
        assert_eq!(react(&gbk, b"xx\xd6\xd0yy"), [reply(0, b"\xca\xc7")]);
        assert!(react(&gbk, "中".as_bytes()).is_empty());
    }

    #[test]
    fn regex_captures_are_echoed_back() {
        let responder = responder(vec![rule(
            MatchKind::Regex,
            r"^GET (\S+)",
            "200 {{1}} {{0}}",
        )]);
        assert_eq!(
            react(&responder, b"GET /index.html HTTP/1.0"),
            [reply(0, b"200 /index.html GET /index.html")]
        );
        assert!(react(&responder, b"POST /").is_empty());
    }

    #[test]
    fn regexes_see_the_body_decoded_in_the_encoding() {
        let gbk = Responder::compile(&ResponderSpec {
            encoding: TextEncoding::Gbk,
            rules: vec![
                rule(MatchKind::Regex, "^名字：(.+)$", "你好，{{1}}"),
                rule(MatchKind::Regex, "x", "unused"),
            ],
            ..ResponderSpec::default()
        })
        .unwrap();
        let body = TextEncoding::Gbk.encode("名字：小明", 1).unwrap();
        let expected = TextEncoding::Gbk.encode("你好，小明", 1).unwrap();
        assert_eq!(react(&gbk, &body), [reply(0, &expected)]);
    }

    #[test]
    fn first_match_stops_and_all_matching_goes_on() {
        let rules = vec![
            rule(MatchKind::StartsWith, "A", "first"),
            rule(MatchKind::Contains, "B", "second"),
            rule(MatchKind::Any, "", "third"),
        ];
        let first = responder(rules.clone());
        assert_eq!(react(&first, b"AB"), [reply(0, b"first")]);
        assert_eq!(react(&first, b"B"), [reply(1, b"second")]);
        assert_eq!(react(&first, b"C"), [reply(2, b"third")]);
        let all = Responder::compile(&ResponderSpec {
            all_matching: true,
            rules,
            ..ResponderSpec::default()
        })
        .unwrap();
        assert_eq!(
            react(&all, b"AB"),
            [reply(0, b"first"), reply(1, b"second"), reply(2, b"third")]
        );
    }

    #[test]
    fn disabled_rules_neither_match_nor_count() {
        let mut off = rule(MatchKind::Any, "", "off");
        off.enabled = false;
        let responder = responder(vec![off, rule(MatchKind::Any, "", "on {{counter}}")]);
        assert_eq!(react(&responder, b"x"), [reply(1, b"on 1")]);
        let hits = responder.hits();
        assert_eq!((hits.get(0), hits.get(1), hits.len()), (0, 1, 2));
    }

    #[test]
    fn drop_stops_even_when_all_match_and_close_does_not() {
        let drop = RuleSpec {
            action: RuleAction::Drop,
            ..rule(MatchKind::Contains, "secret", "")
        };
        let close = RuleSpec {
            action: RuleAction::Close,
            ..rule(MatchKind::Exact, "QUIT", "")
        };
        let all = Responder::compile(&ResponderSpec {
            all_matching: true,
            rules: vec![close, drop, rule(MatchKind::Any, "", "bye")],
            ..ResponderSpec::default()
        })
        .unwrap();
        assert_eq!(react(&all, b"a secret"), [Reaction::Drop { rule: 1 }]);
        assert_eq!(
            react(&all, b"QUIT"),
            [Reaction::Close { rule: 0 }, reply(2, b"bye")]
        );
        assert_eq!(
            all.hits().get(2),
            1,
            "the dropped message did not reach rule 3"
        );
    }

    #[test]
    fn delay_and_recipients_are_carried() {
        let later = RuleSpec {
            delay_ms: 250,
            to: ReplyTo::All,
            ..rule(MatchKind::Any, "", "later")
        };
        assert_eq!(
            react(&responder(vec![later]), b"x"),
            [Reaction::Reply {
                rule: 0,
                data: b"later".to_vec(),
                to: ReplyTo::All,
                delay: Duration::from_millis(250),
            }]
        );
    }

    #[test]
    fn rule_and_global_counters_count_up() {
        let responder = responder(vec![
            rule(
                MatchKind::StartsWith,
                "a",
                "a{{counter}}/{{counter:global}}",
            ),
            rule(MatchKind::Any, "", "b{{counter}}/{{counter:global}}"),
        ]);
        let mut global = 10;
        let mut seen = Vec::new();
        for body in [b"a", b"b", b"a", b"b"] {
            seen.extend(react_counting(&responder, body, &mut global));
        }
        assert_eq!(
            seen,
            [
                reply(0, b"a1/11"),
                reply(1, b"b1/12"),
                reply(0, b"a2/13"),
                reply(1, b"b2/14"),
            ]
        );
        assert_eq!(global, 14);
        assert_eq!(responder.hits().total(), 4);
    }

    #[test]
    fn every_error_names_its_rule_and_field() {
        let spec = ResponderSpec {
            rules: vec![
                rule(MatchKind::Any, "", "fine"),
                rule(MatchKind::Regex, "^GET (", "x"),
                RuleSpec {
                    pattern_format: PayloadFormat::Hex,
                    enabled: false,
                    ..rule(MatchKind::Contains, "01 0g", "x")
                },
                rule(MatchKind::StartsWith, "", "x"),
                rule(MatchKind::Exact, "ok", "{{nope}}"),
                rule(MatchKind::Exact, "", "{{"),
                RuleSpec {
                    action: RuleAction::Drop,
                    ..rule(MatchKind::Any, "", "{{not a reply}}")
                },
            ],
            ..ResponderSpec::default()
        };
        let errors = Responder::compile(&spec).unwrap_err();
        let found: Vec<(usize, RuleField, &str)> = errors
            .iter()
            .map(|error| (error.rule, error.field, error.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (1, RuleField::Pattern, "unclosed group at character 6"),
                (
                    2,
                    RuleField::Pattern,
                    "'g' is not a hex digit at character 5"
                ),
                (3, RuleField::Pattern, NOTHING_TO_LOOK_FOR),
                (
                    4,
                    RuleField::Reply,
                    "unknown variable {{nope}} at character 1"
                ),
                (5, RuleField::Pattern, NOTHING_TO_LOOK_FOR),
                (
                    5,
                    RuleField::Reply,
                    "{{ is not closed with }} (turn variables off to send braces as typed) at character 1"
                ),
            ]
        );
    }

    #[test]
    fn hex_wildcard_errors_point_into_the_whole_pattern() {
        let bad = RuleSpec {
            pattern_format: PayloadFormat::Hex,
            ..rule(MatchKind::Contains, "01 ?? 0", "")
        };
        let errors = Responder::compile(&ResponderSpec {
            rules: vec![bad],
            ..ResponderSpec::default()
        })
        .unwrap_err();
        assert_eq!(
            errors[0].message,
            "'0' has no second hex digit (write 00) at character 7"
        );
    }

    #[test]
    fn echo_sends_back_exactly_what_came_delimiter_included() {
        let echo = Responder::compile(&ResponderSpec::echo()).unwrap();
        let mut out = Vec::new();
        let mut global = 0;
        let message = b"\x00\xff\xfeabc\r\n";
        echo.react(
            message,
            &message[..6],
            None,
            Local::now(),
            &mut global,
            &mut out,
        );
        assert_eq!(out, [reply(0, message)]);
        assert_eq!(global, 1);
    }

    #[test]
    fn replies_may_end_with_a_checksum() {
        let modbus = RuleSpec {
            pattern_format: PayloadFormat::Hex,
            reply: PayloadSpec {
                text: "01 03 02 00 2A".into(),
                format: PayloadFormat::Hex,
                checksum: Some(Checksum::usual(ChecksumKind::Crc16Modbus)),
                ..PayloadSpec::default()
            },
            ..rule(MatchKind::Exact, "01 03 00 00 00 01 84 0A", "")
        };
        let responder = responder(vec![modbus]);
        let answer = match &react(&responder, b"\x01\x03\x00\x00\x00\x01\x84\x0a")[..] {
            [Reaction::Reply { data, .. }] => data.clone(),
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(&answer[..5], b"\x01\x03\x02\x00\x2a");
        assert_eq!(
            Checksum::usual(ChecksumKind::Crc16Modbus).verify(&answer),
            Some(true)
        );
    }

    #[test]
    fn compiled_rules_can_be_shared_with_the_net_thread() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Responder>();
        shareable::<Template>();
    }

    #[test]
    fn labels_cover_every_choice() {
        assert_eq!(
            MatchKind::ALL.map(MatchKind::label),
            [
                "Any message",
                "Exact",
                "Starts with",
                "Contains",
                "Ends with",
                "Regex"
            ]
        );
        assert_eq!(
            RuleAction::ALL.map(RuleAction::label),
            ["Reply", "Close connection", "Drop"]
        );
        assert_eq!(ReplyTo::ALL.map(ReplyTo::label), ["Sender", "All"]);
    }
}
