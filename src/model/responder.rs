//! A session's framing and rules as the window edits them: the framing form as typed
//! (checked when applied, the error kept for the field it concerns), and the rules as
//! edited, compiled again whenever they change so each rule's errors show where they were
//! typed. What the engine was last given is kept beside, so the view can say "changed, not
//! applied" and read the live hit counters of the rules in effect.

use std::sync::Arc;

use crate::engine::framing::{Framing, FramingSpec, LengthPrefix, LineEnd};
use crate::engine::responder::{Responder, ResponderSpec, RuleError, RuleField, RuleHits};
use crate::payload::{ByteOrder, Checksum, ChecksumKind, parse_hex};

/// How the framing form cuts messages: [`Framing`] without its parameters (they are typed
/// in their own fields, kept while another mode is chosen).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FramingMode {
    #[default]
    Raw,
    Lines,
    Delimiter,
    Fixed,
    LengthPrefixed,
}

impl FramingMode {
    pub const ALL: [FramingMode; 5] = [
        FramingMode::Raw,
        FramingMode::Lines,
        FramingMode::Delimiter,
        FramingMode::Fixed,
        FramingMode::LengthPrefixed,
    ];

    pub fn label(self) -> &'static str {
        match self {
            FramingMode::Raw => "Raw (each read)",
            FramingMode::Lines => "Lines",
            FramingMode::Delimiter => "Delimiter",
            FramingMode::Fixed => "Fixed length",
            FramingMode::LengthPrefixed => "Length prefix",
        }
    }
}

/// The field of the framing form an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramingField {
    /// The framing as a whole (what `FramingSpec::validate` says), shown by the mode.
    Mode,
    Delimiter,
    FixedLength,
    PrefixOffset,
    MaxMessage,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FramingError {
    pub field: FramingField,
    pub message: String,
}

impl FramingError {
    fn at(field: FramingField, message: impl Into<String>) -> Self {
        FramingError {
            field,
            message: message.into(),
        }
    }
}

/// The framing form as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FramingDraft {
    pub mode: FramingMode,
    pub line_end: LineEnd,
    /// Hex bytes, e.g. `0d 0a`.
    pub delimiter: String,
    pub fixed_length: String,
    /// 1, 2 or 4.
    pub prefix_width: u8,
    pub prefix_big_endian: bool,
    pub prefix_includes_header: bool,
    pub prefix_offset: String,
    pub max_message: String,
    pub checksum: Option<ChecksumKind>,
    pub checksum_order: ByteOrder,
}

impl Default for FramingDraft {
    fn default() -> Self {
        FramingDraft::of(&FramingSpec::default())
    }
}

impl FramingDraft {
    /// The form showing `spec`.
    pub fn of(spec: &FramingSpec) -> Self {
        let prefix = match &spec.framing {
            Framing::LengthPrefixed(prefix) => *prefix,
            _ => LengthPrefix::default(),
        };
        let mut draft = FramingDraft {
            mode: FramingMode::Raw,
            line_end: LineEnd::default(),
            delimiter: "0d 0a".into(),
            fixed_length: "16".into(),
            prefix_width: prefix.width,
            prefix_big_endian: prefix.big_endian,
            prefix_includes_header: prefix.includes_header,
            prefix_offset: prefix.offset.to_string(),
            max_message: spec.max_message.to_string(),
            checksum: spec.checksum.map(|c| c.kind),
            checksum_order: spec.checksum.map_or(ByteOrder::Big, |c| c.order),
        };
        match &spec.framing {
            Framing::Raw => {}
            Framing::Line(end) => {
                draft.mode = FramingMode::Lines;
                draft.line_end = *end;
            }
            Framing::Delimiter(bytes) => {
                draft.mode = FramingMode::Delimiter;
                draft.delimiter = hex_text(bytes);
            }
            Framing::Fixed(length) => {
                draft.mode = FramingMode::Fixed;
                draft.fixed_length = length.to_string();
            }
            Framing::LengthPrefixed(_) => draft.mode = FramingMode::LengthPrefixed,
        }
        draft
    }

    /// The framing the form says, or the first field that is wrong and why. Only the
    /// fields of the chosen mode are read.
    pub fn spec(&self) -> Result<FramingSpec, FramingError> {
        let framing = match self.mode {
            FramingMode::Raw => Framing::Raw,
            FramingMode::Lines => Framing::Line(self.line_end),
            FramingMode::Delimiter => {
                let bytes = parse_hex(&self.delimiter).map_err(|e| {
                    FramingError::at(FramingField::Delimiter, format!("Delimiter: {e}"))
                })?;
                if bytes.is_empty() {
                    return Err(FramingError::at(
                        FramingField::Delimiter,
                        "Type the delimiter's bytes in hex, e.g. 0d 0a.",
                    ));
                }
                Framing::Delimiter(bytes)
            }
            FramingMode::Fixed => Framing::Fixed(
                whole_number(&self.fixed_length, 1)
                    .map_err(|e| FramingError::at(FramingField::FixedLength, e))?,
            ),
            FramingMode::LengthPrefixed => Framing::LengthPrefixed(LengthPrefix {
                width: self.prefix_width,
                big_endian: self.prefix_big_endian,
                includes_header: self.prefix_includes_header,
                offset: whole_number(&self.prefix_offset, 0)
                    .map_err(|e| FramingError::at(FramingField::PrefixOffset, e))?,
            }),
        };
        let max_message = whole_number(&self.max_message, 1)
            .map_err(|e| FramingError::at(FramingField::MaxMessage, e))?;
        Ok(FramingSpec {
            framing,
            max_message,
            checksum: self.checksum.map(|kind| Checksum {
                kind,
                order: self.checksum_order,
            }),
        })
    }
}

/// `0d 0a` for `[13, 10]`.
fn hex_text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn whole_number(text: &str, least: usize) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= least => Ok(n),
        _ => Err(format!("Type a whole number, {least} or more.")),
    }
}

/// A session's framing: the one in effect (sent to the engine) and the form.
#[derive(Debug, Default)]
pub struct FramingState {
    pub applied: FramingSpec,
    pub draft: FramingDraft,
    /// Why the last Apply failed, until the next one.
    pub error: Option<FramingError>,
}

impl FramingState {
    pub fn new(spec: FramingSpec) -> Self {
        FramingState {
            draft: FramingDraft::of(&spec),
            applied: spec,
            error: None,
        }
    }

    /// The form differs from what is in effect.
    pub fn changed(&self) -> bool {
        self.draft.spec().as_ref() != Ok(&self.applied)
    }

    /// Takes the form as the framing in effect, if it is valid; the error otherwise.
    pub fn apply(&mut self) -> Result<FramingSpec, FramingError> {
        let checked = self.draft.spec().and_then(|spec| {
            spec.validate()
                .map_err(|e| FramingError::at(FramingField::Mode, e))?;
            Ok(spec)
        });
        match checked {
            Ok(spec) => {
                self.error = None;
                self.applied = spec.clone();
                Ok(spec)
            }
            Err(error) => {
                self.error = Some(error.clone());
                Err(error)
            }
        }
    }

    /// The error of the last Apply if it is about `field`.
    pub fn error_at(&self, field: FramingField) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

/// A session's rules: as edited, compiled (with each rule's errors), and in effect.
#[derive(Debug, Default)]
pub struct RulesState {
    /// The rules as edited in the window.
    pub spec: ResponderSpec,
    /// "Respond with rules": whether the engine should answer with them.
    pub respond: bool,
    /// What the engine was last given: the rules and whether responding was on.
    applied: (ResponderSpec, bool),
    /// What the engine answers with now (none when off).
    active: Option<Arc<Responder>>,
    /// The spec `compiled` and `errors` are for.
    compiled_for: Option<ResponderSpec>,
    compiled: Option<Arc<Responder>>,
    errors: Vec<RuleError>,
    /// What importing or exporting said: `Ok` a success, `Err` why it failed.
    pub notice: Option<Result<String, String>>,
}

impl RulesState {
    /// Rules restored or imported, not yet applied.
    pub fn new(spec: ResponderSpec, respond: bool) -> Self {
        RulesState {
            spec,
            respond,
            ..RulesState::default()
        }
    }

    /// Compiles the rules again if they changed since the last time (cheap when not).
    pub fn refresh(&mut self) {
        if self.compiled_for.as_ref() == Some(&self.spec) {
            return;
        }
        match Responder::compile(&self.spec) {
            Ok(responder) => {
                self.compiled = Some(Arc::new(responder));
                self.errors.clear();
            }
            Err(errors) => {
                self.compiled = None;
                self.errors = errors;
            }
        }
        self.compiled_for = Some(self.spec.clone());
    }

    /// Every error of the rules as edited (call [`refresh`](Self::refresh) first).
    pub fn errors(&self) -> &[RuleError] {
        &self.errors
    }

    /// Why `field` of rule `rule` (0-based) does not compile.
    pub fn error_at(&self, rule: usize, field: RuleField) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.rule == rule && e.field == field)
            .map(|e| e.message.as_str())
    }

    /// The rules or the on/off switch differ from what the engine was given.
    pub fn changed(&self) -> bool {
        self.applied.0 != self.spec || self.applied.1 != self.respond
    }

    /// Makes the edited rules (and the switch) the ones in effect: what to send in
    /// `Command::SetResponder`, or `None` while a rule does not compile.
    /// Switching off always applies, whatever the rules say: nothing answers any more.
    pub fn apply(&mut self) -> Option<Option<Arc<Responder>>> {
        self.refresh();
        if !self.respond {
            if self.compiled.is_some() {
                self.applied.0 = self.spec.clone();
            }
            self.applied.1 = false;
            self.active = None;
            return Some(None);
        }
        let compiled = self.compiled.clone()?;
        self.applied = (self.spec.clone(), self.respond);
        self.active = self.respond.then_some(compiled);
        Some(self.active.clone())
    }

    /// The responder in effect, as last applied.
    pub fn active(&self) -> Option<&Arc<Responder>> {
        self.active.as_ref()
    }

    /// The live hit counters, while the rules shown are the ones in effect (the same
    /// order: a counter is by position).
    pub fn hit_counters(&self) -> Option<Arc<RuleHits>> {
        let active = self.active.as_ref()?;
        (self.applied.0 == self.spec).then(|| active.hits())
    }

    /// Rule `rule`'s hits, while the rules shown are the ones in effect.
    pub fn hits(&self, rule: usize) -> Option<u64> {
        self.hit_counters().map(|hits| hits.get(rule))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_reads_its_own_fields_and_names_the_wrong_one() {
        let mut draft = FramingDraft::default();
        assert_eq!(draft.spec(), Ok(FramingSpec::default()));
        draft.mode = FramingMode::Delimiter;
        draft.delimiter = "0d zz".into();
        assert_eq!(draft.spec().unwrap_err().field, FramingField::Delimiter);
        draft.delimiter = "  ".into();
        assert_eq!(draft.spec().unwrap_err().field, FramingField::Delimiter);
        draft.delimiter = "7c".into();
        assert_eq!(
            draft.spec().unwrap().framing,
            Framing::Delimiter(vec![0x7c])
        );
        // Another mode ignores the delimiter field, wrong or not.
        draft.delimiter = "zz".into();
        draft.mode = FramingMode::Fixed;
        draft.fixed_length = "0".into();
        assert_eq!(draft.spec().unwrap_err().field, FramingField::FixedLength);
        draft.fixed_length = " 8 ".into();
        assert_eq!(draft.spec().unwrap().framing, Framing::Fixed(8));
        draft.mode = FramingMode::LengthPrefixed;
        draft.prefix_offset = "-1".into();
        assert_eq!(draft.spec().unwrap_err().field, FramingField::PrefixOffset);
        draft.prefix_offset = "1".into();
        draft.prefix_width = 4;
        draft.prefix_big_endian = false;
        draft.prefix_includes_header = true;
        draft.max_message = "0".into();
        assert_eq!(draft.spec().unwrap_err().field, FramingField::MaxMessage);
        draft.max_message = "512".into();
        draft.checksum = Some(ChecksumKind::Crc16Modbus);
        draft.checksum_order = ByteOrder::Little;
        let spec = draft.spec().unwrap();
        assert_eq!(
            spec,
            FramingSpec {
                framing: Framing::LengthPrefixed(LengthPrefix {
                    width: 4,
                    big_endian: false,
                    includes_header: true,
                    offset: 1,
                }),
                max_message: 512,
                checksum: Some(Checksum {
                    kind: ChecksumKind::Crc16Modbus,
                    order: ByteOrder::Little
                }),
            }
        );
        assert_eq!(
            FramingDraft::of(&spec).spec(),
            Ok(spec),
            "the form shows a spec back"
        );
    }

    #[test]
    fn rules_apply_only_when_they_compile_but_switching_off_always_applies() {
        use crate::engine::responder::MatchKind;
        let mut rules = RulesState::new(ResponderSpec::echo(), true);
        assert!(rules.changed(), "restored, not yet given to the engine");
        let given = rules.apply().expect("the echo rule compiles");
        assert!(given.is_some() && !rules.changed());
        assert_eq!(rules.hits(0), Some(0));
        rules.spec.rules[0].matches = MatchKind::Regex;
        rules.spec.rules[0].pattern = "(".into();
        rules.refresh();
        assert_eq!(rules.errors().len(), 1);
        assert!(rules.error_at(0, RuleField::Pattern).is_some());
        assert!(rules.changed());
        assert_eq!(
            rules.hits(0),
            None,
            "the rule shown is not the one counting"
        );
        assert!(rules.apply().is_none(), "a rule in error is not applied");
        assert!(rules.active().is_some(), "the earlier rules stay in effect");
        rules.respond = false;
        assert!(matches!(rules.apply(), Some(None)));
        assert!(rules.active().is_none());
        assert!(
            rules.changed(),
            "the edited rules are still not the applied ones"
        );
    }

    #[test]
    fn a_delimiter_is_shown_as_hex() {
        let spec = FramingSpec {
            framing: Framing::Delimiter(vec![0x0d, 0x0a, 0xff]),
            ..FramingSpec::default()
        };
        let draft = FramingDraft::of(&spec);
        assert_eq!(draft.delimiter, "0d 0a ff");
        assert_eq!(draft.mode, FramingMode::Delimiter);
    }
}
