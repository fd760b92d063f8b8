//! Cutting a byte stream into messages: raw reads, lines, a delimiter, fixed length or a
//! length prefix, with a maximum message size. Pure: the reactor feeds a [`Framer`] what
//! it reads and gets whole messages back in a [`FramedBatch`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::payload::Checksum;

/// Where a line ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineEnd {
    /// `\n` alone.
    Lf,
    /// `\r\n` only (a lone `\n` is part of the line).
    CrLf,
    /// `\n` or `\r\n`.
    #[default]
    Any,
}

/// A length field in front of each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LengthPrefix {
    /// Bytes of the length field: 1, 2 or 4.
    pub width: u8,
    pub big_endian: bool,
    /// The length counts the bytes before it (the offset) and the field itself too.
    pub includes_header: bool,
    /// Bytes before the length field (a magic or a type byte), part of each message.
    pub offset: usize,
}

impl Default for LengthPrefix {
    fn default() -> Self {
        LengthPrefix {
            width: 2,
            big_endian: true,
            includes_header: false,
            offset: 0,
        }
    }
}

/// How a session's received bytes are cut into messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framing {
    /// Each read is one message (UDP: each datagram).
    #[default]
    Raw,
    Line(LineEnd),
    /// Messages end with these bytes (not empty).
    Delimiter(Vec<u8>),
    /// Every message is this many bytes (at least 1).
    Fixed(usize),
    LengthPrefixed(LengthPrefix),
}

/// A session's framing: how to cut, how long a message may grow, and the checksum each
/// message should end with (checked, not removed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FramingSpec {
    pub framing: Framing,
    /// A message longer than this is delivered in pieces of this size, each marked.
    pub max_message: usize,
    pub checksum: Option<Checksum>,
}

/// The default maximum message size.
pub const DEFAULT_MAX_MESSAGE: usize = 1 << 20;

impl Default for FramingSpec {
    fn default() -> Self {
        FramingSpec {
            framing: Framing::Raw,
            max_message: DEFAULT_MAX_MESSAGE,
            checksum: None,
        }
    }
}

impl FramingSpec {
    /// Why the spec cannot work (empty delimiter, zero length, width not 1, 2 or 4, zero
    /// maximum), in words for the field where it was typed.
    pub fn validate(&self) -> Result<(), String> {
        match &self.framing {
            Framing::Delimiter(bytes) if bytes.is_empty() => {
                return Err(
                    "The delimiter is empty: type at least one byte in hex, e.g. 0d0a.".to_string(),
                );
            }
            Framing::Delimiter(bytes) if bytes.len() > usize::from(u8::MAX) => {
                return Err(format!(
                    "The delimiter is {} bytes long: at most 255 bytes.",
                    bytes.len()
                ));
            }
            Framing::Fixed(0) => {
                return Err("A fixed message length must be at least 1 byte.".to_string());
            }
            Framing::LengthPrefixed(prefix) => {
                if !matches!(prefix.width, 1 | 2 | 4) {
                    return Err(format!(
                        "The length field must be 1, 2 or 4 bytes wide, not {}.",
                        prefix.width
                    ));
                }
                let header = prefix.header_len();
                if self.max_message > 0 && header > self.max_message {
                    return Err(format!(
                        "The length prefix's header ({header} bytes) is longer than the maximum message size ({} bytes).",
                        self.max_message
                    ));
                }
            }
            _ => {}
        }
        if self.max_message == 0 {
            return Err("The maximum message size must be at least 1 byte.".to_string());
        }
        Ok(())
    }
}

/// How a message came to be cut where it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// A whole message, as the framing defines it (raw: one read).
    Whole,
    /// A piece of a message longer than the maximum: the maximum was reached.
    TooLong,
    /// What was waiting when the stream ended or the framing changed.
    Leftover,
}

/// One message inside a [`FramedBatch`]'s data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageMark {
    /// Where the message ends in the batch's data (it starts where the previous one ends).
    pub end: usize,
    /// Bytes at its end that are the delimiter (line end or delimiter), not its body.
    pub delimiter: u8,
    pub cut: Cut,
    /// The framing's checksum over the body: `None` without one or when too short.
    pub checksum_ok: Option<bool>,
}

/// Messages cut from the stream, their bytes back to back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FramedBatch {
    pub data: Vec<u8>,
    pub messages: Vec<MessageMark>,
}

impl FramedBatch {
    /// Each message's bytes (delimiter included) with its mark.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &MessageMark)> {
        let mut start = 0;
        self.messages.iter().map(move |mark| {
            let bytes = &self.data[start..mark.end];
            start = mark.end;
            (bytes, mark)
        })
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.messages.clear();
    }
}

impl MessageMark {
    /// The message without its delimiter: what rules match and checksums cover.
    pub fn body<'a>(&self, message: &'a [u8]) -> &'a [u8] {
        &message[..message.len() - self.delimiter as usize]
    }
}

impl LengthPrefix {
    /// Bytes before the body: the offset and the length field.
    pub fn header_len(&self) -> usize {
        self.offset + usize::from(self.width)
    }
}

impl Framing {
    /// What the window shows: "Lines (LF or CRLF)", "Delimiter 0d 0a", …
    pub fn label(&self) -> String {
        match self {
            Framing::Raw => "Raw (each read)".to_string(),
            Framing::Line(LineEnd::Any) => "Lines (LF or CRLF)".to_string(),
            Framing::Line(LineEnd::Lf) => "Lines (LF)".to_string(),
            Framing::Line(LineEnd::CrLf) => "Lines (CRLF)".to_string(),
            Framing::Delimiter(bytes) => {
                let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
                format!("Delimiter {}", hex.join(" "))
            }
            Framing::Fixed(1) => "Fixed 1 byte".to_string(),
            Framing::Fixed(n) => format!("Fixed {n} bytes"),
            Framing::LengthPrefixed(prefix) => {
                let mut label = format!(
                    "Length prefix {} {} {}",
                    prefix.width,
                    if prefix.width == 1 { "byte" } else { "bytes" },
                    if prefix.big_endian {
                        "big-endian"
                    } else {
                        "little-endian"
                    }
                );
                if prefix.offset > 0 {
                    label += &format!(
                        " after {} {}",
                        prefix.offset,
                        if prefix.offset == 1 { "byte" } else { "bytes" }
                    );
                }
                if prefix.includes_header {
                    label += ", counting the header";
                }
                label
            }
        }
    }
}

const FRAMING_FORMS: &str = "raw, line, line:lf, line:crlf, delim:HEX (e.g. delim:0d0a), \
     fixed:N, or len:W with W 1, 2 or 4, then optionally le or be, +header, @OFFSET \
     (e.g. len:2, len:4le, len:2be+header@1)";

/// The form [`Framing`]'s `FromStr` reads: `raw`, `line`, `line:lf`, `line:crlf`,
/// `delim:0d0a`, `fixed:16`, `len:2`, `len:4le+header@1`.
impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Framing::Raw => f.write_str("raw"),
            Framing::Line(LineEnd::Any) => f.write_str("line"),
            Framing::Line(LineEnd::Lf) => f.write_str("line:lf"),
            Framing::Line(LineEnd::CrLf) => f.write_str("line:crlf"),
            Framing::Delimiter(bytes) => {
                f.write_str("delim:")?;
                bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            Framing::Fixed(n) => write!(f, "fixed:{n}"),
            Framing::LengthPrefixed(prefix) => {
                write!(f, "len:{}", prefix.width)?;
                if !prefix.big_endian {
                    f.write_str("le")?;
                }
                if prefix.includes_header {
                    f.write_str("+header")?;
                }
                if prefix.offset > 0 {
                    write!(f, "@{}", prefix.offset)?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for Framing {
    type Err = String;

    fn from_str(text: &str) -> Result<Framing, String> {
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        let (mode, argument) = match lower.split_once(':') {
            Some((mode, argument)) => (mode, Some(argument)),
            None => (lower.as_str(), None),
        };
        match (mode, argument) {
            ("raw", None) => Ok(Framing::Raw),
            ("line", None | Some("any")) => Ok(Framing::Line(LineEnd::Any)),
            ("line", Some("lf")) => Ok(Framing::Line(LineEnd::Lf)),
            ("line", Some("crlf")) => Ok(Framing::Line(LineEnd::CrLf)),
            ("line", Some(other)) => Err(format!(
                "Unknown line end \"{other}\": use line (LF or CRLF), line:lf or line:crlf."
            )),
            ("delim", Some(hex)) => parse_delimiter(hex).map(Framing::Delimiter),
            ("fixed", Some(number)) => match number.parse::<usize>() {
                Ok(0) => Err("A fixed message length must be at least 1 byte.".to_string()),
                Ok(n) => Ok(Framing::Fixed(n)),
                Err(_) => Err(format!(
                    "\"{number}\" is not a length in bytes: write fixed:N, e.g. fixed:16."
                )),
            },
            ("len", Some(rest)) => parse_length_prefix(rest).map(Framing::LengthPrefixed),
            ("delim" | "fixed" | "len", None) => Err(format!(
                "\"{text}\" needs a value after a colon; valid forms: {FRAMING_FORMS}."
            )),
            _ => Err(format!(
                "Unknown framing \"{text}\"; valid forms: {FRAMING_FORMS}."
            )),
        }
    }
}

fn parse_delimiter(hex: &str) -> Result<Vec<u8>, String> {
    if hex.is_empty() {
        return Err(
            "The delimiter is empty: write at least one byte in hex, e.g. delim:0d0a.".to_string(),
        );
    }
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "The delimiter \"{hex}\" is not hex: write bytes as pairs of hex digits, e.g. delim:0d0a."
        ));
    }
    if !hex.len().is_multiple_of(2) {
        return Err(format!(
            "The delimiter \"{hex}\" has an odd number of hex digits: write two per byte, e.g. delim:0a."
        ));
    }
    Ok(hex
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            // Both are hex digits (checked above), so this cannot fail.
            u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("00"), 16).unwrap_or(0)
        })
        .collect())
}

/// `W`, then optionally `le`/`be`, `+header`, `@OFFSET`, in that order.
fn parse_length_prefix(text: &str) -> Result<LengthPrefix, String> {
    let invalid = |why: String| {
        Err(format!(
            "{why}: write len:W with W 1, 2 or 4, then optionally le or be, +header, @OFFSET (e.g. len:2, len:4le, len:2be+header@1)."
        ))
    };
    let (rest, offset) = match text.split_once('@') {
        Some((rest, offset)) => match offset.parse::<usize>() {
            Ok(offset) => (rest, offset),
            Err(_) => return invalid(format!("The offset \"{offset}\" is not a number of bytes")),
        },
        None => (text, 0),
    };
    let (rest, includes_header) = match rest.split_once('+') {
        Some((rest, "header")) => (rest, true),
        Some((_, other)) => return invalid(format!("Unknown option \"+{other}\"")),
        None => (rest, false),
    };
    let (width, big_endian) = if let Some(width) = rest.strip_suffix("le") {
        (width, false)
    } else {
        (rest.strip_suffix("be").unwrap_or(rest), true)
    };
    let width = match width {
        "1" => 1,
        "2" => 2,
        "4" => 4,
        "" => return invalid("The length field's width is missing".to_string()),
        other => {
            return invalid(format!(
                "\"{other}\" is not a length field width (1, 2 or 4 bytes)"
            ));
        }
    };
    Ok(LengthPrefix {
        width,
        big_endian,
        includes_header,
        offset,
    })
}

/// The framing state of one stream.
///
/// Invariants: `pending` holds the bytes of the current message received and not yet
/// delivered, always fewer than `max` (a piece that reaches `max` is delivered at once,
/// save a length prefix's header longer than `max`, which a valid spec rules out).
#[derive(Debug)]
pub struct Framer {
    spec: FramingSpec,
    /// The cutting rule, derived from `spec` once (an invalid spec made harmless).
    mode: Mode,
    /// `spec.max_message`, at least 1.
    max: usize,
    pending: Vec<u8>,
    /// Delimited modes: the last bytes of the current message seen so far (delivered
    /// pieces and `pending`), as many as a delimiter split across reads needs to be found
    /// without searching again what was searched.
    seen_tail: Vec<u8>,
    /// Pieces of the current message were delivered already (it is too long).
    cut_short: bool,
    /// Counted modes: where the current message stands.
    count: Count,
}

#[derive(Debug)]
enum Mode {
    Raw,
    /// Messages end after `delimiter`; `cr_optional`: a `\r` before it belongs to it too.
    Delimited {
        delimiter: Vec<u8>,
        cr_optional: bool,
    },
    Fixed(usize),
    Prefixed(LengthPrefix),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Count {
    /// Gathering a length prefix's header (or, fixed: the next message starts).
    Start,
    /// The message's length is known: `remaining` bytes of it are still to come;
    /// `too_long` when it is longer than the maximum, so every piece is marked.
    Body { remaining: usize, too_long: bool },
}

impl Framer {
    /// A framer for `spec`. A spec that [`FramingSpec::validate`] refuses still works
    /// without panicking: an empty delimiter frames raw, a zero length or maximum counts
    /// as 1, a length field wider than 8 bytes reads as 8.
    pub fn new(spec: FramingSpec) -> Framer {
        let mode = match &spec.framing {
            Framing::Raw => Mode::Raw,
            Framing::Line(LineEnd::Lf) => Mode::Delimited {
                delimiter: b"\n".to_vec(),
                cr_optional: false,
            },
            Framing::Line(LineEnd::CrLf) => Mode::Delimited {
                delimiter: b"\r\n".to_vec(),
                cr_optional: false,
            },
            Framing::Line(LineEnd::Any) => Mode::Delimited {
                delimiter: b"\n".to_vec(),
                cr_optional: true,
            },
            Framing::Delimiter(bytes) if bytes.is_empty() => Mode::Raw,
            Framing::Delimiter(bytes) => Mode::Delimited {
                delimiter: bytes.clone(),
                cr_optional: false,
            },
            Framing::Fixed(n) => Mode::Fixed((*n).max(1)),
            Framing::LengthPrefixed(prefix) => Mode::Prefixed(LengthPrefix {
                width: prefix.width.clamp(1, 8),
                ..*prefix
            }),
        };
        Framer {
            max: spec.max_message.max(1),
            spec,
            mode,
            pending: Vec::new(),
            seen_tail: Vec::new(),
            cut_short: false,
            count: Count::Start,
        }
    }

    pub fn spec(&self) -> &FramingSpec {
        &self.spec
    }

    /// Cuts `input` (the next bytes of the stream) into messages appended to `out`;
    /// what does not yet make a message waits inside.
    pub fn push(&mut self, input: &[u8], out: &mut FramedBatch) {
        if input.is_empty() {
            return;
        }
        out.data.reserve(self.pending.len() + input.len());
        match &self.mode {
            Mode::Raw => self.push_raw(input, out),
            Mode::Delimited { .. } => self.push_delimited(input, out),
            Mode::Fixed(_) | Mode::Prefixed(_) => self.push_counted(input, out),
        }
    }

    /// Bytes read that are not yet part of a delivered message ("12 bytes waiting").
    pub fn waiting(&self) -> usize {
        self.pending.len()
    }

    /// The stream ended (or the framing is replaced): what waits becomes one message
    /// marked [`Cut::Leftover`], if anything waits.
    pub fn finish(&mut self, out: &mut FramedBatch) {
        if !self.pending.is_empty() {
            out.data.extend_from_slice(&self.pending);
            out.messages.push(MessageMark {
                end: out.data.len(),
                delimiter: 0,
                cut: Cut::Leftover,
                checksum_ok: None,
            });
        }
        self.pending.clear();
        self.seen_tail.clear();
        self.cut_short = false;
        self.count = Count::Start;
    }

    /// Delivers `pending` followed by `rest` as one message and empties `pending`.
    fn deliver(&mut self, rest: &[u8], delimiter: usize, cut: Cut, out: &mut FramedBatch) {
        let start = out.data.len();
        out.data.extend_from_slice(&self.pending);
        out.data.extend_from_slice(rest);
        self.pending.clear();
        let end = out.data.len();
        // A delimiter split across pieces of a too-long message: only its part in this one.
        let delimiter = delimiter.min(end - start);
        let checksum_ok = match (cut, &self.spec.checksum) {
            (Cut::Whole, Some(checksum)) => checksum.verify(&out.data[start..end - delimiter]),
            _ => None,
        };
        out.messages.push(MessageMark {
            end,
            delimiter: u8::try_from(delimiter).unwrap_or(u8::MAX),
            cut,
            checksum_ok,
        });
    }

    /// Each read is a message; a read longer than the maximum is cut into pieces.
    fn push_raw(&mut self, input: &[u8], out: &mut FramedBatch) {
        if input.len() <= self.max {
            self.deliver(input, 0, Cut::Whole, out);
        } else {
            for piece in input.chunks(self.max) {
                self.deliver(piece, 0, Cut::TooLong, out);
            }
        }
    }

    fn push_delimited(&mut self, input: &[u8], out: &mut FramedBatch) {
        let Mode::Delimited {
            delimiter,
            cr_optional,
        } = &mut self.mode
        else {
            return;
        };
        // Taken out while `self` delivers; put back below.
        let delimiter = std::mem::take(delimiter);
        let cr_optional = *cr_optional;
        let keep = if cr_optional { 1 } else { delimiter.len() - 1 };
        let mut rest = input;
        while !rest.is_empty() {
            // The message may take this many more bytes, delimiter included.
            let room = self.max - self.pending.len();
            let window = &rest[..rest.len().min(room)];
            match find_delimiter_end(&self.seen_tail, window, &delimiter) {
                Some(end) => {
                    let mut delimiter_len = delimiter.len();
                    if cr_optional {
                        let before = if end >= 2 {
                            Some(window[end - 2])
                        } else {
                            self.seen_tail.last().copied()
                        };
                        if before == Some(b'\r') {
                            delimiter_len += 1;
                        }
                    }
                    let cut = if self.cut_short {
                        Cut::TooLong
                    } else {
                        Cut::Whole
                    };
                    self.deliver(&window[..end], delimiter_len, cut, out);
                    self.cut_short = false;
                    self.seen_tail.clear();
                    rest = &rest[end..];
                }
                None if window.len() == room => {
                    // The maximum is reached with no end in sight: a piece, then go on
                    // looking for the end of this message.
                    keep_tail(&mut self.seen_tail, window, keep);
                    self.deliver(window, 0, Cut::TooLong, out);
                    self.cut_short = true;
                    rest = &rest[room..];
                }
                None => {
                    keep_tail(&mut self.seen_tail, window, keep);
                    self.pending.extend_from_slice(window);
                    rest = &[];
                }
            }
        }
        if let Mode::Delimited {
            delimiter: slot, ..
        } = &mut self.mode
        {
            *slot = delimiter;
        }
    }

    fn push_counted(&mut self, input: &[u8], out: &mut FramedBatch) {
        let mut rest = input;
        while !rest.is_empty() {
            let (remaining, too_long) = match self.count {
                Count::Body {
                    remaining,
                    too_long,
                } => (remaining, too_long),
                Count::Start => match self.mode {
                    Mode::Fixed(n) => (n, n > self.max),
                    Mode::Prefixed(prefix) => {
                        let header_len = prefix.header_len();
                        let header: &[u8] = if self.pending.is_empty() && rest.len() >= header_len {
                            &rest[..header_len]
                        } else {
                            let take = (header_len - self.pending.len()).min(rest.len());
                            self.pending.extend_from_slice(&rest[..take]);
                            rest = &rest[take..];
                            if self.pending.len() < header_len {
                                return;
                            }
                            &self.pending
                        };
                        let value = read_length(&header[prefix.offset..], prefix.big_endian);
                        let body = if prefix.includes_header {
                            value.checked_sub(header_len)
                        } else {
                            Some(value)
                        };
                        let Some(body) = body else {
                            // The length counts the header but is smaller than it: there
                            // is no telling where the message ends. The header alone is
                            // delivered, marked TooLong (the message is not what the
                            // prefix says), and the next byte is read as a new header.
                            self.count = Count::Start;
                            if self.pending.is_empty() {
                                self.pending.extend_from_slice(&rest[..header_len]);
                                rest = &rest[header_len..];
                            }
                            self.flush_pending_pieces(out);
                            if !self.pending.is_empty() {
                                self.deliver(&[], 0, Cut::TooLong, out);
                            }
                            continue;
                        };
                        let total = header_len.saturating_add(body);
                        let too_long = total > self.max;
                        // The header counts as received: in `pending`, or still in `rest`.
                        let remaining = total - self.pending.len();
                        if too_long {
                            self.flush_pending_pieces(out);
                        }
                        (remaining, too_long)
                    }
                    Mode::Raw | Mode::Delimited { .. } => return,
                },
            };
            // The current piece ends at the message's end or at the maximum.
            let want = remaining.min(self.max - self.pending.len());
            let take = want.min(rest.len());
            let remaining = remaining - take;
            if take == want {
                // Nothing to deliver only when a header longer than the maximum was
                // delivered in pieces already and its body is empty.
                if take > 0 || !self.pending.is_empty() {
                    let cut = if too_long { Cut::TooLong } else { Cut::Whole };
                    self.deliver(&rest[..take], 0, cut, out);
                }
            } else {
                self.pending.extend_from_slice(&rest[..take]);
            }
            rest = &rest[take..];
            self.count = if remaining == 0 {
                Count::Start
            } else {
                Count::Body {
                    remaining,
                    too_long,
                }
            };
        }
    }

    /// Delivers `pending` in pieces of the maximum while it holds that many (only a header
    /// longer than the maximum gets there), so `pending` stays below the maximum.
    fn flush_pending_pieces(&mut self, out: &mut FramedBatch) {
        while self.pending.len() >= self.max {
            let rest = self.pending.split_off(self.max);
            self.deliver(&[], 0, Cut::TooLong, out);
            self.pending = rest;
        }
    }
}

/// Where the first `delimiter` ends in `window`, the bytes of the current message that
/// follow `seen_tail` (its last bytes already searched): the end in `window`, just past it.
/// Each end position is looked at once, when the byte there arrives.
fn find_delimiter_end(seen_tail: &[u8], window: &[u8], delimiter: &[u8]) -> Option<usize> {
    let last = *delimiter.last()?;
    let before = &delimiter[..delimiter.len() - 1];
    let mut from = 0;
    while let Some(found) = window[from..].iter().position(|&b| b == last) {
        let at = from + found;
        // Does what precedes `at` end with `before`, partly in `seen_tail` if need be?
        let in_window = before.len().min(at);
        let (from_tail, from_window) = before.split_at(before.len() - in_window);
        if window[at - in_window..at] == *from_window && seen_tail.ends_with(from_tail) {
            return Some(at + 1);
        }
        from = at + 1;
    }
    None
}

/// Keeps the last `keep` bytes of `seen_tail` followed by `more`.
fn keep_tail(seen_tail: &mut Vec<u8>, more: &[u8], keep: usize) {
    if more.len() >= keep {
        seen_tail.clear();
        seen_tail.extend_from_slice(&more[more.len() - keep..]);
    } else {
        seen_tail.extend_from_slice(more);
        let excess = seen_tail.len().saturating_sub(keep);
        seen_tail.drain(..excess);
    }
}

/// A length field's value; one wider than `usize` saturates.
fn read_length(field: &[u8], big_endian: bool) -> usize {
    let fold = |value: u64, &byte: &u8| value.saturating_mul(256).saturating_add(u64::from(byte));
    let value = if big_endian {
        field.iter().fold(0, fold)
    } else {
        field.iter().rev().fold(0, fold)
    };
    usize::try_from(value).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::payload::{Checksum, ChecksumKind};

    fn spec(framing: Framing) -> FramingSpec {
        FramingSpec {
            framing,
            ..FramingSpec::default()
        }
    }

    fn with_max(framing: Framing, max_message: usize) -> FramingSpec {
        FramingSpec {
            framing,
            max_message,
            checksum: None,
        }
    }

    fn prefix(width: u8, big_endian: bool, includes_header: bool, offset: usize) -> Framing {
        Framing::LengthPrefixed(LengthPrefix {
            width,
            big_endian,
            includes_header,
            offset,
        })
    }

    /// Each message's bytes, delimiter, cut and checksum mark, owned.
    type Message = (Vec<u8>, u8, Cut, Option<bool>);

    fn messages(batch: &FramedBatch) -> Vec<Message> {
        batch
            .iter()
            .map(|(bytes, mark)| (bytes.to_vec(), mark.delimiter, mark.cut, mark.checksum_ok))
            .collect()
    }

    fn whole(bytes: &[u8], delimiter: u8) -> Message {
        (bytes.to_vec(), delimiter, Cut::Whole, None)
    }

    fn too_long(bytes: &[u8], delimiter: u8) -> Message {
        (bytes.to_vec(), delimiter, Cut::TooLong, None)
    }

    /// Feeds `chunks` one push each into a fresh batch; returns the messages and what waits.
    fn frame_chunks(spec: FramingSpec, chunks: &[&[u8]]) -> (Vec<Message>, usize) {
        let mut framer = Framer::new(spec);
        let mut out = FramedBatch::default();
        for chunk in chunks {
            framer.push(chunk, &mut out);
        }
        (messages(&out), framer.waiting())
    }

    fn frame(spec: FramingSpec, input: &[u8]) -> (Vec<Message>, usize) {
        frame_chunks(spec, &[input])
    }

    fn frame_bytewise(spec: FramingSpec, input: &[u8]) -> (Vec<Message>, usize) {
        let chunks: Vec<&[u8]> = input.chunks(1).collect();
        frame_chunks(spec, &chunks)
    }

    #[test]
    fn raw_delivers_each_read_whole() {
        let (got, waiting) = frame_chunks(spec(Framing::Raw), &[b"ab", b"", b"c\n"]);
        assert_eq!(got, [whole(b"ab", 0), whole(b"c\n", 0)]);
        assert_eq!(waiting, 0);
    }

    #[test]
    fn raw_reads_longer_than_the_maximum_come_in_pieces() {
        let (got, _) = frame(with_max(Framing::Raw, 4), b"abcdefghij");
        assert_eq!(
            got,
            [
                too_long(b"abcd", 0),
                too_long(b"efgh", 0),
                too_long(b"ij", 0)
            ]
        );
    }

    #[test]
    fn lf_lines_end_after_the_newline() {
        let (got, waiting) = frame(spec(Framing::Line(LineEnd::Lf)), b"one\ntwo\r\nthr");
        assert_eq!(got, [whole(b"one\n", 1), whole(b"two\r\n", 1)]);
        assert_eq!(waiting, 3);
    }

    #[test]
    fn crlf_lines_keep_a_lone_newline_inside() {
        let (got, waiting) = frame(spec(Framing::Line(LineEnd::CrLf)), b"a\nb\r\nc\r");
        assert_eq!(got, [whole(b"a\nb\r\n", 2)]);
        assert_eq!(waiting, 2);
    }

    #[test]
    fn any_lines_count_a_carriage_return_in_the_delimiter() {
        let (got, _) = frame(spec(Framing::Line(LineEnd::Any)), b"a\r\nb\n\r\n\n");
        assert_eq!(
            got,
            [
                whole(b"a\r\n", 2),
                whole(b"b\n", 1),
                whole(b"\r\n", 2),
                whole(b"\n", 1)
            ]
        );
        let batch = {
            let mut framer = Framer::new(spec(Framing::Line(LineEnd::Any)));
            let mut out = FramedBatch::default();
            framer.push(b"a\r\nb\n", &mut out);
            out
        };
        let bodies: Vec<&[u8]> = batch.iter().map(|(m, mark)| mark.body(m)).collect();
        assert_eq!(bodies, [&b"a"[..], b"b"]);
    }

    #[test]
    fn a_crlf_split_across_pushes_still_ends_the_line() {
        for line_end in [LineEnd::CrLf, LineEnd::Any] {
            let (got, waiting) = frame_chunks(spec(Framing::Line(line_end)), &[b"ab\r", b"\ncd"]);
            assert_eq!(got, [whole(b"ab\r\n", 2)], "{line_end:?}");
            assert_eq!(waiting, 2);
        }
        // A line split in the middle, then its end in a later push.
        let (got, _) = frame_chunks(spec(Framing::Line(LineEnd::Lf)), &[b"he", b"llo", b"\n"]);
        assert_eq!(got, [whole(b"hello\n", 1)]);
    }

    #[test]
    fn a_multi_byte_delimiter_is_found_across_pushes() {
        let delimiter = Framing::Delimiter(b"<END>".to_vec());
        let (got, waiting) = frame_chunks(
            spec(delimiter.clone()),
            &[b"one<E", b"N", b"D><END", b">two<EN<END>", b"<"],
        );
        assert_eq!(
            got,
            [
                whole(b"one<END>", 5),
                whole(b"<END>", 5),
                whole(b"two<EN<END>", 5)
            ]
        );
        assert_eq!(waiting, 1);
        // Overlapping candidates: "aab" in "aaab" ends at the last byte.
        let (got, _) = frame_chunks(
            spec(Framing::Delimiter(b"aab".to_vec())),
            &[b"xa", b"a", b"ab"],
        );
        assert_eq!(got, [whole(b"xaaab", 3)]);
    }

    #[test]
    fn a_delimiter_does_not_borrow_bytes_from_the_previous_message() {
        // "|" ends the first message; "|x" must not count it as part of "||x".
        let (got, waiting) =
            frame_chunks(spec(Framing::Delimiter(b"||".to_vec())), &[b"a||", b"|b||"]);
        assert_eq!(got, [whole(b"a||", 2), whole(b"|b||", 2)]);
        assert_eq!(waiting, 0);
    }

    #[test]
    fn fixed_cuts_every_n_bytes() {
        let (got, waiting) = frame_chunks(spec(Framing::Fixed(3)), &[b"abcd", b"ef", b"ghij"]);
        assert_eq!(got, [whole(b"abc", 0), whole(b"def", 0), whole(b"ghi", 0)]);
        assert_eq!(waiting, 1);
    }

    #[test]
    fn length_prefixes_of_every_width_and_order() {
        let cases: [(Framing, &[u8], usize); 6] = [
            (prefix(1, true, false, 0), b"\x03abc\x00\x01z", 3),
            (
                prefix(2, true, false, 0),
                b"\x00\x03abc\x00\x00\x00\x01z",
                3,
            ),
            (
                prefix(2, false, false, 0),
                b"\x03\x00abc\x00\x00\x01\x00z",
                3,
            ),
            (
                prefix(4, true, false, 0),
                b"\x00\x00\x00\x03abc\x00\x00\x00\x00\x00\x00\x00\x01z",
                3,
            ),
            (
                prefix(4, false, false, 0),
                b"\x03\x00\x00\x00abc\x00\x00\x00\x00\x01\x00\x00\x00z",
                3,
            ),
            (prefix(1, true, false, 0), b"\x00\x00\x01z", 3),
        ];
        for (framing, stream, count) in cases {
            let (got, waiting) = frame(spec(framing.clone()), stream);
            assert_eq!(got.len(), count, "{framing}");
            let joined: Vec<u8> = got.iter().flat_map(|m| m.0.clone()).collect();
            assert_eq!(joined, stream, "{framing}");
            assert!(
                got.iter().all(|m| m.1 == 0 && m.2 == Cut::Whole),
                "{framing}"
            );
            assert_eq!(waiting, 0);
            assert_eq!(frame_bytewise(spec(framing), stream), (got, 0));
        }
        let (got, _) = frame(spec(prefix(2, false, false, 0)), b"\x03\x00abc\x01\x00z");
        assert_eq!(got, [whole(b"\x03\x00abc", 0), whole(b"\x01\x00z", 0)]);
    }

    #[test]
    fn a_length_that_counts_the_header_and_a_magic_byte_before_it() {
        // Magic 0xAA, then a 2-byte big-endian length counting all 3 header bytes.
        let framing = prefix(2, true, true, 1);
        let stream = b"\xAA\x00\x05hi\xAA\x00\x03\xAA\x00\x04!";
        let (got, waiting) = frame(spec(framing.clone()), stream);
        assert_eq!(
            got,
            [
                whole(b"\xAA\x00\x05hi", 0),
                whole(b"\xAA\x00\x03", 0),
                whole(b"\xAA\x00\x04!", 0)
            ]
        );
        assert_eq!(waiting, 0);
        assert_eq!(frame_bytewise(spec(framing), stream), (got, 0));
    }

    #[test]
    fn a_length_smaller_than_the_header_it_counts_delivers_the_header_as_too_long() {
        let framing = prefix(1, true, true, 1);
        // Header [0x7E, 1] claims 1 byte in all, less than its own 2: cut after the
        // header, marked, and the next byte starts a new header.
        let stream = b"\x7E\x01\x7E\x03x";
        let expected = vec![too_long(b"\x7E\x01", 0), whole(b"\x7E\x03x", 0)];
        assert_eq!(frame(spec(framing.clone()), stream), (expected.clone(), 0));
        assert_eq!(frame_bytewise(spec(framing), stream), (expected, 0));
    }

    #[test]
    fn a_length_prefix_split_across_reads() {
        let (got, waiting) = frame_chunks(
            spec(prefix(4, true, false, 0)),
            &[b"\x00\x00", b"\x00", b"\x02a", b"b\x00"],
        );
        assert_eq!(got, [whole(b"\x00\x00\x00\x02ab", 0)]);
        assert_eq!(waiting, 1);
    }

    #[test]
    fn lines_longer_than_the_maximum_come_in_marked_pieces_and_the_next_line_is_whole() {
        let (got, waiting) = frame(
            with_max(Framing::Line(LineEnd::Any), 4),
            b"abcdefghij\r\nok\n",
        );
        assert_eq!(
            got,
            [
                too_long(b"abcd", 0),
                too_long(b"efgh", 0),
                too_long(b"ij\r\n", 2),
                whole(b"ok\n", 1)
            ]
        );
        assert_eq!(waiting, 0);
        // A line of exactly the maximum, delimiter included, is whole.
        let (got, _) = frame(with_max(Framing::Line(LineEnd::Lf), 4), b"abc\n");
        assert_eq!(got, [whole(b"abc\n", 1)]);
        // The delimiter split by the maximum: the last piece holds only its end.
        let (got, _) = frame(with_max(Framing::Line(LineEnd::CrLf), 4), b"abc\r\nok\r\n");
        assert_eq!(
            got,
            [
                too_long(b"abc\r", 0),
                too_long(b"\n", 1),
                whole(b"ok\r\n", 2)
            ]
        );
    }

    #[test]
    fn an_oversize_length_prefixed_message_stays_in_sync() {
        let framing = prefix(1, true, false, 0);
        let stream = b"\x07abcdefg\x02hi";
        let expected = vec![
            too_long(b"\x07abc", 0),
            too_long(b"defg", 0),
            whole(b"\x02hi", 0),
        ];
        assert_eq!(
            frame(with_max(framing.clone(), 4), stream),
            (expected.clone(), 0)
        );
        assert_eq!(frame_bytewise(with_max(framing, 4), stream), (expected, 0));
        // Fixed lengths over the maximum too.
        let (got, _) = frame(with_max(Framing::Fixed(5), 2), b"abcdeFGHIJ");
        assert_eq!(
            got,
            [
                too_long(b"ab", 0),
                too_long(b"cd", 0),
                too_long(b"e", 0),
                too_long(b"FG", 0),
                too_long(b"HI", 0),
                too_long(b"J", 0)
            ]
        );
    }

    #[test]
    fn each_whole_message_is_checked_without_its_delimiter() {
        let checksum = Checksum::usual(ChecksumKind::Xor8);
        let checked_lines = FramingSpec {
            framing: Framing::Line(LineEnd::Any),
            max_message: 6,
            checksum: Some(checksum),
        };
        // "ab" xor = 0x03; "ab\x03" checks, "ab\x04" does not, "" is too short,
        // the long line is cut (no check) and the leftover is not checked.
        let mut framer = Framer::new(checked_lines);
        let mut out = FramedBatch::default();
        framer.push(b"ab\x03\r\nab\x04\n\nabcdefgh\nab\x03", &mut out);
        framer.finish(&mut out);
        let marks: Vec<(Cut, Option<bool>)> = out
            .messages
            .iter()
            .map(|m| (m.cut, m.checksum_ok))
            .collect();
        assert_eq!(
            marks,
            [
                (Cut::Whole, Some(true)),
                (Cut::Whole, Some(false)),
                (Cut::Whole, None),
                (Cut::TooLong, None),
                (Cut::TooLong, None),
                (Cut::Leftover, None)
            ]
        );
        let (got, _) = frame(spec(Framing::Raw), b"x");
        assert_eq!(got[0].3, None, "no checksum, no check");
    }

    #[test]
    fn finish_delivers_what_waits_and_resets() {
        let mut framer = Framer::new(spec(prefix(2, true, false, 0)));
        let mut out = FramedBatch::default();
        framer.push(b"\x00\x05abc", &mut out);
        assert_eq!(framer.waiting(), 5);
        assert!(out.is_empty());
        framer.finish(&mut out);
        assert_eq!(
            messages(&out),
            [(b"\x00\x05abc".to_vec(), 0, Cut::Leftover, None)]
        );
        assert_eq!(framer.waiting(), 0);
        framer.finish(&mut out);
        assert_eq!(out.messages.len(), 1, "nothing waits: nothing more");
        // Reused after finishing: a new message starts cleanly.
        framer.push(b"\x00\x01z", &mut out);
        assert_eq!(messages(&out)[1], whole(b"\x00\x01z", 0));
    }

    #[test]
    fn finish_in_the_middle_of_a_split_delimiter_forgets_it() {
        let mut framer = Framer::new(spec(Framing::Line(LineEnd::CrLf)));
        let mut out = FramedBatch::default();
        framer.push(b"ab\r", &mut out);
        framer.finish(&mut out);
        framer.push(b"\ncd\r\n", &mut out);
        assert_eq!(
            messages(&out),
            [
                (b"ab\r".to_vec(), 0, Cut::Leftover, None),
                whole(b"\ncd\r\n", 2)
            ]
        );
    }

    #[test]
    fn push_appends_to_a_batch_that_holds_messages() {
        let mut framer = Framer::new(spec(Framing::Fixed(2)));
        let mut out = FramedBatch::default();
        framer.push(b"ab", &mut out);
        framer.push(b"cd", &mut out);
        assert_eq!(out.data, b"abcd");
        let ends: Vec<usize> = out.messages.iter().map(|m| m.end).collect();
        assert_eq!(ends, [2, 4]);
    }

    #[test]
    fn an_invalid_spec_frames_without_panicking() {
        for framing in [
            Framing::Delimiter(Vec::new()),
            Framing::Fixed(0),
            prefix(0, true, false, 0),
            prefix(9, false, true, 0),
        ] {
            let mut framer = Framer::new(with_max(framing, 0));
            let mut out = FramedBatch::default();
            framer.push(b"abc\x00\x01", &mut out);
            framer.finish(&mut out);
            assert_eq!(out.data, b"abc\x00\x01");
        }
        // A header longer than the maximum: pieces of the maximum, in sync.
        let stream = b"MM\x01xMM\x00";
        let expected = vec![
            too_long(b"MM", 0),
            too_long(b"\x01x", 0),
            too_long(b"MM", 0),
            too_long(b"\x00", 0),
        ];
        let header_too_long = with_max(prefix(1, true, false, 2), 2);
        assert_eq!(
            frame(header_too_long.clone(), stream),
            (expected.clone(), 0)
        );
        // Gathered a byte at a time, an empty body adds no empty message.
        assert_eq!(frame_bytewise(header_too_long, stream), (expected, 0));
        // A bad length in a header longer than the maximum: still pieces of the maximum.
        let bad_length = with_max(prefix(2, false, true, 0), 1);
        let expected = vec![too_long(b"\x00", 0), too_long(b"\x00", 0)];
        assert_eq!(
            frame(bad_length.clone(), b"\x00\x00"),
            (expected.clone(), 0)
        );
        assert_eq!(frame_bytewise(bad_length, b"\x00\x00"), (expected, 0));
    }

    #[test]
    fn validate_names_what_is_wrong() {
        let error = |framing, max| with_max(framing, max).validate().unwrap_err();
        assert!(error(Framing::Delimiter(vec![]), 10).contains("delimiter is empty"));
        assert!(error(Framing::Fixed(0), 10).contains("at least 1 byte"));
        assert!(error(prefix(3, true, false, 0), 10).contains("not 3"));
        assert!(error(Framing::Raw, 0).contains("maximum message size"));
        assert!(error(prefix(4, true, false, 4), 6).contains("header (8 bytes)"));
        assert!(error(Framing::Delimiter(vec![b'x'; 256]), 1000).contains("at most 255"));
        for framing in [
            Framing::Raw,
            Framing::Line(LineEnd::CrLf),
            Framing::Delimiter(vec![0]),
            Framing::Fixed(1),
            prefix(4, false, true, 3),
        ] {
            assert_eq!(spec(framing).validate(), Ok(()));
        }
    }

    #[test]
    fn text_forms_round_trip() {
        let cases = [
            ("raw", Framing::Raw),
            ("line", Framing::Line(LineEnd::Any)),
            ("line:lf", Framing::Line(LineEnd::Lf)),
            ("line:crlf", Framing::Line(LineEnd::CrLf)),
            ("delim:0d0a", Framing::Delimiter(vec![0x0d, 0x0a])),
            ("fixed:16", Framing::Fixed(16)),
            ("len:2", prefix(2, true, false, 0)),
            ("len:4le", prefix(4, false, false, 0)),
            ("len:1+header", prefix(1, true, true, 0)),
            ("len:2+header@1", prefix(2, true, true, 1)),
            ("len:4le@3", prefix(4, false, false, 3)),
        ];
        for (text, framing) in cases {
            assert_eq!(text.parse::<Framing>(), Ok(framing.clone()), "{text}");
            assert_eq!(framing.to_string(), text);
        }
        assert_eq!("len:2be+header@1".parse(), Ok(prefix(2, true, true, 1)));
        assert_eq!(" LINE:CRLF ".parse(), Ok(Framing::Line(LineEnd::CrLf)));
        assert_eq!("delim:FF".parse(), Ok(Framing::Delimiter(vec![0xff])));
        assert_eq!("line:any".parse(), Ok(Framing::Line(LineEnd::Any)));
    }

    #[test]
    fn text_form_errors_say_what_is_wrong() {
        let error = |text: &str| text.parse::<Framing>().unwrap_err();
        assert!(error("lines").contains("Unknown framing \"lines\""));
        assert!(error("lines").contains("len:W"));
        assert!(error("line:cr").contains("\"cr\""));
        assert!(error("delim:").contains("empty"));
        assert!(error("delim:0g").contains("not hex"));
        assert!(error("delim:abc").contains("odd number"));
        assert!(error("fixed:0").contains("at least 1 byte"));
        assert!(error("fixed:x").contains("\"x\" is not a length"));
        assert!(error("fixed").contains("needs a value"));
        assert!(error("len:3").contains("\"3\" is not a length field width"));
        assert!(error("len:").contains("width is missing"));
        assert!(error("len:2+footer").contains("\"+footer\""));
        assert!(error("len:2@x").contains("offset \"x\""));
        assert!(error("len:2xe").contains("\"2xe\""));
        assert!(error("raw:1").contains("Unknown framing"));
    }

    #[test]
    fn labels_for_the_window() {
        assert_eq!(Framing::Raw.label(), "Raw (each read)");
        assert_eq!(Framing::Line(LineEnd::Any).label(), "Lines (LF or CRLF)");
        assert_eq!(
            Framing::Delimiter(vec![0x0d, 0x0a]).label(),
            "Delimiter 0d 0a"
        );
        assert_eq!(Framing::Fixed(16).label(), "Fixed 16 bytes");
        assert_eq!(
            prefix(2, true, false, 0).label(),
            "Length prefix 2 bytes big-endian"
        );
        assert_eq!(
            prefix(4, false, true, 1).label(),
            "Length prefix 4 bytes little-endian after 1 byte, counting the header"
        );
    }

    /// A plain byte-at-a-time model of delimited framing, to compare against.
    fn reference_delimited(delimiter: &[u8], max: usize, stream: &[u8]) -> Vec<(usize, bool)> {
        // (message length, too long) for each delivered piece.
        let mut pieces = Vec::new();
        let mut message: Vec<u8> = Vec::new();
        let mut piece = 0;
        let mut cut_short = false;
        for &byte in stream {
            message.push(byte);
            piece += 1;
            if message.ends_with(delimiter) {
                pieces.push((piece, cut_short));
                message.clear();
                piece = 0;
                cut_short = false;
            } else if piece == max {
                pieces.push((piece, true));
                piece = 0;
                cut_short = true;
            }
        }
        pieces
    }

    fn all_framings() -> impl Strategy<Value = Framing> {
        prop_oneof![
            Just(Framing::Line(LineEnd::Lf)),
            Just(Framing::Line(LineEnd::CrLf)),
            Just(Framing::Line(LineEnd::Any)),
            prop::collection::vec(prop::sample::select(vec![b'a', b'\r', b'\n']), 1..4)
                .prop_map(Framing::Delimiter),
            (1usize..6).prop_map(Framing::Fixed),
            (
                prop::sample::select(vec![1u8, 2, 4]),
                any::<bool>(),
                any::<bool>(),
                0usize..3
            )
                .prop_map(|(width, big_endian, includes_header, offset)| {
                    prefix(width, big_endian, includes_header, offset)
                }),
        ]
    }

    /// Bytes from a small alphabet, so delimiters and short lengths are common.
    fn streams() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop::sample::select(vec![0u8, 1, 2, 3, 5, b'a', b'\r', b'\n']),
            0..200,
        )
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_messages(
            framing in all_framings(),
            max_message in 1usize..12,
            stream in streams(),
            cuts in prop::collection::vec(0usize..200, 0..20),
            with_checksum in any::<bool>(),
        ) {
            let spec = FramingSpec {
                framing,
                max_message: if max_message > 10 { DEFAULT_MAX_MESSAGE } else { max_message },
                checksum: with_checksum.then(|| Checksum::usual(ChecksumKind::Sum8)),
            };
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(stream.len())).collect();
            cuts.push(0);
            cuts.push(stream.len());
            cuts.sort_unstable();
            let chunks: Vec<&[u8]> = cuts.windows(2).map(|w| &stream[w[0]..w[1]]).collect();

            let whole_stream = frame(spec.clone(), &stream);
            prop_assert_eq!(&frame_chunks(spec.clone(), &chunks), &whole_stream);
            prop_assert_eq!(&frame_bytewise(spec.clone(), &stream), &whole_stream);

            // Nothing dropped or reordered: messages, then the leftover, are the stream.
            let mut framer = Framer::new(spec.clone());
            let mut out = FramedBatch::default();
            for chunk in &chunks {
                framer.push(chunk, &mut out);
                // Bounded by the maximum (or a longer header, which validate refuses).
                prop_assert!(framer.waiting() <= spec.max_message.max(6));
            }
            framer.finish(&mut out);
            prop_assert_eq!(&out.data, &stream);
            for (bytes, mark) in out.iter() {
                prop_assert!(!bytes.is_empty());
                prop_assert!(bytes.len() <= spec.max_message.max(6));
                prop_assert!(usize::from(mark.delimiter) <= bytes.len());
            }
        }

        #[test]
        fn delimited_framing_matches_a_plain_model(
            delimiter in prop::collection::vec(prop::sample::select(vec![b'a', b'\n']), 1..4),
            max_message in 1usize..10,
            stream in prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'\n']), 0..100),
        ) {
            let (got, _) = frame(with_max(Framing::Delimiter(delimiter.clone()), max_message), &stream);
            let pieces: Vec<(usize, bool)> = got.iter().map(|m| (m.0.len(), m.2 == Cut::TooLong)).collect();
            prop_assert_eq!(pieces, reference_delimited(&delimiter, max_message, &stream));
        }
    }
}
