//! The flags the headless commands share for messages: how received bytes are framed, the
//! checksum they should end with, and the rules (a rules file, or `--echo`) that answer
//! them on the net thread, exactly as a session in the window does.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::Failure;
use crate::engine::framing::{Framing, FramingSpec};
use crate::engine::responder::{Responder, ResponderSpec, parse_rules_file};
use crate::engine::{Command, Engine, SessionId};
use crate::payload::Checksum;

#[derive(Args, Clone, Debug, Default)]
pub struct MessageArgs {
    /// Answer received messages by the rules in FILE (TOML, as the window's "Export
    /// rules…" writes; see RULES FILES below).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Answer every message with itself: an echo server (or client).
    #[arg(long, conflicts_with = "rules")]
    pub echo: bool,
    /// How received bytes are cut into messages: raw, line, line:lf, line:crlf,
    /// delim:HEX, fixed:N or len:W[le|be][+header][@OFFSET]. Overrides the rules file.
    #[arg(long, value_name = "SPEC")]
    pub framing: Option<String>,
    /// Longest message in bytes; a longer one is delivered in pieces, each marked.
    #[arg(long, value_name = "BYTES")]
    pub max_message: Option<usize>,
    /// Check that each received message ends with this checksum (crc16-modbus,
    /// crc16-ccitt-false, crc32, crc8, sum8, xor8; add :le or :be for the byte order).
    #[arg(long, value_name = "CHECKSUM")]
    pub check: Option<String>,
}

/// The framing and rules a command's session starts with.
#[derive(Debug)]
pub(super) struct MessageSetup {
    framing: FramingSpec,
    responder: Option<Arc<Responder>>,
}

impl MessageArgs {
    /// Reads and checks everything before any socket opens: a bad file, regex or flag is a
    /// usage error (exit code 2) naming what is wrong.
    pub(super) fn setup(&self) -> Result<MessageSetup, Failure> {
        let mut framing = FramingSpec::default();
        let mut responder_spec = None;
        if let Some(path) = &self.rules {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::usage(format!(
                    "cannot read the rules file {}: {e}",
                    path.display()
                ))
            })?;
            let file = parse_rules_file(&text)
                .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
            if let Some(from_file) = file.framing {
                framing = from_file;
            }
            responder_spec = Some(file.responder);
        }
        if self.echo {
            responder_spec = Some(ResponderSpec::echo());
        }
        if let Some(text) = &self.framing {
            framing.framing = text
                .parse::<Framing>()
                .map_err(|e| Failure::usage(format!("--framing {text}: {e}")))?;
        }
        if let Some(max) = self.max_message {
            framing.max_message = max;
        }
        if let Some(text) = &self.check {
            framing.checksum = Some(
                Checksum::parse(text)
                    .map_err(|e| Failure::usage(format!("--check {text}: {e}")))?,
            );
        }
        framing
            .validate()
            .map_err(|e| Failure::usage(format!("framing: {e}")))?;
        let responder = match responder_spec {
            None => None,
            Some(spec) => Some(Arc::new(Responder::compile(&spec).map_err(|errors| {
                let reasons: Vec<String> = errors
                    .iter()
                    .map(|e| format!("rule {}: {}", e.rule + 1, e.message))
                    .collect();
                Failure::usage(reasons.join("; "))
            })?)),
        };
        Ok(MessageSetup { framing, responder })
    }
}

impl MessageSetup {
    /// Gives the session its framing and rules; sent before it starts, so they hold from
    /// the first byte.
    pub(super) fn apply(self, engine: &Engine, session: SessionId) {
        if self.framing != FramingSpec::default() {
            engine.execute(Command::SetFraming {
                session,
                framing: self.framing,
            });
        }
        if self.responder.is_some() {
            engine.execute(Command::SetResponder {
                session,
                responder: self.responder,
            });
        }
    }
}
