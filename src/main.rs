use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = coregen::cli::Cli::parse();
    match coregen::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // Whoever closed the pipe (`| head`) has all they wanted.
        Err(err) if err.is_closed_stdout() => ExitCode::SUCCESS,
        Err(err) if err.is_reported() => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("coregen: error: {err}");
            ExitCode::FAILURE
        }
    }
}
