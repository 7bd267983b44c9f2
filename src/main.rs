//! The `coregen` command: [`cli`] parses the arguments, [`commands`] does
//! each command in terms of the library, and `main` maps the outcome to an
//! exit code. The library never imports these modules.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;
use coregen::error::Kind;

fn main() -> ExitCode {
    // clap exits with 2 on a usage error before this.
    let cli = cli::Cli::parse();
    // `diff` and `render --check` answer as diff(1) does: 0 same, 1
    // differs, 2 trouble. Every other command: 0 ok, 1 error.
    let compares = match &cli.command {
        cli::Command::Diff(_) => true,
        cli::Command::Render(args) => args.check,
        _ => false,
    };
    let failed = ExitCode::from(if compares { 2 } else { 1 });
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // Whoever closed the pipe (`| head`) has all they wanted.
        Err(err) if err.is_closed_stdout() => ExitCode::SUCCESS,
        Err(err) if err.is_reported() => failed,
        Err(err) => {
            eprintln!("coregen: error: {err}");
            if compares && err.kind() == Kind::Differs {
                ExitCode::FAILURE
            } else {
                failed
            }
        }
    }
}
