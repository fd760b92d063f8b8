//! socklab: a TCP socket test bench with a window (egui) and a headless command line,
//! both driving one networking engine.
//!
//! # Layout
//! - [`engine`]: the net thread (mio), its `Command`/`Event` enums, servers, clients and
//!   the group-chat relay. Never imports egui.
//! - [`payload`]: pure byte codecs (escaping for display).
//! - [`cli`]: the headless `server` and `client` commands.
//! - [`ui`]: the eframe/egui window: side panel, session view, log, composer.

pub mod cli;
pub mod engine;
pub mod payload;
pub mod ui;
