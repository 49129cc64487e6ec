//! `hubmix completions SHELL`: the shell completion script (`hf` has none of its own: it uses
//! `--install-completion`).

use clap::CommandFactory;
use clap_complete::Shell;

/// `hubmix completions` options.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  hubmix completions bash > ~/.local/share/bash-completion/completions/hubmix
  hubmix completions zsh > ~/.zfunc/_hubmix
  hubmix completions fish > ~/.config/fish/completions/hubmix.fish")]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: Shell,
}

/// Prints the script to stdout.
pub(crate) fn run(args: CompletionsArgs) {
    let mut command = crate::Cli::command();
    clap_complete::generate(args.shell, &mut command, "hubmix", &mut std::io::stdout());
}
