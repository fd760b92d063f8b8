//! What socklab knows about its sockets, built from engine events, with no drawing in it:
//! the window draws it, and a headless front end could keep it too. One concept per file.
//!
//! - [`session`]: one socket's state, addresses, connections, counters, jobs and draft.
//! - [`udp`]: a UDP session's options, groups and peers, and checks of what is typed for UDP.
//! - [`log`]: the bounded, chunked log of one socket's rows.
//! - [`filter`]: which rows to show, kept up to date incrementally.
//! - [`row_text`]: a log row as text, shared by the log view and the saved log.
//! - [`export`]: a log written to a file as text or CSV.
//! - [`format`](mod@format): small text formats (byte counts, rates, uptime, clock).
//! - [`responder`]: a session's framing form and rules as edited, compiled and applied.
//! - [`scenario`]: the Scenarios page: the file, the variables typed, a row per step
//!   ticked as a run reports.
//! - [`persist`]: what is remembered between runs.
//! - [`settings_file`]: reading it safely (moving aside what cannot be read), saving it atomically.

pub mod export;
pub mod filter;
pub mod format;
pub mod log;
pub mod persist;
pub mod responder;
pub mod row_text;
pub mod scenario;
pub mod session;
pub mod settings_file;
pub mod tls;
pub mod udp;
