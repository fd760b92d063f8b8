//! The rules file: a session's responder (and optionally its framing) as TOML, shared by
//! the window's export/import and `socklab server|udp --rules FILE`.

use super::ResponderSpec;
use crate::engine::framing::FramingSpec;

/// What a rules file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RulesFile {
    pub responder: ResponderSpec,
    /// The framing the rules were written for, if the file says.
    pub framing: Option<FramingSpec>,
}

/// Reads a rules file; errors give the line and column, or the rule and its reason.
pub fn parse_rules_file(text: &str) -> Result<RulesFile, String> {
    todo!()
}

/// Writes a rules file that [`parse_rules_file`] reads back as the same.
pub fn write_rules_file(file: &RulesFile) -> String {
    todo!()
}
