//! A run's results: lines for the terminal (on a failure, expected and received side by
//! side as text and hex) and JUnit XML for CI systems.

use std::path::PathBuf;
use std::time::Duration;

use super::run::{StepOutcome, StepRef};

/// One finished step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepResult {
    pub step: StepRef,
    pub outcome: StepOutcome,
    pub duration: Duration,
}

/// One run of one scenario file.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    pub scenario: String,
    pub file: PathBuf,
    /// 1-based, with `--repeat N`.
    pub round: u64,
    pub steps: Vec<StepResult>,
    pub duration: Duration,
    pub passed: bool,
}
