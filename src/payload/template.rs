//! Payload templates: what the composer or a rule's reply sends, with `{{variables}}`
//! filled in each time it is sent. Compiled once (where it was typed, so errors show there),
//! rendered many times (on the net thread, for every repeat tick and every rule hit).

use std::io::Write;
use std::net::SocketAddr;

use chrono::{DateTime, Datelike, Local, Timelike};
use encoding_rs::{EncoderResult, Encoding};
use serde::{Deserialize, Serialize};

use super::{
    ByteOrder, Checksum, ChecksumKind, LineEnding, PayloadError, PayloadFormat, TextEncoding,
    encode_payload, parse_escaped, parse_hex,
};

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
    /// Adjacent literals are merged, and whatever can be computed once (a checksum over
    /// constant bytes) already is, so a constant template is one literal.
    parts: Vec<Part>,
    /// Captures are text: they are written in the template's encoding.
    encoding: &'static Encoding,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(Vec<u8>),
    Var(Variable),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variable {
    Counter,
    GlobalCounter,
    Time,
    Date,
    UnixTime,
    UnixTimeMs,
    Uuid,
    /// Inclusive bounds.
    Random {
        low: i64,
        high: i64,
    },
    Peer,
    Echo,
    Len,
    Capture(usize),
    /// Over every byte rendered before it in this payload.
    Checksum(Checksum),
}

impl Template {
    /// Compiles what was typed. Errors name the character where they are (an unknown
    /// `{{name}}`, an unclosed `{{`, a bad escape or hex digit, a bad `random` range).
    ///
    /// With variables off, braces are sent as typed: that is how to send a literal `{{`.
    pub fn compile(spec: &PayloadSpec, encoding: TextEncoding) -> Result<Template, PayloadError> {
        let mut parts = Parts::default();
        if spec.variables {
            compile_variables(&spec.text, spec.format, encoding, &mut parts)?;
        } else {
            parts.literal(encode_payload(
                &spec.text,
                spec.format,
                encoding,
                LineEnding::None,
            )?);
        }
        if let Some(checksum) = spec.checksum {
            parts.variable(Variable::Checksum(checksum));
        }
        if spec.format.takes_line_ending() {
            parts.literal(spec.line_ending.bytes().to_vec());
        }
        Ok(Template {
            parts: parts.0,
            encoding: encoding_of(encoding),
        })
    }

    /// Bytes sent as they are.
    pub fn literal(bytes: Vec<u8>) -> Template {
        let mut parts = Parts::default();
        parts.literal(bytes);
        Template {
            parts: parts.0,
            encoding: encoding_rs::UTF_8,
        }
    }

    /// Renders to the same bytes every time (no variable, or variables off).
    pub fn is_constant(&self) -> bool {
        self.parts
            .iter()
            .all(|part| matches!(part, Part::Literal(_)))
    }

    /// Uses `{{peer}}`: sent to several peers, it is rendered once for each.
    pub fn uses_peer(&self) -> bool {
        self.parts.contains(&Part::Var(Variable::Peer))
    }

    /// Uses `{{0}}`, `{{1}}`, …: a regex rule must find its groups, not only whether it
    /// matches.
    pub(crate) fn uses_captures(&self) -> bool {
        self.parts
            .iter()
            .any(|part| matches!(part, Part::Var(Variable::Capture(_))))
    }

    /// Appends the payload to `out`.
    pub fn render(&self, values: &TemplateValues<'_>, out: &mut Vec<u8>) {
        let start = out.len();
        for part in &self.parts {
            match part {
                Part::Literal(bytes) => out.extend_from_slice(bytes),
                Part::Var(variable) => self.render_variable(*variable, values, start, out),
            }
        }
    }

    fn render_variable(
        &self,
        variable: Variable,
        values: &TemplateValues<'_>,
        start: usize,
        out: &mut Vec<u8>,
    ) {
        // Writing into a Vec cannot fail.
        let _ = match variable {
            Variable::Counter => write!(out, "{}", values.counter),
            Variable::GlobalCounter => write!(out, "{}", values.global_counter),
            Variable::Time => {
                let now = values.now;
                // A leap second shows as 999 ms rather than 1000.
                let millis = (now.nanosecond() / 1_000_000).min(999);
                write!(
                    out,
                    "{:02}:{:02}:{:02}.{millis:03}",
                    now.hour(),
                    now.minute(),
                    now.second()
                )
            }
            Variable::Date => {
                let now = values.now;
                write!(out, "{:04}-{:02}-{:02}", now.year(), now.month(), now.day())
            }
            Variable::UnixTime => write!(out, "{}", values.now.timestamp()),
            Variable::UnixTimeMs => write!(out, "{}", values.now.timestamp_millis()),
            Variable::Uuid => {
                let uuid =
                    uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid();
                let mut buffer = [0; uuid::fmt::Hyphenated::LENGTH];
                out.extend_from_slice(uuid.hyphenated().encode_lower(&mut buffer).as_bytes());
                Ok(())
            }
            Variable::Random { low, high } => write!(out, "{}", fastrand::i64(low..=high)),
            Variable::Peer => match values.peer {
                Some(peer) => write!(out, "{peer}"),
                None => Ok(()),
            },
            Variable::Echo => {
                out.extend_from_slice(values.message);
                Ok(())
            }
            Variable::Len => write!(out, "{}", values.message.len()),
            Variable::Capture(index) => {
                if let Some(Some(text)) = values.captures.get(index) {
                    encode_lossy(self.encoding, text, out);
                }
                Ok(())
            }
            Variable::Checksum(checksum) => {
                checksum.append_over(out, start);
                Ok(())
            }
        };
    }
}

/// The parts being compiled: literals merged, checksums over constant bytes computed.
#[derive(Default)]
struct Parts(Vec<Part>);

impl Parts {
    fn literal(&mut self, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        match self.0.last_mut() {
            Some(Part::Literal(last)) => last.extend_from_slice(&bytes),
            _ => self.0.push(Part::Literal(bytes)),
        }
    }

    fn variable(&mut self, variable: Variable) {
        if let Variable::Checksum(checksum) = variable {
            let constant_so_far = match self.0.as_slice() {
                [] => Some(Vec::new()),
                [Part::Literal(bytes)] => Some(bytes.clone()),
                _ => None,
            };
            if let Some(mut bytes) = constant_so_far {
                checksum.append_over(&mut bytes, 0);
                self.0.clear();
                self.0.push(Part::Literal(bytes));
                return;
            }
        }
        self.0.push(Part::Var(variable));
    }
}

/// Splits `text` at `{{…}}`, encoding the literal text between variables in `format`.
fn compile_variables(
    text: &str,
    format: PayloadFormat,
    encoding: TextEncoding,
    parts: &mut Parts,
) -> Result<(), PayloadError> {
    // Byte offset and 0-based character index of the text not yet compiled.
    let mut rest = 0;
    let mut rest_chars = 0;
    while let Some(found) = text[rest..].find("{{") {
        let open = rest + found;
        let literal = &text[rest..open];
        parts.literal(encode_literal(literal, format, encoding, rest_chars)?);
        let open_chars = rest_chars + literal.chars().count();
        let inside_start = open + 2;
        let Some(length) = text[inside_start..].find("}}") else {
            return Err(PayloadError {
                position: open_chars + 1,
                message: "{{ is not closed with }} (turn variables off to send braces as typed)"
                    .into(),
            });
        };
        let inside = &text[inside_start..inside_start + length];
        let variable = parse_variable(inside).map_err(|message| PayloadError {
            position: open_chars + 1,
            message,
        })?;
        parts.variable(variable);
        rest = inside_start + length + 2;
        rest_chars = open_chars + 2 + inside.chars().count() + 2;
    }
    parts.literal(encode_literal(&text[rest..], format, encoding, rest_chars)?);
    Ok(())
}

/// Encodes a literal segment that starts at 0-based character `offset` of the whole text,
/// so its errors point into the whole text.
fn encode_literal(
    literal: &str,
    format: PayloadFormat,
    encoding: TextEncoding,
    offset: usize,
) -> Result<Vec<u8>, PayloadError> {
    if literal.is_empty() {
        return Ok(Vec::new());
    }
    let shift = |error: PayloadError| PayloadError {
        position: error.position + offset,
        ..error
    };
    match format {
        PayloadFormat::Text => encoding.encode(literal, offset + 1),
        PayloadFormat::Escaped => parse_escaped(literal, encoding).map_err(shift),
        PayloadFormat::Hex => parse_hex(literal).map_err(shift),
    }
}

/// What is between `{{` and `}}`, spaces allowed around the name and its argument.
fn parse_variable(inside: &str) -> Result<Variable, String> {
    let (name, argument) = match inside.split_once(':') {
        Some((name, argument)) => (name.trim(), Some(argument.trim())),
        None => (inside.trim(), None),
    };
    let unknown = || format!("unknown variable {{{{{}}}}}", inside.trim());
    let lower = name.to_ascii_lowercase();
    let variable = match (lower.as_str(), argument) {
        ("counter", None) => Variable::Counter,
        ("counter", Some("global")) => Variable::GlobalCounter,
        ("time", None) => Variable::Time,
        ("date", None) => Variable::Date,
        ("unixtime", None) => Variable::UnixTime,
        ("unixtime", Some("ms")) => Variable::UnixTimeMs,
        ("uuid", None) => Variable::Uuid,
        ("random", Some(range)) => parse_random(range)?,
        ("random", None) => return Err(RANDOM_HELP.into()),
        ("peer", None) => Variable::Peer,
        ("echo", None) => Variable::Echo,
        ("len", None) => Variable::Len,
        (digits, None) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            match digits.parse::<usize>() {
                Ok(index) if index <= 99 => Variable::Capture(index),
                _ => return Err(unknown()),
            }
        }
        (name, argument) => {
            let kind = ChecksumKind::from_name(name).ok_or_else(unknown)?;
            let order = match argument {
                None => kind.usual_order(),
                Some(order) if order.eq_ignore_ascii_case("le") => ByteOrder::Little,
                Some(order) if order.eq_ignore_ascii_case("be") => ByteOrder::Big,
                Some(_) => return Err(unknown()),
            };
            Variable::Checksum(Checksum { kind, order })
        }
    };
    Ok(variable)
}

const RANDOM_HELP: &str =
    "random needs a range: {{random:1..100}} (1 to 99) or {{random:1..=100}} (1 to 100)";

fn parse_random(range: &str) -> Result<Variable, String> {
    let (low, high, inclusive) = if let Some((low, high)) = range.split_once("..=") {
        (low, high, true)
    } else if let Some((low, high)) = range.split_once("..") {
        (low, high, false)
    } else {
        return Err(RANDOM_HELP.into());
    };
    let bound = |text: &str| {
        text.trim()
            .parse::<i64>()
            .map_err(|_| RANDOM_HELP.to_string())
    };
    let (low, high) = (bound(low)?, bound(high)?);
    let high = if inclusive {
        high
    } else {
        high.checked_sub(1).ok_or_else(|| RANDOM_HELP.to_string())?
    };
    if low > high {
        return Err(format!(
            "random range {range} is empty (the end must be above the start)"
        ));
    }
    Ok(Variable::Random { low, high })
}

fn encoding_of(encoding: TextEncoding) -> &'static Encoding {
    Encoding::for_label(encoding.label().as_bytes()).unwrap_or(encoding_rs::UTF_8)
}

/// Writes `text` in `encoding`; a character it cannot represent becomes `?`.
fn encode_lossy(encoding: &'static Encoding, text: &str, out: &mut Vec<u8>) {
    if encoding == encoding_rs::UTF_8 {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    let mut encoder = encoding.new_encoder();
    let mut rest = text;
    loop {
        let needed = encoder
            .max_buffer_length_from_utf8_without_replacement(rest.len())
            .unwrap_or(rest.len() * 4 + 16);
        out.reserve(needed);
        let (result, read) = encoder.encode_from_utf8_to_vec_without_replacement(rest, out, true);
        rest = &rest[read..];
        match result {
            EncoderResult::InputEmpty => return,
            EncoderResult::OutputFull => {}
            EncoderResult::Unmappable(_) => out.push(b'?'),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const UTF8: TextEncoding = TextEncoding::Utf8;

    fn at_14_05_07_089() -> DateTime<Local> {
        Local
            .with_ymd_and_hms(2024, 3, 9, 14, 5, 7)
            .single()
            .unwrap()
            + chrono::Duration::milliseconds(89)
    }

    fn values<'a>(message: &'a [u8], captures: &'a [Option<&'a str>]) -> TemplateValues<'a> {
        TemplateValues {
            counter: 7,
            global_counter: 42,
            now: at_14_05_07_089(),
            peer: Some("127.0.0.1:5020".parse().unwrap()),
            message,
            captures,
        }
    }

    fn spec(text: &str, format: PayloadFormat) -> PayloadSpec {
        PayloadSpec {
            text: text.into(),
            format,
            ..PayloadSpec::default()
        }
    }

    fn compile(text: &str, format: PayloadFormat) -> Template {
        Template::compile(&spec(text, format), UTF8).unwrap()
    }

    fn render_with(template: &Template, values: &TemplateValues<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        template.render(values, &mut out);
        out
    }

    fn render(text: &str) -> Vec<u8> {
        render_with(&compile(text, PayloadFormat::Text), &values(b"", &[]))
    }

    fn error(text: &str, format: PayloadFormat) -> (usize, String) {
        let error = Template::compile(&spec(text, format), UTF8).unwrap_err();
        (error.position, error.message)
    }

    #[test]
    fn counters_come_from_the_values() {
        assert_eq!(render("#{{counter}} of {{ counter:global }}"), b"#7 of 42");
        let template = compile("{{counter}}", PayloadFormat::Text);
        assert!(!template.is_constant());
        let unprompted = TemplateValues::unprompted(123, 456, None);
        assert_eq!(render_with(&template, &unprompted), b"123");
    }

    #[test]
    fn time_and_date_are_local_and_zero_padded() {
        assert_eq!(render("{{date}} {{time}}"), b"2024-03-09 14:05:07.089");
        let now = at_14_05_07_089();
        assert_eq!(
            render("{{unixtime}} {{ unixtime : ms }}"),
            format!("{} {}", now.timestamp(), now.timestamp_millis()).into_bytes()
        );
    }

    #[test]
    fn uuids_are_version_4_and_fresh_each_time() {
        let template = compile("{{uuid}}", PayloadFormat::Text);
        let first = String::from_utf8(render_with(&template, &values(b"", &[]))).unwrap();
        let second = String::from_utf8(render_with(&template, &values(b"", &[]))).unwrap();
        let parsed = uuid::Uuid::parse_str(&first).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(first, first.to_lowercase());
        assert_ne!(first, second);
    }

    #[test]
    fn random_ranges_exclude_or_include_the_end() {
        let template = compile("{{random:1..3}}", PayloadFormat::Text);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.insert(render_with(&template, &values(b"", &[])));
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), [b"1", b"2"]);
        assert_eq!(render("{{random:5..=5}}"), b"5");
        assert_eq!(render("{{ random : -3 ..= -3 }}"), b"-3");
    }

    #[test]
    fn peer_is_the_address_or_nothing() {
        let template = compile("to {{peer}}.", PayloadFormat::Text);
        assert!(template.uses_peer());
        assert!(!compile("{{counter}}", PayloadFormat::Text).uses_peer());
        assert_eq!(
            render_with(&template, &values(b"", &[])),
            b"to 127.0.0.1:5020."
        );
        let nobody = TemplateValues::unprompted(1, 1, None);
        assert_eq!(render_with(&template, &nobody), b"to .");
    }

    #[test]
    fn echo_is_the_message_exactly_and_len_its_length() {
        let template = compile("[{{echo}}] {{len}}", PayloadFormat::Text);
        let message = b"\x00\xffhi\r\n";
        assert_eq!(
            render_with(&template, &values(message, &[])),
            b"[\x00\xffhi\r\n] 6"
        );
    }

    #[test]
    fn captures_render_by_number_and_missing_ones_are_empty() {
        let template = compile("{{0}}|{{1}}|{{2}}|{{3}}|{{99}}", PayloadFormat::Text);
        assert!(template.uses_captures());
        let captures = [Some("GET /a"), Some("/a"), None];
        assert_eq!(
            render_with(&template, &values(b"", &captures)),
            b"GET /a|/a|||"
        );
    }

    #[test]
    fn literals_between_variables_follow_the_format() {
        let escaped = compile("a\\t{{counter}}\\x00\\r\\n", PayloadFormat::Escaped);
        assert_eq!(render_with(&escaped, &values(b"", &[])), b"a\t7\0\r\n");
        let hex = compile("01 02{{ len }}0d 0A", PayloadFormat::Hex);
        assert_eq!(
            render_with(&hex, &values(b"abcdefghijkl", &[])),
            b"\x01\x0212\r\n"
        );
    }

    #[test]
    fn text_is_written_in_the_template_encoding() {
        let gbk =
            Template::compile(&spec("中{{1}}!", PayloadFormat::Text), TextEncoding::Gbk).unwrap();
        let captures = [Some("文 x"), Some("文")];
        assert_eq!(
            render_with(&gbk, &values(b"", &captures)),
            b"\xd6\xd0\xce\xc4!"
        );
        // A captured character GBK cannot write is a question mark, not an HTML escape.
        let odd = [None, Some("a😀b")];
        assert_eq!(render_with(&gbk, &values(b"", &odd)), b"\xd6\xd0a?b!");
    }

    #[test]
    fn a_checksum_variable_covers_the_bytes_before_it() {
        // The Modbus "read one holding register" request and its CRC.
        let constant = compile("01 03 00 00 00 01{{crc16-modbus}}", PayloadFormat::Hex);
        assert!(constant.is_constant());
        let expected = b"\x01\x03\x00\x00\x00\x01\x84\x0a";
        let mut out = b"earlier".to_vec();
        constant.render(&values(b"", &[]), &mut out);
        assert_eq!(&out[7..], expected);

        let echoed = compile("{{echo}}{{ CRC16-MODBUS:be }}", PayloadFormat::Hex);
        assert!(!echoed.is_constant());
        let mut out = b"earlier".to_vec();
        echoed.render(&values(&expected[..6], &[]), &mut out);
        assert_eq!(&out[7..], b"\x01\x03\x00\x00\x00\x01\x0a\x84");
        assert_eq!(
            Checksum::usual(ChecksumKind::Crc16Modbus).verify(expected),
            Some(true)
        );
    }

    #[test]
    fn the_appended_checksum_comes_before_the_line_ending() {
        let mut with_both = spec("A{{len}}", PayloadFormat::Text);
        with_both.checksum = Some(Checksum::usual(ChecksumKind::Xor8));
        with_both.line_ending = LineEnding::CrLf;
        let template = Template::compile(&with_both, UTF8).unwrap();
        // 'A' ^ '3' = 0x72.
        assert_eq!(render_with(&template, &values(b"abc", &[])), b"A3\x72\r\n");
        with_both.format = PayloadFormat::Hex;
        with_both.text = "41 33".into();
        let hex = Template::compile(&with_both, UTF8).unwrap();
        assert!(hex.is_constant());
        assert_eq!(render_with(&hex, &values(b"", &[])), b"A3\x72");
    }

    #[test]
    fn line_endings_follow_text_but_not_hex() {
        let mut text = spec("hi {{counter}}", PayloadFormat::Text);
        text.line_ending = LineEnding::Lf;
        let template = Template::compile(&text, UTF8).unwrap();
        assert_eq!(render_with(&template, &values(b"", &[])), b"hi 7\n");
        text.format = PayloadFormat::Hex;
        text.text = "68 69".into();
        let hex = Template::compile(&text, UTF8).unwrap();
        assert_eq!(render_with(&hex, &values(b"", &[])), b"hi");
    }

    #[test]
    fn with_variables_off_braces_are_sent_as_typed() {
        let mut typed = spec("{{counter}} {{nonsense", PayloadFormat::Text);
        typed.variables = false;
        typed.line_ending = LineEnding::Lf;
        let template = Template::compile(&typed, UTF8).unwrap();
        assert!(template.is_constant());
        assert_eq!(
            render_with(&template, &values(b"", &[])),
            b"{{counter}} {{nonsense\n"
        );
    }

    #[test]
    fn constant_templates_and_literals_render_their_bytes() {
        let typed = compile("plain text", PayloadFormat::Text);
        assert!(typed.is_constant());
        assert_eq!(typed.parts.len(), 1);
        let literal = Template::literal(vec![0, 1, 2]);
        assert!(literal.is_constant() && !literal.uses_peer());
        assert_eq!(render_with(&literal, &values(b"", &[])), [0, 1, 2]);
        assert!(Template::literal(Vec::new()).is_constant());
    }

    #[test]
    fn errors_point_at_the_character_in_the_whole_text() {
        assert_eq!(
            error("ab{{counter", PayloadFormat::Text).0,
            3,
            "an unclosed {{{{ points at itself"
        );
        assert_eq!(
            error("x{{ foo }}", PayloadFormat::Text),
            (2, "unknown variable {{foo}}".into())
        );
        assert_eq!(
            error("{{counter:local}}", PayloadFormat::Text).1,
            "unknown variable {{counter:local}}"
        );
        assert_eq!(error("{{100}}", PayloadFormat::Text).0, 1);
        assert_eq!(
            error("ok {{random:5..5}}", PayloadFormat::Text),
            (
                4,
                "random range 5..5 is empty (the end must be above the start)".into()
            )
        );
        assert_eq!(error("{{random:a..b}}", PayloadFormat::Text).1, RANDOM_HELP);
        assert_eq!(error("{{random}}", PayloadFormat::Text).1, RANDOM_HELP);
        // Errors inside a literal segment after a variable are shifted into place.
        assert_eq!(
            error("01 {{counter}} 0g", PayloadFormat::Hex),
            (17, "'g' is not a hex digit".into())
        );
        assert_eq!(error("é{{len}}\\q", PayloadFormat::Escaped).0, 9);
        let gbk = Template::compile(&spec("{{len}}中😀", PayloadFormat::Text), TextEncoding::Gbk)
            .unwrap_err();
        assert_eq!(gbk.position, 9);
        // Hex segments between variables are whole bytes each.
        assert_eq!(error("0{{len}}1", PayloadFormat::Hex).0, 1);
    }
}
