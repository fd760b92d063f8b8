use std::process::ExitCode;

use clap::Parser;
use socklab::cli::{self, Cli};

fn main() -> ExitCode {
    let parsed = Cli::parse();
    match parsed.command {
        Some(command) => cli::run(command),
        None => match socklab::ui::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("socklab: cannot open the window: {e}");
                eprintln!(
                    "socklab: without a display, use `socklab server` or `socklab client` (see --help)"
                );
                ExitCode::FAILURE
            }
        },
    }
}
