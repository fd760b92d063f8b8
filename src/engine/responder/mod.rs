//! Responders: a session's rules, run on the net thread against every message it receives
//! so that socklab answers like the device it stands in for, at wire speed and without a
//! window. Rules are written as [`ResponderSpec`] (in the window, or a rules file), compiled
//! once into a [`Responder`], and shared with the owner, which reads the hit counters live.

mod file;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Local};
use serde::{Deserialize, Serialize};

use crate::payload::{PayloadFormat, PayloadSpec, TextEncoding};

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
        todo!()
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
}

/// Compiled rules.
#[derive(Debug)]
pub struct Responder {
    // The implementation chooses its fields; it keeps an `Arc<RuleHits>`.
}

impl Responder {
    /// Compiles every rule (disabled ones too, so their errors show); all errors at once.
    pub fn compile(spec: &ResponderSpec) -> Result<Responder, Vec<RuleError>> {
        todo!()
    }

    /// The hit counters, shared.
    pub fn hits(&self) -> std::sync::Arc<RuleHits> {
        todo!()
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
        todo!()
    }
}
