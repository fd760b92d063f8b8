//! Byte codecs shared by the log, the composer and the CLI. Pure functions, no I/O.

mod escape;

pub use escape::escape_for_display;
