//! socklab: a TCP socket test bench with a window (egui) and a headless command line,
//! both driving one networking engine.
//!
//! # Layout
//! - [`engine`]: the net thread (mio), its `Command`/`Event` enums, servers, clients, the
//!   group-chat relay, repeat timers, file transfers and captures. Never imports egui.
//! - [`payload`]: pure byte codecs: text encodings, escapes and hex, both ways.
//! - [`model`]: what is known about each socket, built from engine events, with no egui in
//!   it: sessions, their bounded logs and filters, a log row as text, saving a log, and the
//!   state remembered between runs.
//! - [`cli`]: the headless `server` and `client` commands.
//! - [`ui`]: the eframe/egui window drawing the model: side panel, session view, log,
//!   composer and dialogs; panels push actions that the app applies in one place.

pub mod cli;
pub mod engine;
pub mod model;
pub mod payload;
pub mod scenario;
pub mod ui;
