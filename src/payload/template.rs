//! Payload templates: what the composer or a rule's reply sends, with `{{variables}}`
//! filled in each time it is sent. Compiled once (where it was typed, so errors show there),
//! rendered many times (on the net thread, for every repeat tick and every rule hit).

use std::net::SocketAddr;

use chrono::{DateTime, Local};
use serde::{Deserialize, Serialize};

use super::{Checksum, LineEnding, PayloadError, PayloadFormat, TextEncoding};

/// What a person typed for a payload, before it is compiled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PayloadSpec {
    pub text: String,
    pub format: PayloadFormat,
    /// Added after the text (and after an appended checksum); never after hex.
    pub line_ending: LineEnding,
    /// Appended over everything before it (the line ending comes after).
    pub checksum: Option<Checksum>,
    /// `{{…}}` are variables; off, they are sent literally.
    pub variables: bool,
}

impl Default for PayloadSpec {
    fn default() -> Self {
        PayloadSpec {
            text: String::new(),
            format: PayloadFormat::Text,
            line_ending: LineEnding::None,
            checksum: None,
            variables: true,
        }
    }
}

/// What variables are filled in with at the moment of sending.
#[derive(Clone, Copy, Debug)]
pub struct TemplateValues<'a> {
    /// `{{counter}}`: this rule's hits, or this session's composer sends, counting from 1.
    pub counter: u64,
    /// `{{counter:global}}`: every templated payload the session sent, counting from 1.
    pub global_counter: u64,
    pub now: DateTime<Local>,
    /// `{{peer}}`: who the payload answers or goes to.
    pub peer: Option<SocketAddr>,
    /// `{{echo}}` and `{{len}}`: the message being answered, as received.
    pub message: &'a [u8],
    /// `{{0}}`, `{{1}}`, …: a regex match and its groups (missing groups render empty).
    pub captures: &'a [Option<&'a str>],
}

impl TemplateValues<'_> {
    /// Values for a payload that answers no message.
    pub fn unprompted(counter: u64, global_counter: u64, peer: Option<SocketAddr>) -> Self {
        TemplateValues {
            counter,
            global_counter,
            now: Local::now(),
            peer,
            message: &[],
            captures: &[],
        }
    }
}

/// A compiled payload: literal bytes and the variables between them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    // The implementation chooses its parts.
}

impl Template {
    /// Compiles what was typed. Errors name the character where they are (an unknown
    /// `{{name}}`, an unclosed `{{`, a bad escape or hex digit, a bad `random` range).
    pub fn compile(spec: &PayloadSpec, encoding: TextEncoding) -> Result<Template, PayloadError> {
        todo!()
    }

    /// Bytes sent as they are.
    pub fn literal(bytes: Vec<u8>) -> Template {
        todo!()
    }

    /// Renders to the same bytes every time (no variable, or variables off).
    pub fn is_constant(&self) -> bool {
        todo!()
    }

    /// Uses `{{peer}}`: sent to several peers, it is rendered once for each.
    pub fn uses_peer(&self) -> bool {
        todo!()
    }

    /// Appends the payload to `out`.
    pub fn render(&self, values: &TemplateValues<'_>, out: &mut Vec<u8>) {
        todo!()
    }
}
