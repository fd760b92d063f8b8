//! The scenario file: TOML (the same library as the rules file), read into a
//! [`Scenario`] with errors that name the line and column, and written back from one
//! (what *Save as scenario…* saves). The format is documented in the README.
//!
//! The file is read as a tree of spanned TOML values and walked by hand rather than
//! through serde: a step's keys depend on its action, and every error (a key that does not
//! go with the action, a socket that is not declared) should point at its own key.
//!
//! ```toml
//! name = "HTTP-ish"        # optional: the file's stem
//! timeout = "2s"           # optional: expects' and opens' default limit (5s)
//! encoding = "utf-8"       # optional
//!
//! [vars]
//! port = "8080"
//!
//! [[socket]]
//! name = "web"
//! connect = "127.0.0.1:{{port}}"   # or listen = "…"
//! protocol = "tcp"                 # or udp
//! framing = "line:crlf"
//! max-message = 1048576
//! check = "crc16-modbus"
//! open-at-start = true
//!
//! [[step]]
//! send = "GET / HTTP/1.0\r\n\r\n"  # on, format, line-ending, checksum, variables, to
//! [[step]]
//! expect = 'HTTP/1\.[01] 200'      # on, format, match, within, skip-others
//! match = "regex"
//! [[step]]
//! repeat = 3
//! steps = [{ send = "PING\n" }, { expect = "PONG" }]
//! ```

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{
    Action, DEFAULT_TIMEOUT, Expectation, Protocol, Role, Scenario, ScenarioError, SocketDef,
    SocketIndex, Step,
};
use crate::engine::framing::{DEFAULT_MAX_MESSAGE, Framing, FramingSpec};
use crate::engine::responder::{MATCH_NAMES, MatchKind};
use crate::payload::{
    Checksum, LINE_ENDING_NAMES, LineEnding, PayloadFormat, PayloadSpec, TextEncoding, name_in,
};

/// Reads a scenario from `text`; `send-file` paths are relative to `base_dir`, and
/// `default_name` is the name when the file gives none.
pub fn parse_scenario(
    text: &str,
    base_dir: &Path,
    default_name: &str,
) -> Result<Scenario, ScenarioError> {
    let reader = Reader { text };
    let root = DeTable::parse(text).map_err(|error| reader.toml_error(&error))?;
    reader.scenario(root.get_ref(), base_dir, default_name)
}

/// Reads the file at `path` (an unreadable file is an error with line 0).
pub fn read_scenario(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|error| ScenarioError {
        line: 0,
        column: 0,
        message: format!("cannot read {}: {error}", path.display()),
    })?;
    let base_dir = path.parent().map_or_else(PathBuf::new, Path::to_path_buf);
    let stem = path
        .file_stem()
        .map_or_else(|| "scenario".into(), |stem| stem.to_string_lossy());
    parse_scenario(&text, &base_dir, &stem)
}

/// The scenario as a file `parse_scenario` reads back to the same scenario (save for the
/// steps' lines and the base directory, which are not in the file).
///
/// Only what differs from the defaults is written; `on` only when there is more than one
/// socket (and always for `expect-nothing`, where leaving it out means any socket).
pub fn write_scenario(scenario: &Scenario) -> String {
    let mut out = String::new();
    line(&mut out, "name", &quote(&scenario.name));
    if scenario.timeout != DEFAULT_TIMEOUT {
        line(
            &mut out,
            "timeout",
            &quote(&format_duration(scenario.timeout)),
        );
    }
    if scenario.encoding != TextEncoding::default() {
        line(&mut out, "encoding", &quote(scenario.encoding.label()));
    }
    if !scenario.vars.is_empty() {
        out.push_str("\n[vars]\n");
        for (name, value) in &scenario.vars {
            line(&mut out, &key(name), &quote(value));
        }
    }
    for socket in &scenario.sockets {
        out.push_str("\n[[socket]]\n");
        write_socket(&mut out, socket);
    }
    write_steps(&mut out, scenario, &scenario.steps, "step");
    out
}

/// `"250ms"`, `"2s"`, `"1.5s"`, `"1m"`: a number (a fraction allowed) and `ms`, `s` or `m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "\"{text}\" is not a duration: write a number and ms, s or m, \
             e.g. \"250ms\", \"2s\", \"1.5s\", \"1m\""
        )
    };
    let trimmed = text.trim();
    let unit_at = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(unit_at);
    let unit_nanos: u128 = match unit.trim() {
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        _ => return Err(bad()),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty())
        || fraction.contains('.')
        || number.ends_with('.')
        || fraction.len() > 18
    {
        return Err(bad());
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let fraction_nanos = if fraction.is_empty() {
        0
    } else {
        let digits: u128 = fraction.parse().map_err(|_| bad())?;
        digits * unit_nanos / 10u128.pow(fraction.len() as u32)
    };
    let nanos = whole
        .checked_mul(unit_nanos)
        .and_then(|nanos| nanos.checked_add(fraction_nanos))
        .ok_or_else(bad)?;
    let seconds = u64::try_from(nanos / 1_000_000_000).map_err(|_| bad())?;
    Ok(Duration::new(seconds, (nanos % 1_000_000_000) as u32))
}

/// The shortest form [`parse_duration`] reads back exactly: `"1m"`, `"2s"`, `"250ms"`,
/// `"0.5ms"`.
pub fn format_duration(duration: Duration) -> String {
    const MINUTE: u128 = 60_000_000_000;
    const SECOND: u128 = 1_000_000_000;
    const MILLI: u128 = 1_000_000;
    let nanos = duration.as_nanos();
    if nanos > 0 && nanos.is_multiple_of(MINUTE) {
        format!("{}m", nanos / MINUTE)
    } else if nanos.is_multiple_of(SECOND) {
        format!("{}s", nanos / SECOND)
    } else if nanos.is_multiple_of(MILLI) {
        format!("{}ms", nanos / MILLI)
    } else {
        let fraction = format!("{:06}", nanos % MILLI);
        format!("{}.{}ms", nanos / MILLI, fraction.trim_end_matches('0'))
    }
}

/// Every key that makes a step what it is; a step has exactly one.
const ACTION_KEYS: [&str; 10] = [
    "send",
    "send-file",
    "expect",
    "expect-connection",
    "expect-close",
    "expect-nothing",
    "sleep",
    "open",
    "close",
    "repeat",
];

/// The keys that may go with each action.
fn modifiers_of(action: &str) -> &'static [&'static str] {
    match action {
        "send" => &["on", "format", "line-ending", "checksum", "variables", "to"],
        "send-file" => &["on"],
        "expect" => &["on", "format", "match", "within", "skip-others"],
        "expect-connection" | "expect-close" | "open" => &["within"],
        "expect-nothing" => &["on"],
        "repeat" => &["steps"],
        _ => &[],
    }
}

const MODIFIER_KEYS: [&str; 10] = [
    "on",
    "format",
    "line-ending",
    "checksum",
    "variables",
    "to",
    "match",
    "within",
    "skip-others",
    "steps",
];

const SOCKET_KEYS: [&str; 8] = [
    "name",
    "connect",
    "listen",
    "protocol",
    "framing",
    "max-message",
    "check",
    "open-at-start",
];

const TOP_KEYS: [&str; 6] = ["name", "timeout", "encoding", "vars", "socket", "step"];

/// Names as written in the file; the first of each value is the one written.
const FORMAT_NAMES: [(PayloadFormat, &str); 4] = [
    (PayloadFormat::Text, "text"),
    (PayloadFormat::Escaped, "escapes"),
    // The rules file's name for it.
    (PayloadFormat::Escaped, "escaped"),
    (PayloadFormat::Hex, "hex"),
];

/// Scenarios have no "any message" expect.
const EXPECT_MATCH_NAMES: &[(MatchKind, &str)] = MATCH_NAMES.split_at(1).1;

const PROTOCOL_NAMES: [(Protocol, &str); 2] = [(Protocol::Tcp, "tcp"), (Protocol::Udp, "udp")];

/// A table's entry, its key's span kept for errors.
struct Entry<'a, 'i> {
    key: &'a str,
    key_span: Range<usize>,
    value: &'a Spanned<DeValue<'i>>,
}

/// A table's entries in file order (the parsed table keeps them sorted by name).
fn entries<'a, 'i>(table: &'a DeTable<'i>) -> Vec<Entry<'a, 'i>> {
    let mut entries: Vec<Entry<'a, 'i>> = table
        .iter()
        .map(|(key, value)| Entry {
            key: key.get_ref().as_ref(),
            key_span: key.span(),
            value,
        })
        .collect();
    entries.sort_by_key(|entry| entry.key_span.start);
    entries
}

fn find<'e, 'a, 'i>(entries: &'e [Entry<'a, 'i>], key: &str) -> Option<&'e Entry<'a, 'i>> {
    entries.iter().find(|entry| entry.key == key)
}

/// What a step needs to know of the scenario around it.
struct Context<'s> {
    sockets: &'s [SocketDef],
    /// What `within` is when a step does not say.
    timeout: Duration,
}

/// Turns spanned TOML into a scenario; knows the text to turn spans into lines.
struct Reader<'t> {
    text: &'t str,
}

type Parsed<T> = Result<T, ScenarioError>;

impl Reader<'_> {
    /// 1-based line and column (in characters) of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    fn error(&self, span: &Range<usize>, message: impl Into<String>) -> ScenarioError {
        let (line, column) = self.position(span.start);
        ScenarioError {
            line,
            column,
            message: message.into(),
        }
    }

    fn toml_error(&self, error: &toml::de::Error) -> ScenarioError {
        let span = error.span().unwrap_or(0..0);
        self.error(&span, error.message().trim_end())
    }

    fn line_of(&self, span: &Range<usize>) -> usize {
        self.position(span.start).0
    }

    fn string<'a>(&self, entry: &Entry<'a, '_>) -> Parsed<&'a str> {
        entry.value.get_ref().as_str().ok_or_else(|| {
            self.error(
                &entry.value.span(),
                format!(
                    "`{}` must be a string (in quotes), not {}",
                    entry.key,
                    entry.value.get_ref().type_str()
                ),
            )
        })
    }

    fn boolean(&self, entry: &Entry<'_, '_>) -> Parsed<bool> {
        entry.value.get_ref().as_bool().ok_or_else(|| {
            self.error(
                &entry.value.span(),
                format!(
                    "`{}` must be true or false, not {}",
                    entry.key,
                    entry.value.get_ref().type_str()
                ),
            )
        })
    }

    /// A whole number of at least 1.
    fn count(&self, entry: &Entry<'_, '_>) -> Parsed<u64> {
        let value = entry.value.get_ref().as_integer().ok_or_else(|| {
            self.error(
                &entry.value.span(),
                format!(
                    "`{}` must be a whole number (without quotes), not {}",
                    entry.key,
                    entry.value.get_ref().type_str()
                ),
            )
        })?;
        match i128::from_str_radix(value.as_str(), value.radix()) {
            Ok(count) if count >= 1 => u64::try_from(count)
                .ok()
                .filter(|count| *count <= i64::MAX as u64)
                .ok_or_else(|| {
                    self.error(&entry.value.span(), format!("`{}` is too large", entry.key))
                }),
            _ => Err(self.error(
                &entry.value.span(),
                format!("`{}` must be at least 1", entry.key),
            )),
        }
    }

    fn duration(&self, entry: &Entry<'_, '_>) -> Parsed<Duration> {
        let text = entry.value.get_ref().as_str().ok_or_else(|| {
            self.error(
                &entry.value.span(),
                format!(
                    "`{}` must be a duration in quotes, e.g. \"250ms\" or \"2s\"",
                    entry.key
                ),
            )
        })?;
        parse_duration(text)
            .map_err(|reason| self.error(&entry.value.span(), format!("{}: {reason}", entry.key)))
    }

    /// A value named in `names` (ignoring case), or an error listing the names.
    fn choice<T: Copy>(&self, entry: &Entry<'_, '_>, names: &[(T, &'static str)]) -> Parsed<T> {
        let text = self.string(entry)?;
        names
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text.trim()))
            .map(|(value, _)| *value)
            .ok_or_else(|| {
                let mut choices: Vec<&str> = Vec::new();
                for (_, name) in names {
                    if !choices.contains(name) {
                        choices.push(name);
                    }
                }
                self.error(
                    &entry.value.span(),
                    format!(
                        "{}: unknown \"{text}\" (use {})",
                        entry.key,
                        choices.join(", ")
                    ),
                )
            })
    }

    fn table<'a, 'i>(
        &self,
        value: &'a Spanned<DeValue<'i>>,
        what: &str,
    ) -> Parsed<&'a DeTable<'i>> {
        value.get_ref().as_table().ok_or_else(|| {
            self.error(
                &value.span(),
                format!("{what} must be a table, not {}", value.get_ref().type_str()),
            )
        })
    }

    fn array<'a, 'i>(&self, entry: &Entry<'a, 'i>) -> Parsed<&'a [Spanned<DeValue<'i>>]> {
        match entry.value.get_ref() {
            DeValue::Array(array) => Ok(array),
            other => Err(self.error(
                &entry.value.span(),
                format!(
                    "`{}` must be a list of tables ([[{}]]), not {}",
                    entry.key,
                    entry.key,
                    other.type_str()
                ),
            )),
        }
    }

    fn scenario(
        &self,
        root: &DeTable<'_>,
        base_dir: &Path,
        default_name: &str,
    ) -> Parsed<Scenario> {
        let entries = entries(root);
        for entry in &entries {
            if !TOP_KEYS.contains(&entry.key) {
                let hint = if ACTION_KEYS.contains(&entry.key) || MODIFIER_KEYS.contains(&entry.key)
                {
                    " (steps go in [[step]] tables)"
                } else if SOCKET_KEYS.contains(&entry.key) {
                    " (sockets are described in [[socket]] tables)"
                } else {
                    ""
                };
                return Err(self.error(
                    &entry.key_span,
                    format!(
                        "unknown key `{}`{hint}; the file's own keys are name, timeout, \
                         encoding, [vars], [[socket]] and [[step]]",
                        entry.key
                    ),
                ));
            }
        }
        let name = match find(&entries, "name") {
            Some(entry) => self.string(entry)?.to_string(),
            None => default_name.to_string(),
        };
        let timeout = match find(&entries, "timeout") {
            Some(entry) => self.duration(entry)?,
            None => DEFAULT_TIMEOUT,
        };
        let encoding = match find(&entries, "encoding") {
            Some(entry) => self.encoding(entry)?,
            None => TextEncoding::default(),
        };
        let vars = match find(&entries, "vars") {
            Some(entry) => self.vars(entry)?,
            None => Vec::new(),
        };

        let mut sockets: Vec<SocketDef> = Vec::new();
        if let Some(entry) = find(&entries, "socket") {
            for value in self.array(entry)? {
                let socket = self.socket(value)?;
                if sockets.iter().any(|other| other.name == socket.name) {
                    let table = self.table(value, "a [[socket]]")?;
                    let span = find(&self::entries(table), "name")
                        .map_or_else(|| value.span(), |name| name.value.span());
                    return Err(self.error(
                        &span,
                        format!("there is already a socket named \"{}\"", socket.name),
                    ));
                }
                sockets.push(socket);
            }
        }
        if sockets.is_empty() {
            let span = find(&entries, "socket").map_or(0..0, |entry| entry.value.span());
            return Err(self.error(
                &span,
                "the scenario has no sockets: describe at least one in a [[socket]] table",
            ));
        }

        let context = Context {
            sockets: &sockets,
            timeout,
        };
        let steps = match find(&entries, "step") {
            Some(entry) => self
                .array(entry)?
                .iter()
                .map(|value| self.step(value, &context))
                .collect::<Parsed<Vec<Step>>>()?,
            None => Vec::new(),
        };
        if steps.is_empty() {
            let span = find(&entries, "step").map_or(0..0, |entry| entry.value.span());
            return Err(self.error(
                &span,
                "the scenario has no steps: add at least one [[step]] table",
            ));
        }
        Ok(Scenario {
            name,
            base_dir: base_dir.to_path_buf(),
            vars,
            timeout,
            encoding,
            sockets,
            steps,
        })
    }

    fn encoding(&self, entry: &Entry<'_, '_>) -> Parsed<TextEncoding> {
        let name = self.string(entry)?;
        TextEncoding::from_label(name).map_err(|reason| self.error(&entry.value.span(), reason))
    }

    /// `[vars]`: strings; whole numbers are taken as their decimal text (`port = 8080`).
    fn vars(&self, entry: &Entry<'_, '_>) -> Parsed<Vec<(String, String)>> {
        let table = self.table(entry.value, "[vars]")?;
        entries(table)
            .iter()
            .map(|var| {
                let value = match var.value.get_ref() {
                    DeValue::String(text) => text.to_string(),
                    DeValue::Integer(number) => {
                        i128::from_str_radix(number.as_str(), number.radix())
                            .map(|number| number.to_string())
                            .unwrap_or_else(|_| number.as_str().to_string())
                    }
                    other => {
                        return Err(self.error(
                            &var.value.span(),
                            format!(
                                "variable `{}` must be a string, not {}",
                                var.key,
                                other.type_str()
                            ),
                        ));
                    }
                };
                Ok((var.key.to_string(), value))
            })
            .collect()
    }

    fn socket(&self, value: &Spanned<DeValue<'_>>) -> Parsed<SocketDef> {
        let table = self.table(value, "a [[socket]]")?;
        let entries = entries(table);
        for entry in &entries {
            if !SOCKET_KEYS.contains(&entry.key) {
                return Err(self.error(
                    &entry.key_span,
                    format!(
                        "unknown key `{}` in a [[socket]] (use {})",
                        entry.key,
                        SOCKET_KEYS.join(", ")
                    ),
                ));
            }
        }
        let name_entry = find(&entries, "name")
            .ok_or_else(|| self.error(&value.span(), "a [[socket]] needs a name = \"…\""))?;
        let name = self.string(name_entry)?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(self.error(
                &name_entry.value.span(),
                format!("socket name \"{name}\": use letters, digits, _ and - (at least one)"),
            ));
        }

        let addresses: Vec<&Entry> = entries
            .iter()
            .filter(|entry| matches!(entry.key, "connect" | "listen"))
            .collect();
        let (role, addr) = match addresses.as_slice() {
            [] => {
                return Err(self.error(
                    &value.span(),
                    format!(
                        "socket \"{name}\" needs connect = \"host:port\" or listen = \"host:port\""
                    ),
                ));
            }
            [entry] => {
                let role = if entry.key == "connect" {
                    Role::Connect
                } else {
                    Role::Listen
                };
                let addr = self.string(entry)?;
                if addr.trim().is_empty() {
                    return Err(self.error(
                        &entry.value.span(),
                        format!("`{}` needs an address, host:port", entry.key),
                    ));
                }
                (role, addr.to_string())
            }
            [_, second, ..] => {
                return Err(self.error(
                    &second.key_span,
                    format!("socket \"{name}\" either connects or listens, not both"),
                ));
            }
        };

        let protocol = match find(&entries, "protocol") {
            Some(entry) => self.choice(entry, &PROTOCOL_NAMES)?,
            None => Protocol::Tcp,
        };
        let framing_entry = find(&entries, "framing");
        let framing = match framing_entry {
            Some(entry) => self
                .string(entry)?
                .parse::<Framing>()
                .map_err(|reason| self.error(&entry.value.span(), format!("framing: {reason}")))?,
            None => Framing::Raw,
        };
        let max_entry = find(&entries, "max-message");
        let max_message = match max_entry {
            Some(entry) => usize::try_from(self.count(entry)?).unwrap_or(usize::MAX),
            None => DEFAULT_MAX_MESSAGE,
        };
        let checksum =
            match find(&entries, "check") {
                Some(entry) => Some(Checksum::parse(self.string(entry)?).map_err(|reason| {
                    self.error(&entry.value.span(), format!("check: {reason}"))
                })?),
                None => None,
            };
        let spec = FramingSpec {
            framing,
            max_message,
            checksum,
        };
        if let Err(reason) = spec.validate() {
            let span = framing_entry
                .or(max_entry)
                .map_or_else(|| value.span(), |entry| entry.value.span());
            return Err(self.error(&span, format!("framing: {reason}")));
        }
        let open_at_start = match find(&entries, "open-at-start") {
            Some(entry) => self.boolean(entry)?,
            None => true,
        };
        Ok(SocketDef {
            name: name.to_string(),
            protocol,
            role,
            addr,
            framing: spec,
            open_at_start,
            line: self.line_of(&value.span()),
        })
    }

    /// The socket a step's value names (`expect-close = "web"`, `on = "web"`).
    fn socket_named(&self, entry: &Entry<'_, '_>, context: &Context<'_>) -> Parsed<SocketIndex> {
        let name = self.string(entry)?;
        context
            .sockets
            .iter()
            .position(|socket| socket.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = context
                    .sockets
                    .iter()
                    .map(|socket| socket.name.as_str())
                    .collect();
                self.error(
                    &entry.value.span(),
                    format!(
                        "no socket named \"{name}\" (the sockets are {})",
                        names.join(", ")
                    ),
                )
            })
    }

    /// `on`, or the only socket there is.
    fn socket_on(
        &self,
        action: &Entry<'_, '_>,
        on: Option<&Entry<'_, '_>>,
        context: &Context<'_>,
    ) -> Parsed<SocketIndex> {
        match on {
            Some(on) => self.socket_named(on, context),
            None if context.sockets.len() == 1 => Ok(0),
            None => {
                let names: Vec<&str> = context
                    .sockets
                    .iter()
                    .map(|socket| socket.name.as_str())
                    .collect();
                Err(self.error(
                    &action.key_span,
                    format!(
                        "say which socket with on = \"…\": the scenario has {} sockets ({})",
                        names.len(),
                        names.join(", ")
                    ),
                ))
            }
        }
    }

    fn step(&self, value: &Spanned<DeValue<'_>>, context: &Context<'_>) -> Parsed<Step> {
        let table = self.table(value, "a step")?;
        let entries = entries(table);
        for entry in &entries {
            if !ACTION_KEYS.contains(&entry.key) && !MODIFIER_KEYS.contains(&entry.key) {
                return Err(self.error(
                    &entry.key_span,
                    format!(
                        "unknown key `{}` in a step (actions: {}; with them: {})",
                        entry.key,
                        ACTION_KEYS.join(", "),
                        MODIFIER_KEYS.join(", ")
                    ),
                ));
            }
        }
        let actions: Vec<&Entry> = entries
            .iter()
            .filter(|entry| ACTION_KEYS.contains(&entry.key))
            .collect();
        let action = match actions.as_slice() {
            [] => {
                return Err(self.error(
                    &value.span(),
                    format!("a step needs an action, one of {}", ACTION_KEYS.join(", ")),
                ));
            }
            [action] => *action,
            [_, second, ..] => {
                let keys: Vec<&str> = actions.iter().map(|entry| entry.key).collect();
                return Err(self.error(
                    &second.key_span,
                    format!(
                        "a step has one action, this one has {}: {} (make each its own step)",
                        keys.len(),
                        keys.join(", ")
                    ),
                ));
            }
        };
        let allowed = modifiers_of(action.key);
        for entry in &entries {
            if entry.key != action.key && !allowed.contains(&entry.key) {
                let owners: Vec<&str> = ACTION_KEYS
                    .iter()
                    .copied()
                    .filter(|owner| modifiers_of(owner).contains(&entry.key))
                    .collect();
                return Err(self.error(
                    &entry.key_span,
                    format!(
                        "`{}` does not go with {} (it goes with {})",
                        entry.key,
                        action.key,
                        owners.join(", ")
                    ),
                ));
            }
        }
        let modifier = |key: &str| find(&entries, key);
        let within = |context: &Context<'_>| match modifier("within") {
            Some(entry) => self.duration(entry),
            None => Ok(context.timeout),
        };
        let action = match action.key {
            "send" => self.send(action, &entries, context)?,
            "send-file" => {
                let path = self.string(action)?;
                if path.trim().is_empty() {
                    return Err(self.error(&action.value.span(), "send-file needs a file's path"));
                }
                Action::SendFile {
                    socket: self.socket_on(action, modifier("on"), context)?,
                    path: PathBuf::from(path),
                }
            }
            "expect" => self.expect(action, &entries, context)?,
            "expect-connection" | "expect-close" => {
                let socket = self.socket_named(action, context)?;
                if context.sockets[socket].protocol == Protocol::Udp {
                    return Err(self.error(
                        &action.value.span(),
                        format!(
                            "\"{}\" is a UDP socket: UDP has no connections to expect \
                             (expect-connection and expect-close are for TCP)",
                            context.sockets[socket].name
                        ),
                    ));
                }
                let within = within(context)?;
                if action.key == "expect-connection" {
                    Action::ExpectConnection { socket, within }
                } else {
                    Action::ExpectClose { socket, within }
                }
            }
            "expect-nothing" => Action::ExpectNothing {
                socket: modifier("on")
                    .map(|on| self.socket_named(on, context))
                    .transpose()?,
                during: self.duration(action)?,
            },
            "sleep" => Action::Sleep(self.duration(action)?),
            "open" => Action::Open {
                socket: self.socket_named(action, context)?,
                within: within(context)?,
            },
            "close" => Action::Close {
                socket: self.socket_named(action, context)?,
            },
            _ => self.repeat(action, modifier("steps"), context)?,
        };
        Ok(Step {
            line: self.line_of(&value.span()),
            action,
        })
    }

    fn send(
        &self,
        action: &Entry<'_, '_>,
        entries: &[Entry<'_, '_>],
        context: &Context<'_>,
    ) -> Parsed<Action> {
        let socket = self.socket_on(action, find(entries, "on"), context)?;
        let format = match find(entries, "format") {
            Some(entry) => self.choice(entry, &FORMAT_NAMES)?,
            None => PayloadFormat::Text,
        };
        let line_ending = match find(entries, "line-ending") {
            Some(entry) => {
                let ending = self.choice(entry, &LINE_ENDING_NAMES)?;
                if ending != LineEnding::None && !format.takes_line_ending() {
                    return Err(self.error(
                        &entry.key_span,
                        "a line ending is not added to hex: write its bytes (0d 0a) in the hex",
                    ));
                }
                ending
            }
            None => LineEnding::None,
        };
        let checksum = match find(entries, "checksum") {
            Some(entry) => Some(Checksum::parse(self.string(entry)?).map_err(|reason| {
                self.error(&entry.value.span(), format!("checksum: {reason}"))
            })?),
            None => None,
        };
        let variables = match find(entries, "variables") {
            Some(entry) => self.boolean(entry)?,
            None => true,
        };
        let to = match find(entries, "to") {
            Some(entry) => {
                let def = &context.sockets[socket];
                if def.protocol != Protocol::Udp || def.role != Role::Listen {
                    return Err(self.error(
                        &entry.key_span,
                        format!(
                            "`to` is for sending from a UDP listen socket; \"{}\" is not one \
                             (it sends to its peer)",
                            def.name
                        ),
                    ));
                }
                Some(self.string(entry)?.to_string())
            }
            None => None,
        };
        Ok(Action::Send {
            socket,
            payload: PayloadSpec {
                text: self.string(action)?.to_string(),
                format,
                line_ending,
                checksum,
                variables,
            },
            to,
        })
    }

    fn expect(
        &self,
        action: &Entry<'_, '_>,
        entries: &[Entry<'_, '_>],
        context: &Context<'_>,
    ) -> Parsed<Action> {
        let socket = self.socket_on(action, find(entries, "on"), context)?;
        let pattern = self.string(action)?.to_string();
        let matches = match find(entries, "match") {
            Some(entry) => self.choice(entry, EXPECT_MATCH_NAMES)?,
            None => MatchKind::Exact,
        };
        let format = match find(entries, "format") {
            Some(entry) => {
                let format = self.choice(entry, &FORMAT_NAMES)?;
                if matches == MatchKind::Regex && format != PayloadFormat::Text {
                    return Err(self.error(
                        &entry.value.span(),
                        "a regex matches text: leave out `format` (or make it \"text\") \
                         with match = \"regex\"",
                    ));
                }
                format
            }
            None => PayloadFormat::Text,
        };
        let within = match find(entries, "within") {
            Some(entry) => self.duration(entry)?,
            None => context.timeout,
        };
        let skip_others = match find(entries, "skip-others") {
            Some(entry) => self.boolean(entry)?,
            None => false,
        };
        Ok(Action::Expect {
            socket,
            expectation: Expectation {
                matches,
                pattern,
                format,
                skip_others,
            },
            within,
        })
    }

    fn repeat(
        &self,
        action: &Entry<'_, '_>,
        steps: Option<&Entry<'_, '_>>,
        context: &Context<'_>,
    ) -> Parsed<Action> {
        let times = self.count(action)?;
        let Some(steps) = steps else {
            return Err(self.error(
                &action.key_span,
                "repeat needs the steps to repeat: steps = [{ … }, { … }] or [[step.steps]] tables",
            ));
        };
        let values = self.array(steps)?;
        if values.is_empty() {
            return Err(self.error(
                &steps.value.span(),
                "repeat's steps are empty: give it at least one step",
            ));
        }
        let steps = values
            .iter()
            .map(|value| self.step(value, context))
            .collect::<Parsed<Vec<Step>>>()?;
        Ok(Action::Repeat { times, steps })
    }
}

/// A TOML string that reads back as `text`, on one line: a 'literal' string when that
/// spares backslashes (regexes, `"quotes"`), else a "basic" one with `\r\n`-style escapes.
/// (The `toml` crate writes text with newlines as a multi-line string, which hides the
/// difference between `\n` and `\r\n` that matters here.)
fn quote(text: &str) -> String {
    let literal_fits = !text.contains('\'') && text.chars().all(|c| c == '\t' || !c.is_control());
    if literal_fits && (text.contains('\\') || text.contains('"')) {
        return format!("'{text}'");
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A bare key when it can be one, else quoted.
fn key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_string()
    } else {
        quote(name)
    }
}

fn line(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "{key} = {value}");
}

fn write_socket(out: &mut String, socket: &SocketDef) {
    line(out, "name", &quote(&socket.name));
    let role = match socket.role {
        Role::Connect => "connect",
        Role::Listen => "listen",
    };
    line(out, role, &quote(&socket.addr));
    if socket.protocol != Protocol::Tcp {
        line(
            out,
            "protocol",
            &quote(name_in(&PROTOCOL_NAMES, socket.protocol)),
        );
    }
    let spec = &socket.framing;
    if spec.framing != Framing::Raw {
        line(out, "framing", &quote(&spec.framing.to_string()));
    }
    if spec.max_message != DEFAULT_MAX_MESSAGE {
        // TOML integers are signed 64-bit.
        let max = u64::try_from(spec.max_message)
            .unwrap_or(u64::MAX)
            .min(i64::MAX as u64);
        line(out, "max-message", &max.to_string());
    }
    if let Some(checksum) = spec.checksum {
        line(out, "check", &quote(&checksum.to_string()));
    }
    if !socket.open_at_start {
        line(out, "open-at-start", "false");
    }
}

fn write_steps(out: &mut String, scenario: &Scenario, steps: &[Step], header: &str) {
    let socket_name = |socket: SocketIndex| {
        quote(
            scenario
                .sockets
                .get(socket)
                .map_or("", |socket| socket.name.as_str()),
        )
    };
    // `on` can be left out when there is only one socket.
    let on = |out: &mut String, socket: SocketIndex| {
        if scenario.sockets.len() != 1 {
            line(out, "on", &socket_name(socket));
        }
    };
    let within = |out: &mut String, within: Duration| {
        if within != scenario.timeout {
            line(out, "within", &quote(&format_duration(within)));
        }
    };
    for step in steps {
        let _ = write!(out, "\n[[{header}]]\n");
        match &step.action {
            Action::Send {
                socket,
                payload,
                to,
            } => {
                line(out, "send", &quote(&payload.text));
                on(out, *socket);
                if payload.format != PayloadFormat::Text {
                    line(
                        out,
                        "format",
                        &quote(name_in(&FORMAT_NAMES, payload.format)),
                    );
                }
                if payload.line_ending != LineEnding::None {
                    line(
                        out,
                        "line-ending",
                        &quote(name_in(&LINE_ENDING_NAMES, payload.line_ending)),
                    );
                }
                if let Some(checksum) = payload.checksum {
                    line(out, "checksum", &quote(&checksum.to_string()));
                }
                if !payload.variables {
                    line(out, "variables", "false");
                }
                if let Some(to) = to {
                    line(out, "to", &quote(to));
                }
            }
            Action::SendFile { socket, path } => {
                line(out, "send-file", &quote(&path.to_string_lossy()));
                on(out, *socket);
            }
            Action::Expect {
                socket,
                expectation,
                within: limit,
            } => {
                line(out, "expect", &quote(&expectation.pattern));
                on(out, *socket);
                if expectation.matches != MatchKind::Exact {
                    line(
                        out,
                        "match",
                        &quote(name_in(EXPECT_MATCH_NAMES, expectation.matches)),
                    );
                }
                if expectation.format != PayloadFormat::Text {
                    line(
                        out,
                        "format",
                        &quote(name_in(&FORMAT_NAMES, expectation.format)),
                    );
                }
                within(out, *limit);
                if expectation.skip_others {
                    line(out, "skip-others", "true");
                }
            }
            Action::ExpectConnection {
                socket,
                within: limit,
            } => {
                line(out, "expect-connection", &socket_name(*socket));
                within(out, *limit);
            }
            Action::ExpectClose {
                socket,
                within: limit,
            } => {
                line(out, "expect-close", &socket_name(*socket));
                within(out, *limit);
            }
            Action::ExpectNothing { socket, during } => {
                line(out, "expect-nothing", &quote(&format_duration(*during)));
                if let Some(socket) = socket {
                    line(out, "on", &socket_name(*socket));
                }
            }
            Action::Sleep(duration) => line(out, "sleep", &quote(&format_duration(*duration))),
            Action::Open {
                socket,
                within: limit,
            } => {
                line(out, "open", &socket_name(*socket));
                within(out, *limit);
            }
            Action::Close { socket } => line(out, "close", &socket_name(*socket)),
            Action::Repeat { times, steps } => {
                line(out, "repeat", &(*times).min(i64::MAX as u64).to_string());
                write_steps(out, scenario, steps, &format!("{header}.steps"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::framing::{LengthPrefix, LineEnd};
    use crate::payload::{ByteOrder, ChecksumKind};
    use proptest::strategy::Strategy as _;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        parse_scenario(text, Path::new("/scenarios"), "stem")
    }

    /// Line, column and message of the error `text` gives.
    fn error_of(text: &str) -> (usize, usize, String) {
        let error = parse(text).expect_err("the file should not parse");
        (error.line, error.column, error.message)
    }

    fn assert_error(text: &str, line: usize, column: usize, words: &[&str]) {
        let (found_line, found_column, message) = error_of(text);
        assert_eq!(
            (found_line, found_column),
            (line, column),
            "{message}\nin:\n{text}"
        );
        for word in words {
            assert!(message.contains(word), "{message:?} lacks {word:?}");
        }
    }

    /// Lines 1-3.
    const WEB: &str = "[[socket]]\nname = \"web\"\nconnect = \"127.0.0.1:80\"\n";
    /// Lines 4-6, after WEB.
    const SRV: &str = "[[socket]]\nname = \"srv\"\nlisten = \"127.0.0.1:0\"\n";

    fn without_lines(steps: &mut [Step]) {
        for step in steps {
            step.line = 0;
            if let Action::Repeat { steps, .. } = &mut step.action {
                without_lines(steps);
            }
        }
    }

    /// The scenario with every `line` zeroed: what a written file cannot keep.
    fn lineless(mut scenario: Scenario) -> Scenario {
        for socket in &mut scenario.sockets {
            socket.line = 0;
        }
        without_lines(&mut scenario.steps);
        scenario
    }

    fn round_trip(scenario: &Scenario) {
        let written = write_scenario(scenario);
        let read = parse_scenario(&written, &scenario.base_dir, "other")
            .unwrap_or_else(|error| panic!("{error}\nin:\n{written}"));
        assert_eq!(lineless(read), lineless(scenario.clone()), "{written}");
    }

    const EVERY_KIND: &str = r#"name = "every kind"
timeout = "2s"
encoding = "gbk"

[vars]
host = "127.0.0.1"
port = 8080

[[socket]]
name = "web"
connect = "{{host}}:{{port}}"
framing = "line:crlf"
max-message = 4096
check = "crc16-modbus"

[[socket]]
name = "udp-in"
listen = "0.0.0.0:0"
protocol = "udp"

[[socket]]
name = "late_one"
connect = "127.0.0.1:9"
open-at-start = false

[[step]]
send = "GET / HTTP/1.0\r\n\r\n"
on = "web"

[[step]]
send = "01 03"
on = "web"
format = "hex"
checksum = "crc16-modbus:be"
variables = false

[[step]]
send = "hi\\t"
on = "udp-in"
format = "escapes"
line-ending = "crlf"
to = "127.0.0.1:9"

[[step]]
expect = 'HTTP/1\.[01] 200'
on = "web"
match = "regex"
within = "250ms"
skip-others = true

[[step]]
expect = "01 ?? 02"
on = "udp-in"
format = "hex"
match = "starts-with"

[[step]]
send-file = "data/request.bin"
on = "web"

[[step]]
expect-connection = "late_one"
within = "1.5s"

[[step]]
expect-close = "web"

[[step]]
expect-nothing = "500ms"

[[step]]
expect-nothing = "1m"
on = "udp-in"

[[step]]
sleep = "100ms"

[[step]]
open = "late_one"

[[step]]
close = "web"

[[step]]
repeat = 3
steps = [ { send = "PING\n", on = "web" }, { expect = "PONG", on = "web", match = "contains" } ]
"#;

    fn every_kind() -> Scenario {
        let web = |line, action| Step { line, action };
        Scenario {
            name: "every kind".into(),
            base_dir: PathBuf::from("/scenarios"),
            vars: vec![
                ("host".into(), "127.0.0.1".into()),
                ("port".into(), "8080".into()),
            ],
            timeout: Duration::from_secs(2),
            encoding: TextEncoding::Gbk,
            sockets: vec![
                SocketDef {
                    name: "web".into(),
                    protocol: Protocol::Tcp,
                    role: Role::Connect,
                    addr: "{{host}}:{{port}}".into(),
                    framing: FramingSpec {
                        framing: Framing::Line(LineEnd::CrLf),
                        max_message: 4096,
                        checksum: Some(Checksum::usual(ChecksumKind::Crc16Modbus)),
                    },
                    open_at_start: true,
                    line: 9,
                },
                SocketDef {
                    name: "udp-in".into(),
                    protocol: Protocol::Udp,
                    role: Role::Listen,
                    addr: "0.0.0.0:0".into(),
                    framing: FramingSpec::default(),
                    open_at_start: true,
                    line: 16,
                },
                SocketDef {
                    name: "late_one".into(),
                    protocol: Protocol::Tcp,
                    role: Role::Connect,
                    addr: "127.0.0.1:9".into(),
                    framing: FramingSpec::default(),
                    open_at_start: false,
                    line: 21,
                },
            ],
            steps: vec![
                web(
                    26,
                    Action::Send {
                        socket: 0,
                        payload: PayloadSpec {
                            text: "GET / HTTP/1.0\r\n\r\n".into(),
                            ..PayloadSpec::default()
                        },
                        to: None,
                    },
                ),
                web(
                    30,
                    Action::Send {
                        socket: 0,
                        payload: PayloadSpec {
                            text: "01 03".into(),
                            format: PayloadFormat::Hex,
                            line_ending: LineEnding::None,
                            checksum: Some(Checksum {
                                kind: ChecksumKind::Crc16Modbus,
                                order: ByteOrder::Big,
                            }),
                            variables: false,
                        },
                        to: None,
                    },
                ),
                web(
                    37,
                    Action::Send {
                        socket: 1,
                        payload: PayloadSpec {
                            text: "hi\\t".into(),
                            format: PayloadFormat::Escaped,
                            line_ending: LineEnding::CrLf,
                            checksum: None,
                            variables: true,
                        },
                        to: Some("127.0.0.1:9".into()),
                    },
                ),
                web(
                    44,
                    Action::Expect {
                        socket: 0,
                        expectation: Expectation {
                            matches: MatchKind::Regex,
                            pattern: r"HTTP/1\.[01] 200".into(),
                            format: PayloadFormat::Text,
                            skip_others: true,
                        },
                        within: Duration::from_millis(250),
                    },
                ),
                web(
                    51,
                    Action::Expect {
                        socket: 1,
                        expectation: Expectation {
                            matches: MatchKind::StartsWith,
                            pattern: "01 ?? 02".into(),
                            format: PayloadFormat::Hex,
                            skip_others: false,
                        },
                        within: Duration::from_secs(2),
                    },
                ),
                web(
                    57,
                    Action::SendFile {
                        socket: 0,
                        path: PathBuf::from("data/request.bin"),
                    },
                ),
                web(
                    61,
                    Action::ExpectConnection {
                        socket: 2,
                        within: Duration::from_millis(1500),
                    },
                ),
                web(
                    65,
                    Action::ExpectClose {
                        socket: 0,
                        within: Duration::from_secs(2),
                    },
                ),
                web(
                    68,
                    Action::ExpectNothing {
                        socket: None,
                        during: Duration::from_millis(500),
                    },
                ),
                web(
                    71,
                    Action::ExpectNothing {
                        socket: Some(1),
                        during: Duration::from_secs(60),
                    },
                ),
                web(75, Action::Sleep(Duration::from_millis(100))),
                web(
                    78,
                    Action::Open {
                        socket: 2,
                        within: Duration::from_secs(2),
                    },
                ),
                web(81, Action::Close { socket: 0 }),
                web(
                    84,
                    Action::Repeat {
                        times: 3,
                        steps: vec![
                            web(
                                86,
                                Action::Send {
                                    socket: 0,
                                    payload: PayloadSpec {
                                        text: "PING\n".into(),
                                        ..PayloadSpec::default()
                                    },
                                    to: None,
                                },
                            ),
                            web(
                                86,
                                Action::Expect {
                                    socket: 0,
                                    expectation: Expectation {
                                        matches: MatchKind::Contains,
                                        pattern: "PONG".into(),
                                        format: PayloadFormat::Text,
                                        skip_others: false,
                                    },
                                    within: Duration::from_secs(2),
                                },
                            ),
                        ],
                    },
                ),
            ],
        }
    }

    #[test]
    fn every_step_kind_reads_into_its_action() {
        assert_eq!(parse(EVERY_KIND).unwrap(), every_kind());
    }

    /// Any step on `every_kind`'s first two sockets (TCP client, UDP listener), as the
    /// file allows it.
    fn any_action() -> impl proptest::strategy::Strategy<Value = Action> {
        use proptest::prelude::*;
        let text = || "\\PC*|[\\x00-\\x7f]*";
        let duration = || (0u64..10_000_000_000_000).prop_map(Duration::from_nanos);
        let format = || {
            prop_oneof![
                Just(PayloadFormat::Text),
                Just(PayloadFormat::Escaped),
                Just(PayloadFormat::Hex)
            ]
        };
        let checksum = proptest::option::of((0..ChecksumKind::ALL.len(), any::<bool>()).prop_map(
            |(kind, big)| Checksum {
                kind: ChecksumKind::ALL[kind],
                order: if big {
                    ByteOrder::Big
                } else {
                    ByteOrder::Little
                },
            },
        ));
        let send = (
            0usize..2,
            text(),
            format(),
            0..LineEnding::ALL.len(),
            checksum,
            any::<bool>(),
            proptest::option::of(text()),
        )
            .prop_map(|(socket, text, format, ending, checksum, variables, to)| {
                let line_ending = if format == PayloadFormat::Hex {
                    LineEnding::None
                } else {
                    LineEnding::ALL[ending]
                };
                Action::Send {
                    socket,
                    payload: PayloadSpec {
                        text,
                        format,
                        line_ending,
                        checksum,
                        variables,
                    },
                    // Only the UDP listener sends `to`.
                    to: to.filter(|_| socket == 1),
                }
            });
        let expect = (
            0usize..2,
            text(),
            0..EXPECT_MATCH_NAMES.len(),
            format(),
            any::<bool>(),
            duration(),
        )
            .prop_map(|(socket, pattern, matches, format, skip_others, within)| {
                let matches = EXPECT_MATCH_NAMES[matches].0;
                let format = if matches == MatchKind::Regex {
                    PayloadFormat::Text
                } else {
                    format
                };
                Action::Expect {
                    socket,
                    expectation: Expectation {
                        matches,
                        pattern,
                        format,
                        skip_others,
                    },
                    within,
                }
            });
        let leaf = prop_oneof![
            send,
            expect,
            (0usize..2, "[a-z/._-][^\\x00]*").prop_map(|(socket, path)| Action::SendFile {
                socket,
                path: PathBuf::from(path),
            }),
            duration().prop_map(|within| Action::ExpectConnection { socket: 0, within }),
            duration().prop_map(|within| Action::ExpectClose { socket: 0, within }),
            (proptest::option::of(0usize..2), duration())
                .prop_map(|(socket, during)| Action::ExpectNothing { socket, during }),
            duration().prop_map(Action::Sleep),
            (0usize..2, duration()).prop_map(|(socket, within)| Action::Open { socket, within }),
            (0usize..2).prop_map(|socket| Action::Close { socket }),
        ];
        leaf.prop_recursive(3, 12, 3, |inner| {
            (
                1u64..1000,
                proptest::collection::vec(inner.prop_map(|action| Step { line: 0, action }), 1..4),
            )
                .prop_map(|(times, steps)| Action::Repeat { times, steps })
        })
    }

    proptest::proptest! {
        #[test]
        fn any_steps_write_and_read_back_the_same(
            actions in proptest::collection::vec(any_action(), 1..6),
            timeout in (1u64..100_000).prop_map(Duration::from_millis),
        ) {
            let mut scenario = every_kind();
            scenario.sockets.truncate(2);
            scenario.timeout = timeout;
            scenario.steps = actions
                .into_iter()
                .map(|action| Step { line: 0, action })
                .collect();
            let written = write_scenario(&scenario);
            let read = parse_scenario(&written, &scenario.base_dir, "other").map_err(|error| {
                proptest::test_runner::TestCaseError::fail(format!("{error}\nin:\n{written}"))
            })?;
            proptest::prop_assert_eq!(lineless(read), lineless(scenario));
        }
    }

    #[test]
    fn every_step_kind_writes_and_reads_back_the_same() {
        round_trip(&every_kind());
        // Written without defaults: one socket needs no `on`, the default timeout and
        // encoding are left out.
        let mut single = every_kind();
        single.sockets.truncate(1);
        single.timeout = DEFAULT_TIMEOUT;
        single.encoding = TextEncoding::Utf8;
        single.steps.retain(|step| match &step.action {
            Action::Send { socket, .. }
            | Action::Expect { socket, .. }
            | Action::SendFile { socket, .. }
            | Action::ExpectClose { socket, .. }
            | Action::Open { socket, .. }
            | Action::ExpectConnection { socket, .. }
            | Action::Close { socket } => *socket == 0,
            Action::ExpectNothing { socket, .. } => socket.is_none(),
            _ => true,
        });
        let written = write_scenario(&single);
        assert!(!written.contains("on = "), "{written}");
        assert!(!written.contains("timeout"), "{written}");
        assert!(!written.contains("encoding"), "{written}");
        round_trip(&single);
    }

    #[test]
    fn written_files_read_well() {
        let mut scenario = every_kind();
        scenario.steps.truncate(1);
        scenario.sockets.truncate(2);
        scenario
            .vars
            .push(("a key".into(), "it's \"quoted\"".into()));
        scenario.vars.push(("regex".into(), r#"^\d+ "x"$"#.into()));
        let written = write_scenario(&scenario);
        let expected = r#"name = "every kind"
timeout = "2s"
encoding = "GBK"

[vars]
host = "127.0.0.1"
port = "8080"
"a key" = "it's \"quoted\""
regex = '^\d+ "x"$'

[[socket]]
name = "web"
connect = "{{host}}:{{port}}"
framing = "line:crlf"
max-message = 4096
check = "crc16-modbus"

[[socket]]
name = "udp-in"
listen = "0.0.0.0:0"
protocol = "udp"

[[step]]
send = "GET / HTTP/1.0\r\n\r\n"
on = "web"
"#;
        assert_eq!(written, expected);
        round_trip(&scenario);
    }

    proptest::proptest! {
        /// Any text, control characters and quotes included, reads back from its quoting,
        /// as a value and as a key.
        #[test]
        fn quoted_text_reads_back(text in "\\PC*|[\\x00-\\x7f]*|['\"\\\\\r\n\t a]*") {
            let file = format!("{} = {}\n", key(&text), quote(&text));
            let table = DeTable::parse(&file).map_err(|error| {
                proptest::test_runner::TestCaseError::fail(format!("{error}: {file}"))
            })?;
            let (read_key, read_value) = table.get_ref().iter().next().unwrap();
            proptest::prop_assert_eq!(read_key.get_ref().as_ref(), text.as_str());
            proptest::prop_assert_eq!(read_value.get_ref().as_str(), Some(text.as_str()));
            proptest::prop_assert!(!quote(&text).contains('\n'));
        }
    }

    #[test]
    fn defaults_fill_what_the_file_leaves_out() {
        let text = format!("{WEB}[[step]]\nsend = \"x\"\n[[step]]\nexpect = \"y\"\n");
        let scenario = parse(&text).unwrap();
        assert_eq!(scenario.name, "stem");
        assert_eq!(scenario.base_dir, PathBuf::from("/scenarios"));
        assert_eq!(scenario.timeout, DEFAULT_TIMEOUT);
        assert_eq!(scenario.encoding, TextEncoding::Utf8);
        assert!(scenario.vars.is_empty());
        assert_eq!(
            scenario.sockets,
            [SocketDef {
                name: "web".into(),
                protocol: Protocol::Tcp,
                role: Role::Connect,
                addr: "127.0.0.1:80".into(),
                framing: FramingSpec::default(),
                open_at_start: true,
                line: 1,
            }]
        );
        assert_eq!(
            scenario.steps,
            [
                Step {
                    line: 4,
                    action: Action::Send {
                        socket: 0,
                        payload: PayloadSpec {
                            text: "x".into(),
                            format: PayloadFormat::Text,
                            line_ending: LineEnding::None,
                            checksum: None,
                            variables: true,
                        },
                        to: None,
                    },
                },
                Step {
                    line: 6,
                    action: Action::Expect {
                        socket: 0,
                        expectation: Expectation {
                            matches: MatchKind::Exact,
                            pattern: "y".into(),
                            format: PayloadFormat::Text,
                            skip_others: false,
                        },
                        within: DEFAULT_TIMEOUT,
                    },
                },
            ]
        );
        // The file's timeout is every time limit's default.
        let scenario = parse(&format!(
            "timeout = \"750ms\"\n{WEB}[[step]]\nexpect = \"y\"\n[[step]]\nopen = \"web\"\n"
        ))
        .unwrap();
        let limits: Vec<Duration> = scenario
            .steps
            .iter()
            .map(|step| match step.action {
                Action::Expect { within, .. } | Action::Open { within, .. } => within,
                _ => Duration::ZERO,
            })
            .collect();
        assert_eq!(limits, [Duration::from_millis(750); 2]);
    }

    #[test]
    fn repeats_nest_inline_and_as_tables() {
        let text = format!(
            "{WEB}[[step]]\nrepeat = 2\n\n[[step.steps]]\nsend = \"a\"\n\n[[step.steps]]\n\
             repeat = 3\nsteps = [\n  {{ send = \"b\" }},\n  {{ repeat = 4, steps = [{{ sleep = \"1ms\" }}] }},\n]\n\n\
             [[step.steps]]\nexpect = \"c\"\n\n[[step]]\nclose = \"web\"\n"
        );
        let scenario = parse(&text).unwrap();
        let send = |text: &str| Action::Send {
            socket: 0,
            payload: PayloadSpec {
                text: text.into(),
                ..PayloadSpec::default()
            },
            to: None,
        };
        let expected = vec![
            Step {
                line: 4,
                action: Action::Repeat {
                    times: 2,
                    steps: vec![
                        Step {
                            line: 7,
                            action: send("a"),
                        },
                        Step {
                            line: 10,
                            action: Action::Repeat {
                                times: 3,
                                steps: vec![
                                    Step {
                                        line: 13,
                                        action: send("b"),
                                    },
                                    Step {
                                        line: 14,
                                        action: Action::Repeat {
                                            times: 4,
                                            steps: vec![Step {
                                                line: 14,
                                                action: Action::Sleep(Duration::from_millis(1)),
                                            }],
                                        },
                                    },
                                ],
                            },
                        },
                        Step {
                            line: 17,
                            action: Action::Expect {
                                socket: 0,
                                expectation: Expectation {
                                    matches: MatchKind::Exact,
                                    pattern: "c".into(),
                                    format: PayloadFormat::Text,
                                    skip_others: false,
                                },
                                within: DEFAULT_TIMEOUT,
                            },
                        },
                    ],
                },
            },
            Step {
                line: 20,
                action: Action::Close { socket: 0 },
            },
        ];
        assert_eq!(scenario.steps, expected);
        round_trip(&scenario);
        let written = write_scenario(&scenario);
        assert!(written.contains("[[step.steps.steps.steps]]"), "{written}");
    }

    #[test]
    fn unknown_keys_are_errors_where_they_are() {
        assert_error(
            &format!("{WEB}[[step]]\nsend = \"x\"\nsned-to = 1\n"),
            6,
            1,
            &["unknown key `sned-to` in a step"],
        );
        assert_error(
            &format!("{WEB}  protocl = \"udp\"\n[[step]]\nsend = \"x\"\n"),
            4,
            3,
            &["unknown key `protocl` in a [[socket]]"],
        );
        assert_error(
            &format!("nmae = \"x\"\n{WEB}[[step]]\nsend = \"x\"\n"),
            1,
            1,
            &["unknown key `nmae`"],
        );
        assert_error(
            &format!("send = \"x\"\n{WEB}"),
            1,
            1,
            &["unknown key `send` (steps go in [[step]] tables)"],
        );
    }

    #[test]
    fn a_step_has_exactly_one_action() {
        let (line, column, message) =
            error_of(&format!("{WEB}[[step]]\nsend = \"x\"\nexpect = \"y\"\n"));
        assert_eq!((line, column), (6, 1));
        assert_eq!(
            message,
            "a step has one action, this one has 2: send, expect (make each its own step)"
        );
        assert_error(
            &format!("{WEB}[[step]]\nformat = \"hex\"\n"),
            4,
            1,
            &["a step needs an action, one of send, send-file, expect"],
        );
        // Inline: the table's brace.
        assert_error(
            &format!("{WEB}[[step]]\nrepeat = 1\nsteps = [ {{ on = \"web\" }} ]\n"),
            6,
            11,
            &["a step needs an action"],
        );
    }

    #[test]
    fn modifiers_must_go_with_their_action() {
        assert_error(
            &format!("{WEB}[[step]]\nsend = \"x\"\nmatch = \"contains\"\n"),
            6,
            1,
            &["`match` does not go with send (it goes with expect)"],
        );
        assert_error(
            &format!("{WEB}[[step]]\nexpect = \"x\"\nline-ending = \"lf\"\n"),
            6,
            1,
            &["`line-ending` does not go with expect (it goes with send)"],
        );
        assert_error(
            &format!("{WEB}[[step]]\nsleep = \"1s\"\nwithin = \"2s\"\n"),
            6,
            1,
            &[
                "`within` does not go with sleep (it goes with expect, expect-connection, expect-close, open)",
            ],
        );
        assert_error(
            &format!("{WEB}[[step]]\nclose = \"web\"\non = \"web\"\n"),
            6,
            1,
            &["`on` does not go with close"],
        );
        assert_error(
            &format!("{WEB}[[step]]\nsend = \"01\"\nformat = \"hex\"\nline-ending = \"crlf\"\n"),
            7,
            1,
            &["a line ending is not added to hex"],
        );
        assert_error(
            &format!("{WEB}[[step]]\nsend = \"x\"\nto = \"127.0.0.1:1\"\n"),
            6,
            1,
            &["`to` is for sending from a UDP listen socket; \"web\" is not one"],
        );
    }

    #[test]
    fn sockets_must_be_declared_and_named() {
        assert_error(
            &format!("{WEB}[[step]]\nsend = \"x\"\non = \"wbe\"\n"),
            6,
            6,
            &["no socket named \"wbe\" (the sockets are web)"],
        );
        assert_error(
            &format!("{WEB}[[step]]\nexpect-close = \"nope\"\n"),
            5,
            16,
            &["no socket named \"nope\""],
        );
        let (line, column, message) = error_of(&format!("{WEB}{SRV}[[step]]\nsend = \"x\"\n"));
        assert_eq!((line, column), (8, 1));
        assert_eq!(
            message,
            "say which socket with on = \"…\": the scenario has 2 sockets (web, srv)"
        );
        // expect-nothing without `on` is any socket, not an error.
        let scenario = parse(&format!("{WEB}{SRV}[[step]]\nexpect-nothing = \"1s\"\n")).unwrap();
        assert_eq!(
            scenario.steps[0].action,
            Action::ExpectNothing {
                socket: None,
                during: Duration::from_secs(1)
            }
        );
        assert_error(
            &format!("{WEB}{WEB}[[step]]\nsend = \"x\"\n"),
            5,
            8,
            &["there is already a socket named \"web\""],
        );
        assert_error(
            "[[socket]]\nname = \"a b\"\nconnect = \"x:1\"\n[[step]]\nsend = \"x\"\n",
            2,
            8,
            &["socket name \"a b\": use letters, digits, _ and -"],
        );
        assert_error(
            "[[socket]]\nconnect = \"x:1\"\n[[step]]\nsend = \"x\"\n",
            1,
            1,
            &["a [[socket]] needs a name"],
        );
        assert_error(
            "[[socket]]\nname = \"a\"\n[[step]]\nsend = \"x\"\n",
            1,
            1,
            &["socket \"a\" needs connect = \"host:port\" or listen = \"host:port\""],
        );
        assert_error(
            &format!("{WEB}listen = \"0.0.0.0:1\"\n[[step]]\nsend = \"x\"\n"),
            4,
            1,
            &["socket \"web\" either connects or listens, not both"],
        );
    }

    #[test]
    fn socket_values_are_checked() {
        assert_error(
            &format!("{WEB}framing = \"lines\"\n[[step]]\nsend = \"x\"\n"),
            4,
            11,
            &["framing: Unknown framing \"lines\""],
        );
        assert_error(
            &format!("{WEB}framing = \"fixed:0\"\n[[step]]\nsend = \"x\"\n"),
            4,
            11,
            &["framing: A fixed message length must be at least 1 byte."],
        );
        assert_error(
            &format!("{WEB}framing = \"len:1@9\"\nmax-message = 4\n[[step]]\nsend = \"x\"\n"),
            4,
            11,
            &["framing: The length prefix's header (10 bytes)"],
        );
        assert_error(
            &format!("{WEB}max-message = 0\n[[step]]\nsend = \"x\"\n"),
            4,
            15,
            &["`max-message` must be at least 1"],
        );
        assert_error(
            &format!("{WEB}check = \"crc99\"\n[[step]]\nsend = \"x\"\n"),
            4,
            9,
            &["check: Unknown checksum \"crc99\""],
        );
        assert_error(
            &format!("{WEB}protocol = \"sctp\"\n[[step]]\nsend = \"x\"\n"),
            4,
            12,
            &["protocol: unknown \"sctp\" (use tcp, udp)"],
        );
        assert_error(
            &format!("{WEB}open-at-start = \"no\"\n[[step]]\nsend = \"x\"\n"),
            4,
            17,
            &["`open-at-start` must be true or false, not string"],
        );
        let scenario = parse(&format!(
            "{WEB}framing = \"len:2be+header@1\"\n[[step]]\nsend = \"x\"\n"
        ))
        .unwrap();
        assert_eq!(
            scenario.sockets[0].framing.framing,
            Framing::LengthPrefixed(LengthPrefix {
                width: 2,
                big_endian: true,
                includes_header: true,
                offset: 1,
            })
        );
    }

    #[test]
    fn step_values_are_checked() {
        assert_error(
            &format!("{WEB}[[step]]\nsleep = \"2 sec\"\n"),
            5,
            9,
            &["sleep: \"2 sec\" is not a duration"],
        );
        assert_error(
            &format!("{WEB}[[step]]\nexpect = \"x\"\nwithin = 2\n"),
            6,
            10,
            &["`within` must be a duration in quotes"],
        );
        assert_error(
            &format!("{WEB}[[step]]\nexpect = \"x\"\nmatch = \"regex\"\nformat = \"hex\"\n"),
            7,
            10,
            &["a regex matches text"],
        );
        assert_error(
            &format!("{WEB}[[step]]\nexpect = \"x\"\nmatch = \"glob\"\n"),
            6,
            9,
            &["match: unknown \"glob\" (use exact, starts-with, contains, ends-with, regex)"],
        );
        assert_error(
            &format!("{WEB}[[step]]\nsend = \"x\"\nformat = \"base64\"\n"),
            6,
            10,
            &["format: unknown \"base64\" (use text, escapes, escaped, hex)"],
        );
        assert_error(
            &format!("{WEB}[[step]]\nsend = \"x\"\nchecksum = \"crc16-modbus:middle\"\n"),
            6,
            12,
            &["checksum: Unknown byte order \"middle\""],
        );
        assert_error(
            &format!("{WEB}[[step]]\nsend = 12\n"),
            5,
            8,
            &["`send` must be a string (in quotes), not integer"],
        );
    }

    #[test]
    fn repeats_need_a_count_and_steps() {
        assert_error(
            &format!("{WEB}[[step]]\nrepeat = 0\nsteps = [{{ send = \"x\" }}]\n"),
            5,
            10,
            &["`repeat` must be at least 1"],
        );
        assert_error(
            &format!("{WEB}[[step]]\nrepeat = -2\nsteps = [{{ send = \"x\" }}]\n"),
            5,
            10,
            &["`repeat` must be at least 1"],
        );
        assert_error(
            &format!("{WEB}[[step]]\nrepeat = 2\n"),
            5,
            1,
            &["repeat needs the steps to repeat"],
        );
        assert_error(
            &format!("{WEB}[[step]]\nrepeat = 2\nsteps = []\n"),
            6,
            9,
            &["repeat's steps are empty"],
        );
        assert_error(
            &format!("{WEB}[[step]]\nsend = \"x\"\nsteps = []\n"),
            6,
            1,
            &["`steps` does not go with send (it goes with repeat)"],
        );
    }

    #[test]
    fn udp_sockets_have_no_connections_to_expect() {
        let udp = "[[socket]]\nname = \"u\"\nlisten = \"0.0.0.0:0\"\nprotocol = \"udp\"\n";
        assert_error(
            &format!("{udp}[[step]]\nexpect-connection = \"u\"\n"),
            6,
            21,
            &["\"u\" is a UDP socket: UDP has no connections to expect"],
        );
        assert_error(
            &format!("{udp}[[step]]\nexpect-close = \"u\"\n"),
            6,
            16,
            &["UDP has no connections"],
        );
    }

    #[test]
    fn a_scenario_needs_sockets_and_steps() {
        assert_error(WEB, 1, 1, &["the scenario has no steps"]);
        assert_error(
            &format!("step = []\n{WEB}"),
            1,
            8,
            &["the scenario has no steps"],
        );
        assert_error(
            "[[step]]\nsleep = \"1s\"\n",
            1,
            1,
            &["the scenario has no sockets"],
        );
        assert_error("", 1, 1, &["the scenario has no sockets"]);
    }

    #[test]
    fn toml_syntax_errors_keep_their_position() {
        let (line, column, message) = error_of(&format!("{WEB}[[step]\nsend = \"x\"\n"));
        // Where the parser found what it did not expect: the end of the line.
        assert_eq!((line, column), (4, 8), "{message}");
        let (line, column, message) = error_of(&format!("{WEB}[[step]]\nsend = \"x\n"));
        assert_eq!((line, column), (5, 10), "{message}");
        let (line, column, message) =
            error_of(&format!("{WEB}[[step]]\nsend = \"x\"\nsend = \"y\"\n"));
        assert_eq!((line, column), (6, 1), "{message}");
        assert!(message.contains("duplicate key"), "{message}");
        assert_error(
            "socket = 3\n[[step]]\nsleep = \"1s\"\n",
            1,
            10,
            &["`socket` must be a list of tables ([[socket]]), not integer"],
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        assert_error(&format!("{WEB}[[step]]\nsend = \"é\" ; oops\n"), 5, 12, &[]);
    }

    #[test]
    fn vars_are_strings_or_whole_numbers() {
        let scenario = parse(&format!(
            "[vars]\nb = \"two\"\na = 0x10\n{WEB}[[step]]\nsend = \"x\"\n"
        ))
        .unwrap();
        // In file order, not sorted.
        assert_eq!(
            scenario.vars,
            [("b".into(), "two".into()), ("a".into(), "16".into())]
        );
        assert_error(
            &format!("[vars]\nflag = true\n{WEB}[[step]]\nsend = \"x\"\n"),
            2,
            8,
            &["variable `flag` must be a string, not boolean"],
        );
        assert_error(
            &format!("encoding = \"latin-9\"\n{WEB}[[step]]\nsend = \"x\"\n"),
            1,
            12,
            &["encoding: unknown \"latin-9\" (use UTF-8, GBK"],
        );
    }

    #[test]
    fn durations_read_and_write_exactly() {
        let cases = [
            ("250ms", Duration::from_millis(250)),
            ("2s", Duration::from_secs(2)),
            ("1.5s", Duration::from_millis(1500)),
            ("1m", Duration::from_secs(60)),
            ("0.5m", Duration::from_secs(30)),
            ("0ms", Duration::ZERO),
            (" 10 ms ", Duration::from_millis(10)),
            ("0.25ms", Duration::from_micros(250)),
            (".5s", Duration::from_millis(500)),
        ];
        for (text, duration) in cases {
            assert_eq!(parse_duration(text), Ok(duration), "{text}");
            assert_eq!(
                parse_duration(&format_duration(duration)),
                Ok(duration),
                "{text}"
            );
        }
        let written: Vec<String> = [
            Duration::ZERO,
            Duration::from_millis(250),
            Duration::from_millis(1500),
            Duration::from_secs(2),
            Duration::from_secs(120),
            Duration::from_secs(90),
            Duration::from_micros(1500),
            Duration::from_nanos(1),
        ]
        .into_iter()
        .map(format_duration)
        .collect();
        assert_eq!(
            written,
            [
                "0s",
                "250ms",
                "1500ms",
                "2s",
                "2m",
                "90s",
                "1.5ms",
                "0.000001ms"
            ]
        );
        for bad in [
            "",
            "5",
            "ms",
            "1.s",
            "1..5s",
            "-1s",
            "1h",
            "2 sec",
            "1.2.3s",
            "9999999999999999999999m",
        ] {
            let error = parse_duration(bad).unwrap_err();
            assert!(
                error.starts_with(&format!("\"{bad}\" is not a duration")),
                "{error}"
            );
        }
    }

    #[test]
    fn the_example_files_read() {
        let examples = [
            ("http", include_str!("../../examples/scenarios/http.toml")),
            (
                "modbus-crc",
                include_str!("../../examples/scenarios/modbus-crc.toml"),
            ),
            ("chat", include_str!("../../examples/scenarios/chat.toml")),
        ];
        for (name, text) in examples {
            let scenario = parse_scenario(text, Path::new("examples/scenarios"), name)
                .unwrap_or_else(|error| panic!("{name}.toml: {error}"));
            round_trip(&scenario);
        }
        let http = parse_scenario(examples[0].1, Path::new("."), "http").unwrap();
        assert_eq!(http.vars[1], ("port".into(), "8080".into()));
        assert!(matches!(
            &http.steps[2].action,
            Action::Expect { expectation, .. } if expectation.pattern.contains("(?<length>")
        ));
        let modbus = parse_scenario(examples[1].1, Path::new("."), "modbus-crc").unwrap();
        assert_eq!(
            modbus.sockets[0].framing.checksum,
            Some(Checksum::usual(ChecksumKind::Crc16Modbus))
        );
        let chat = parse_scenario(examples[2].1, Path::new("."), "chat").unwrap();
        assert_eq!(chat.sockets.len(), 2);
        assert!(matches!(
            chat.steps.last().map(|step| &step.action),
            Some(Action::ExpectClose { socket: 0, .. })
        ));
    }

    #[test]
    fn reading_a_file_names_it_by_its_stem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ping-pong.toml");
        std::fs::write(&path, format!("{WEB}[[step]]\nsend = \"x\"\n")).unwrap();
        let scenario = read_scenario(&path).unwrap();
        assert_eq!(scenario.name, "ping-pong");
        assert_eq!(scenario.base_dir, dir.path());
        let missing = read_scenario(&dir.path().join("missing.toml")).unwrap_err();
        assert_eq!((missing.line, missing.column), (0, 0));
        assert!(missing.message.starts_with("cannot read "), "{missing}");
    }
}
