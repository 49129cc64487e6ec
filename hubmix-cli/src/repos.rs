//! `hubmix repos create | delete | move | settings | delete-files | branch | tag`: repository
//! management, as `hf repos` has it.

use hubmix_hub::info::Gated;
use hubmix_hub::manage::{CreateRepoOptions, RepoSettings};
use hubmix_hub::patterns::glob_set;
use hubmix_hub::{CommitOperation, CommitOptions, RepoRef};
use serde_json::Value;

use crate::args::{RepoKind, client, target};
use crate::error::{CliError, InRepo};
use crate::output::Output;

/// `hubmix repos …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ReposCommand {
    /// Create a repository.
    #[command(
        after_help = "Examples:\n  hubmix repos create alice/mlp --private\n  hubmix repos create alice/data --repo-type dataset --exist-ok"
    )]
    Create(CreateArgs),
    /// Delete a repository, for good.
    #[command(
        after_help = "Examples:\n  hubmix repos delete alice/old-mlp\n  hubmix repos delete alice/old-mlp --yes --missing-ok"
    )]
    Delete(DeleteArgs),
    /// Rename a repository, or move it to another namespace.
    #[command(after_help = "Example:\n  hubmix repos move alice/mlp team/mlp")]
    Move(MoveArgs),
    /// Change a repository's visibility or gating.
    #[command(
        after_help = "Examples:\n  hubmix repos settings alice/mlp --private\n  hubmix repos settings alice/mlp --public\n  hubmix repos settings alice/mlp --gated auto\n  hubmix repos settings alice/mlp --gated false"
    )]
    Settings(SettingsArgs),
    /// Delete the files matching patterns, in one commit.
    #[command(
        after_help = "Examples:\n  hubmix repos delete-files alice/mlp '*.bin'\n  hubmix repos delete-files alice/mlp logs/ --create-pr"
    )]
    DeleteFiles(DeleteFilesArgs),
    /// Create or delete branches.
    #[command(subcommand, arg_required_else_help = true)]
    Branch(BranchCommand),
    /// Create, list or delete tags.
    #[command(subcommand, arg_required_else_help = true)]
    Tag(TagCommand),
}

/// The repository argument and its type.
#[derive(Debug, clap::Args)]
pub(crate) struct Repo {
    /// The repository: `namespace/name` or `datasets/namespace/name`.
    repo_id: String,
    /// The repository's type.
    #[arg(long = "repo-type", visible_alias = "type", value_enum)]
    repo_type: Option<RepoKind>,
    /// A token instead of the stored one (prefer `hubmix auth login` or HF_TOKEN).
    #[arg(long)]
    token: Option<String>,
}

/// `repos create` options.
#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    repo: Repo,
    /// Make it private.
    #[arg(long)]
    private: bool,
    /// Make it public (the default).
    #[arg(long)]
    public: bool,
    /// Succeed when it exists already.
    #[arg(long)]
    exist_ok: bool,
}

/// `repos delete` options.
#[derive(Debug, clap::Args)]
pub(crate) struct DeleteArgs {
    #[command(flatten)]
    repo: Repo,
    /// Succeed when it does not exist.
    #[arg(long)]
    missing_ok: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    yes: bool,
}

/// `repos move` options.
#[derive(Debug, clap::Args)]
pub(crate) struct MoveArgs {
    #[command(flatten)]
    repo: Repo,
    /// The new id, `namespace/name`.
    to_id: String,
}

/// `repos settings` options.
#[derive(Debug, clap::Args)]
pub(crate) struct SettingsArgs {
    #[command(flatten)]
    repo: Repo,
    /// Users must ask for access, granted at once (auto) or by the owners (manual); false lifts
    /// the gate. (hubmix-server stores it and reports it; it does not handle access requests.)
    #[arg(long, value_enum)]
    gated: Option<GatedChoice>,
    /// Make it private.
    #[arg(long)]
    private: bool,
    /// Make it public.
    #[arg(long, conflicts_with = "private")]
    public: bool,
}

/// The `--gated` values, as `hf` has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum GatedChoice {
    /// Access requests are granted at once.
    Auto,
    /// The owners grant each access request.
    Manual,
    /// Not gated.
    False,
}

impl From<GatedChoice> for Gated {
    fn from(choice: GatedChoice) -> Self {
        match choice {
            GatedChoice::Auto => Gated::Mode("auto".into()),
            GatedChoice::Manual => Gated::Mode("manual".into()),
            GatedChoice::False => Gated::Flag(false),
        }
    }
}

/// `repos delete-files` options.
#[derive(Debug, clap::Args)]
pub(crate) struct DeleteFilesArgs {
    #[command(flatten)]
    repo: Repo,
    /// Patterns of the files to delete (`*` also matches `/`; `dir/` is everything below).
    #[arg(required = true)]
    patterns: Vec<String>,
    /// The branch (default: main).
    #[arg(long)]
    revision: Option<String>,
    /// The commit's title.
    #[arg(long)]
    commit_message: Option<String>,
    /// The rest of the commit message.
    #[arg(long)]
    commit_description: Option<String>,
    /// Open a pull request instead of committing to the branch.
    #[arg(long)]
    create_pr: bool,
}

/// `hubmix repos branch …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum BranchCommand {
    /// Create a branch.
    #[command(after_help = "Example:\n  hubmix repos branch create alice/mlp dev --revision v1")]
    Create {
        #[command(flatten)]
        repo: Repo,
        /// The branch.
        branch: String,
        /// Where it starts (default: the head of main).
        #[arg(long)]
        revision: Option<String>,
        /// Succeed when it exists already.
        #[arg(long)]
        exist_ok: bool,
    },
    /// Delete a branch.
    #[command(after_help = "Example:\n  hubmix repos branch delete alice/mlp dev")]
    Delete {
        #[command(flatten)]
        repo: Repo,
        /// The branch.
        branch: String,
    },
}

/// `hubmix repos tag …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum TagCommand {
    /// Tag a revision.
    #[command(after_help = "Example:\n  hubmix repos tag create alice/mlp v1 -m 'First release'")]
    Create {
        #[command(flatten)]
        repo: Repo,
        /// The tag.
        tag: String,
        /// The tag's message.
        #[arg(short, long)]
        message: Option<String>,
        /// The revision to tag (default: main).
        #[arg(long)]
        revision: Option<String>,
    },
    /// List the tags.
    #[command(
        visible_alias = "ls",
        after_help = "Example:\n  hubmix repos tag list alice/mlp --format json"
    )]
    List {
        #[command(flatten)]
        repo: Repo,
    },
    /// Delete a tag.
    #[command(after_help = "Example:\n  hubmix repos tag delete alice/mlp v1 --yes")]
    Delete {
        #[command(flatten)]
        repo: Repo,
        /// The tag.
        tag: String,
        /// Do not ask for confirmation.
        #[arg(short, long)]
        yes: bool,
    },
}

fn text(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

/// Runs a `repos` command.
pub(crate) fn run(command: ReposCommand, out: &Output) -> Result<(), CliError> {
    match command {
        ReposCommand::Create(args) => {
            let t = target(&args.repo.repo_id, args.repo.repo_type, None)?;
            let hub = client(out, args.repo.token.as_deref(), None)?;
            let mut options = CreateRepoOptions::default().exist_ok(args.exist_ok);
            if args.private || args.public {
                options = options.private(args.private);
            }
            let created = hub.create_repo(&t.repo, &options).in_repo(t.repo_type())?;
            out.result(
                "Repo created",
                &[
                    ("repo_id", text(created.id.to_string())),
                    ("url", text(created.url)),
                ],
            );
        }
        ReposCommand::Delete(args) => {
            let t = target(&args.repo.repo_id, args.repo.repo_type, None)?;
            let hub = client(out, args.repo.token.as_deref(), None)?;
            out.confirm(
                &format!(
                    "You are about to permanently delete {} '{}'. Proceed?",
                    t.repo_type().as_str(),
                    t.id()
                ),
                args.yes,
            )?;
            hub.delete_repo(&t.repo, args.missing_ok).in_repo(t.repo_type())?;
            out.result("Repo deleted", &[("repo_id", text(t.id().to_string()))]);
        }
        ReposCommand::Move(args) => {
            let t = target(&args.repo.repo_id, args.repo.repo_type, None)?;
            let hub = client(out, args.repo.token.as_deref(), None)?;
            let moved = hub
                .move_repo(&t.repo, args.to_id.as_str())
                .in_repo(t.repo_type())?;
            out.result(
                "Repo moved",
                &[
                    ("from_id", text(t.id().to_string())),
                    ("to_id", text(moved.id.to_string())),
                ],
            );
        }
        ReposCommand::Settings(args) => {
            let t = target(&args.repo.repo_id, args.repo.repo_type, None)?;
            if !args.private && !args.public && args.gated.is_none() {
                return Err(CliError::failed(
                    "No setting to change.",
                    "Pass --private, --public or --gated.",
                ));
            }
            let hub = client(out, args.repo.token.as_deref(), None)?;
            let settings = RepoSettings {
                private: (args.private || args.public).then_some(args.private),
                gated: args.gated.map(Gated::from),
            };
            hub.update_repo_settings(&t.repo, &settings)
                .in_repo(t.repo_type())?;
            out.result("Repo settings updated", &[("repo_id", text(t.id().to_string()))]);
        }
        ReposCommand::DeleteFiles(args) => delete_files(args, out)?,
        ReposCommand::Branch(command) => branch(command, out)?,
        ReposCommand::Tag(command) => tag(command, out)?,
    }
    Ok(())
}

fn delete_files(args: DeleteFilesArgs, out: &Output) -> Result<(), CliError> {
    let t = target(&args.repo.repo_id, args.repo.repo_type, args.revision.as_deref())?;
    let kind = t.repo_type();
    let hub = client(out, args.repo.token.as_deref(), None)?;
    let Some(patterns) = glob_set(&args.patterns)? else {
        return Err(CliError::Usage("Give at least one pattern.".into()));
    };
    let files = hub.list_repo_files(&t.repo).in_repo(kind)?;
    let operations: Vec<CommitOperation> = files
        .into_iter()
        .filter(|path| path != ".gitattributes" && patterns.is_match(path))
        .map(CommitOperation::delete_file)
        .collect();
    if operations.is_empty() {
        return Err(CliError::failed(
            format!("No file of {} matches {}.", t.id(), args.patterns.join(", ")),
            "`hubmix download REPO --dry-run` lists the files.",
        ));
    }
    let mut commit = CommitOptions::new(
        args.commit_message
            .unwrap_or_else(|| "Delete files using hubmix".into()),
    )
    .create_pr(args.create_pr);
    if let Some(description) = args.commit_description {
        commit = commit.description(description);
    }
    let info = hub.create_commit(&t.repo, &operations, &commit).in_repo(kind)?;
    out.result(
        "Files deleted",
        &[
            ("repo_id", text(t.id().to_string())),
            ("commit_url", text(info.url)),
        ],
    );
    Ok(())
}

fn branch(command: BranchCommand, out: &Output) -> Result<(), CliError> {
    let (repo, name, title) = match &command {
        BranchCommand::Create { repo, branch, .. } => (repo, branch, "Branch created"),
        BranchCommand::Delete { repo, branch } => (repo, branch, "Branch deleted"),
    };
    let t = target(&repo.repo_id, repo.repo_type, None)?;
    let hub = client(out, repo.token.as_deref(), None)?;
    match &command {
        BranchCommand::Create {
            revision, exist_ok, ..
        } => {
            let from = RepoRef {
                revision: revision.clone(),
                ..t.repo.clone()
            };
            hub.create_branch(&from, name, *exist_ok).in_repo(t.repo_type())?;
        }
        BranchCommand::Delete { .. } => hub.delete_branch(&t.repo, name).in_repo(t.repo_type())?,
    }
    out.result(
        title,
        &[
            ("branch", text(name.clone())),
            ("repo_type", text(t.repo_type().as_str())),
            ("repo_id", text(t.id().to_string())),
        ],
    );
    Ok(())
}

fn tag(command: TagCommand, out: &Output) -> Result<(), CliError> {
    match command {
        TagCommand::Create {
            repo,
            tag,
            message,
            revision,
        } => {
            let t = target(&repo.repo_id, repo.repo_type, revision.as_deref())?;
            let hub = client(out, repo.token.as_deref(), None)?;
            hub.create_tag(&t.repo, &tag, message.as_deref(), false)
                .in_repo(t.repo_type())?;
            out.result(
                "Tag created",
                &[
                    ("tag", text(tag)),
                    ("repo_type", text(t.repo_type().as_str())),
                    ("repo_id", text(t.id().to_string())),
                ],
            );
        }
        TagCommand::List { repo } => {
            let t = target(&repo.repo_id, repo.repo_type, None)?;
            let hub = client(out, repo.token.as_deref(), None)?;
            let refs = hub.list_repo_refs(&t.repo, false).in_repo(t.repo_type())?;
            let rows: Vec<Vec<Value>> = refs
                .tags
                .into_iter()
                .map(|r| vec![text(r.name), text(r.target_commit), text(r.full_name)])
                .collect();
            out.table(&["name", "target_commit", "ref"], &rows);
        }
        TagCommand::Delete { repo, tag, yes } => {
            let t = target(&repo.repo_id, repo.repo_type, None)?;
            let hub = client(out, repo.token.as_deref(), None)?;
            out.text(&format!(
                "You are about to delete tag {tag} on {} {}",
                t.repo_type().as_str(),
                t.id()
            ));
            out.confirm("Proceed?", yes)?;
            hub.delete_tag(&t.repo, &tag).in_repo(t.repo_type())?;
            out.result(
                "Tag deleted",
                &[
                    ("tag", text(tag)),
                    ("repo_type", text(t.repo_type().as_str())),
                    ("repo_id", text(t.id().to_string())),
                ],
            );
        }
    }
    Ok(())
}
