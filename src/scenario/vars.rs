//! The user's variables in a scenario: `{{name}}` from `--var`, the file's `[vars]`,
//! `{{env:NAME}}` from the environment, values captured by regex expects (named groups),
//! and `{{socket.port}}` / `{{socket.addr}}` of a socket once it is open. They are
//! substituted in the text before the payload's own template compiles, so the composer's
//! variables (`{{counter}}`, `{{crc16-modbus}}`, …) keep working beside them.

/// `k=v` from the command line.
pub fn parse_cli_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("expected NAME=VALUE, got {text:?}")),
    }
}
