//! `hubmix`: the Hugging Face Hub from a terminal, in one binary without Python.
//!
//! The same command names, flags, exit codes and output conventions as Python's `hf`
//! (`huggingface_hub` 2.4), sharing its token files and its cache, so muscle memory, scripts and
//! logins carry over. Deliberate differences (see the README): colours and progress bars only on
//! a terminal; `auth login` reads a piped token from stdin; `completions SHELL` prints a
//! completion script; errors are one line plus a hint, never a traceback.

#![warn(missing_docs, unreachable_pub)]

mod args;
mod auth;
mod cache;
mod cache_verify;
mod completions;
mod convert;
mod download;
mod error;
mod inspect;
mod interrupt;
mod logging;
mod models;
mod output;
mod repos;
mod upload;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::error::CliError;
use crate::output::{FormatArgs, Mode, Output};

/// The Hugging Face Hub from your terminal: log in, download, upload, manage repositories.
#[derive(Debug, Parser)]
#[command(
    name = "hubmix",
    disable_version_flag = true,
    max_term_width = 120,
    after_help = "Examples:
  hubmix auth login
  hubmix download alice/mlp
  hubmix upload alice/mlp ./checkpoints
  hubmix download alice/mlp --local-dir ./mlp --format json
  hubmix inspect alice/mlp
  hubmix convert alice/mlp ./mlp-bf16 --dtype bf16

Settings come from the same environment variables as Python's huggingface_hub: HF_ENDPOINT,
HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_TOKEN_PATH, HF_HUB_OFFLINE, HF_HUB_DISABLE_PROGRESS_BARS,
NO_COLOR."
)]
pub(crate) struct Cli {
    /// Print the version and exit.
    #[arg(short = 'v', long = "version")]
    version: bool,
    #[command(flatten)]
    format: FormatArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Log in and out, and manage the stored tokens (shared with Python's `hf`).
    #[command(subcommand, arg_required_else_help = true)]
    Auth(auth::AuthCommand),
    /// Download files of a repository into the cache, or into a folder.
    Download(download::DownloadArgs),
    /// Upload a file or a folder to a repository, in one commit.
    Upload(upload::UploadArgs),
    /// A model's information, the Hub's models, a model's files.
    #[command(subcommand, arg_required_else_help = true)]
    Models(models::ModelsCommand),
    /// Create, delete, move and configure repositories; their branches and tags.
    #[command(subcommand, arg_required_else_help = true)]
    Repos(repos::ReposCommand),
    /// List, remove and verify what is in the cache shared with Python's `hf`.
    #[command(subcommand, arg_required_else_help = true)]
    Cache(cache::CacheCommand),
    /// List a safetensors checkpoint's tensors, parameter count and metadata (from its headers).
    Inspect(inspect::InspectArgs),
    /// Rewrite a safetensors checkpoint to another float type, shard size or layout.
    Convert(convert::ConvertArgs),
    /// Print a shell completion script.
    Completions(completions::CompletionsArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and usage errors as clap prints them: help exits 0, usage errors 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    if cli.version {
        let _ = writeln!(std::io::stdout(), "{}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let Some(command) = cli.command else {
        let _ = writeln!(std::io::stderr(), "{}", Cli::command().render_help());
        return ExitCode::from(2);
    };
    let out = match Output::new(&cli.format) {
        Ok(out) => out,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "Error: {message}");
            return ExitCode::from(2);
        }
    };
    if out.mode() != Mode::Quiet {
        logging::init();
    }
    // Every failure is reported on one line; a bug (a panic) too, without a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "Error: internal error: {what}. Please report it at https://github.com/hubmix/hubmix/issues"
        );
    }));
    let result = std::panic::catch_unwind(|| run(command, &out));
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => error::report(&out, &e),
        Err(_) => ExitCode::FAILURE,
    }
}

fn run(command: Command, out: &Output) -> Result<(), CliError> {
    match command {
        Command::Auth(command) => auth::run(command, out),
        Command::Download(args) => download::run(args, out),
        Command::Upload(args) => upload::run(args, out),
        Command::Repos(command) => repos::run(command, out),
        Command::Models(command) => models::run(command, out),
        Command::Cache(command) => cache::run(command, out),
        Command::Inspect(args) => inspect::run(args, out),
        Command::Convert(args) => convert::run(args, out),
        Command::Completions(args) => {
            completions::run(args);
            Ok(())
        }
    }
}
