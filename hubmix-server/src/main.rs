//! The `hubmix-server` binary: a self-hosted Hugging Face Hub.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use hubmix_server::{GcOptions, Role, ServerConfig};

/// A self-hosted Hugging Face Hub. Point `HF_ENDPOINT` at it; Python clients ≥ 1.20 also need
/// `HF_HUB_DISABLE_XET=1` to upload large files.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Folder that holds the repositories (created if missing).
    #[arg(long, env = "HUBMIX_SERVER_ROOT", required = true)]
    root: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Base URL clients use, when it is not `http://<Host header>` (behind a proxy, say).
    #[arg(long)]
    public_url: Option<String>,
    /// TOML file of users, tokens and organisations (see the README).
    #[arg(long)]
    auth_file: Option<PathBuf>,
    /// A token, as USER:TOKEN:ROLE with ROLE `read` or `write`. Repeatable. Prefer --auth-file:
    /// command lines are visible to other local users.
    #[arg(long = "token", value_parser = parse_token)]
    tokens: Vec<(String, String, Role)>,
    /// An organisation, as ORG:MEMBER,MEMBER. Repeatable.
    #[arg(long = "org", value_parser = parse_org)]
    orgs: Vec<(String, Vec<String>)>,
    /// Files of at least this many bytes are uploaded through LFS.
    #[arg(long, default_value_t = hubmix_server::DEFAULT_LFS_THRESHOLD)]
    lfs_threshold: u64,
    /// Part size of multipart LFS uploads.
    #[arg(long, default_value_t = hubmix_server::DEFAULT_LFS_PART_SIZE)]
    lfs_part_size: u64,
    /// Largest LFS object an upload may announce, in bytes.
    #[arg(long, default_value_t = hubmix_server::DEFAULT_MAX_LFS_OBJECT_BYTES)]
    max_lfs_object_bytes: u64,
    /// Longest accepted line of an NDJSON commit body, in bytes.
    #[arg(long, default_value_t = hubmix_server::DEFAULT_MAX_LINE_BYTES)]
    max_line_bytes: usize,
    /// Entries per page of tree, commit and repository listings.
    #[arg(long, default_value_t = hubmix_server::DEFAULT_PAGE_SIZE)]
    page_size: usize,
    /// Send LFS files from a blob host on a second port (zero-copy `sendfile`), redirecting
    /// their downloads there as the Hub does to its CDN; clients must reach that port too.
    #[arg(long)]
    lfs_cdn: bool,
    /// Address of the blob host (implies --lfs-cdn; default: --bind's address, a free port).
    #[arg(long)]
    lfs_cdn_bind: Option<std::net::SocketAddr>,
    /// URL clients reach the blob host at, e.g. behind a reverse proxy (implies --lfs-cdn).
    #[arg(long)]
    lfs_cdn_url: Option<String>,
    /// Seconds a client has to send a request's head, on both ports, counted from when the
    /// connection opens or from the previous answer (so also how long an idle kept-alive
    /// connection stays open).
    #[arg(
        long,
        default_value_t = hubmix_server::DEFAULT_HEADER_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..),
    )]
    header_timeout_secs: u64,
    /// Seconds a request body may send nothing, or a client read nothing of an answer, before
    /// the connection is cut.
    #[arg(
        long,
        default_value_t = hubmix_server::DEFAULT_IDLE_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..),
    )]
    idle_timeout_secs: u64,
    /// Seconds an API request may take until its answer starts (upload included); longer ones
    /// are answered 408.
    #[arg(
        long,
        default_value_t = hubmix_server::DEFAULT_REQUEST_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..),
    )]
    request_timeout_secs: u64,
    /// Connections one client address may have open at once, on each port; more are answered
    /// 503 and closed.
    #[arg(
        long,
        default_value_t = hubmix_server::DEFAULT_MAX_CONNECTIONS_PER_IP,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..),
    )]
    max_connections_per_ip: usize,
    /// Connections open at once, on each port; more are answered 503 and closed. The server
    /// raises its open-file limit as far as the system allows and warns if it is too low.
    #[arg(
        long,
        default_value_t = hubmix_server::DEFAULT_MAX_CONNECTIONS,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..),
    )]
    max_connections: usize,
    /// Seconds requests in flight get to finish on SIGTERM or SIGINT, before the server exits.
    #[arg(long, default_value_t = hubmix_server::DEFAULT_SHUTDOWN_GRACE.as_secs())]
    shutdown_grace_secs: u64,
    /// Seconds between two garbage collections while serving (0: never; `hubmix-server gc`
    /// collects on demand).
    #[arg(long, default_value_t = hubmix_server::DEFAULT_GC_INTERVAL.as_secs())]
    gc_interval_secs: u64,
    /// Seconds that unused blobs, LFS uploads and multipart parts are kept (a commit may be
    /// about to use them).
    #[arg(long, default_value_t = hubmix_server::DEFAULT_GC_GRACE.as_secs())]
    gc_grace_secs: u64,
}

/// What to do instead of serving.
#[derive(Subcommand, Debug)]
enum Command {
    /// Remove the file contents no commit uses any more (of failed commits, deleted
    /// repositories, LFS uploads never committed) and abandoned multipart uploads, and print
    /// what was removed. Safe while a server serves the same folder.
    Gc {
        /// Folder that holds the repositories.
        #[arg(long, env = "HUBMIX_SERVER_ROOT")]
        root: PathBuf,
        /// Print what would be removed, and remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// Seconds that unused blobs, LFS uploads and multipart parts are kept.
        #[arg(long, default_value_t = hubmix_server::DEFAULT_GC_GRACE.as_secs())]
        grace_secs: u64,
    },
}

fn parse_token(s: &str) -> Result<(String, String, Role), String> {
    let mut it = s.splitn(3, ':');
    match (it.next(), it.next(), it.next()) {
        (Some(user), Some(token), Some(role)) if !user.is_empty() && !token.is_empty() => {
            let role = match role {
                "read" => Role::Read,
                "write" => Role::Write,
                other => return Err(format!("role {other:?} is not read or write")),
            };
            Ok((user.to_owned(), token.to_owned(), role))
        }
        _ => Err("expected USER:TOKEN:ROLE, e.g. alice:hf_secret:write".into()),
    }
}

fn parse_org(s: &str) -> Result<(String, Vec<String>), String> {
    let (org, members) = s.split_once(':').ok_or("expected ORG:MEMBER,MEMBER")?;
    Ok((
        org.to_owned(),
        members
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect(),
    ))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "hubmix_server=info".into()),
        )
        .init();
    let args = Args::parse();
    if let Some(Command::Gc {
        root,
        dry_run,
        grace_secs,
    }) = &args.command
    {
        let options = GcOptions {
            dry_run: *dry_run,
            grace: Duration::from_secs(*grace_secs),
        };
        return match hubmix_server::collect_garbage(root, &options) {
            Ok(report) => {
                println!("{report}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("hubmix-server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // Required by the parser unless a subcommand ran instead.
    let Some(root) = &args.root else {
        eprintln!("hubmix-server: --root is required");
        return ExitCode::from(2);
    };
    let mut config = ServerConfig::new(root)
        .bind(args.bind)
        .lfs_threshold(args.lfs_threshold)
        .lfs_part_size(args.lfs_part_size)
        .max_lfs_object_bytes(args.max_lfs_object_bytes)
        .max_line_bytes(args.max_line_bytes)
        .page_size(args.page_size)
        .lfs_cdn(args.lfs_cdn)
        .header_timeout(Duration::from_secs(args.header_timeout_secs))
        .idle_timeout(Duration::from_secs(args.idle_timeout_secs))
        .request_timeout(Duration::from_secs(args.request_timeout_secs))
        .max_connections_per_ip(args.max_connections_per_ip)
        .max_connections(args.max_connections)
        .shutdown_grace(Duration::from_secs(args.shutdown_grace_secs))
        .gc_interval(Duration::from_secs(args.gc_interval_secs))
        .gc_grace(Duration::from_secs(args.gc_grace_secs));
    if let Some(addr) = args.lfs_cdn_bind {
        config = config.lfs_cdn_bind(addr);
    }
    if let Some(url) = args.lfs_cdn_url {
        config = config.lfs_cdn_url(url);
    }
    if let Some(url) = args.public_url {
        config = config.public_url(url);
    }
    if let Some(file) = &args.auth_file {
        config = match config.with_auth_file(file) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("hubmix-server: {e}");
                return ExitCode::from(2);
            }
        };
    }
    for (user, token, role) in args.tokens {
        config = config.user(user, token, role);
    }
    for (org, members) in &args.orgs {
        let members: Vec<&str> = members.iter().map(String::as_str).collect();
        config = config.org(org.clone(), &members);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hubmix-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(hubmix_server::serve(config, stop_signal()));
    // Storage calls still running after the grace period (the server answers nothing any more)
    // get a moment; the database and the blob store are safe against being cut short anyway.
    runtime.shutdown_timeout(STORAGE_GRACE);
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hubmix-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// How long storage calls left running after the shutdown grace period may take to end.
const STORAGE_GRACE: Duration = Duration::from_secs(5);

/// Completes on `SIGTERM` (`docker stop`, `systemctl stop`) or `SIGINT` (Ctrl-C).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => {
                let name = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                };
                tracing::info!("{name} received: shutting down");
                return;
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!("cannot listen for SIGTERM ({e}): only Ctrl-C stops the server gracefully");
            }
        }
    }
    if tokio::signal::ctrl_c().await.is_ok() {
        tracing::info!("Ctrl-C received: shutting down");
    } else {
        // Without any signal handler, run until killed.
        std::future::pending::<()>().await;
    }
}
