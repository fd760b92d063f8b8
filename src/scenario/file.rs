//! The scenario file: TOML (the same library as the rules file), read into a
//! [`Scenario`] with errors that name the line and column, and written back from one
//! (what *Save as scenario…* saves). The format is documented in the README.

use std::path::Path;

use super::{Scenario, ScenarioError};

/// Reads a scenario from `text`; `send-file` paths are relative to `base_dir`, and
/// `default_name` is the name when the file gives none.
pub fn parse_scenario(
    text: &str,
    base_dir: &Path,
    default_name: &str,
) -> Result<Scenario, ScenarioError> {
    let _ = (text, base_dir, default_name);
    todo!("scenario file")
}

/// Reads the file at `path` (an unreadable file is an error with line 0).
pub fn read_scenario(path: &Path) -> Result<Scenario, ScenarioError> {
    let _ = path;
    todo!("scenario file")
}

/// The scenario as a file `parse_scenario` reads back to the same scenario.
pub fn write_scenario(scenario: &Scenario) -> String {
    let _ = scenario;
    todo!("scenario file")
}
