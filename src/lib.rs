//! socklab: a TCP socket test bench with a window (egui) and a headless command line,
//! both driving one networking engine.
//!
//! # Layout
//! - [`engine`]: the net thread (mio), its `Command`/`Event` enums, servers, clients, the
//!   group-chat relay, repeat timers, file transfers and captures. Never imports egui.
//! - [`payload`]: pure byte codecs: text encodings, escapes and hex, both ways.
//! - [`cli`]: the headless `server` and `client` commands.
//! - [`ui`]: the eframe/egui window: side panel, session view, log, composer, dialogs and
//!   persistence; `ui::session` and `ui::log` hold the state built from engine events.

pub mod cli;
pub mod engine;
pub mod payload;
pub mod ui;
