//! Project automation (`cargo xtask <command>`).
//!
//! Commands are dispatched in [`main`]; add a new one as a module plus one `match` arm there.

mod bench;
mod fixtures;
mod tidy;
mod validate;

use std::process::ExitCode;

fn usage() -> String {
    format!(
        "usage: cargo xtask <command> [options]\n\ncommands:\n{}{}",
        fixtures::USAGE,
        bench::USAGE,
        // New subcommands: append their usage lines here.
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{}", usage());
        return ExitCode::from(2);
    };
    match command.as_str() {
        "fixtures" => fixtures::main(rest),
        "bench" => bench::main(rest),
        "-h" | "--help" | "help" => {
            print!("{}", usage());
            ExitCode::SUCCESS
        }
        other => {
            eprint!("error: unknown command `{other}`\n\n{}", usage());
            ExitCode::from(2)
        }
    }
}
