use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use socklab::cli::{self, Cli};

fn main() -> ExitCode {
    let parsed = Cli::parse();
    match parsed.command {
        Some(command) => cli::run(command),
        None => {
            // The window lands with the GUI; until then, show what the CLI can do.
            let _ = Cli::command().print_help();
            ExitCode::SUCCESS
        }
    }
}
