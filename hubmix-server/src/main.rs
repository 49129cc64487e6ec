//! The `hubmix-server` binary: a self-hosted Hugging Face Hub.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use hubmix_server::{Role, ServerConfig};

/// A self-hosted Hugging Face Hub. Point `HF_ENDPOINT` at it; Python clients ≥ 1.20 also need
/// `HF_HUB_DISABLE_XET=1` to upload large files.
// No `Debug`: the arguments hold tokens.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Folder that holds the repositories (created if missing).
    #[arg(long, env = "HUBMIX_SERVER_ROOT")]
    root: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Base URL clients use, when it is not `http://<Host header>` (behind a proxy, say).
    #[arg(long)]
    public_url: Option<String>,
    /// TOML file of users, tokens and organisations (see the README).
    #[arg(long)]
    auth_file: Option<PathBuf>,
    /// A token, as USER:TOKEN:ROLE with ROLE `read` or `write`; TOKEN may be `sha256:<hex>`, the
    /// token's SHA-256 (`printf %s "$TOKEN" | sha256sum`). Repeatable. Prefer --auth-file or the
    /// hash: command lines are visible to other local users.
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
    /// Largest NDJSON commit body, in bytes.
    #[arg(long, default_value_t = hubmix_server::DEFAULT_MAX_COMMIT_BYTES)]
    max_commit_bytes: u64,
    /// Most operations (files added, files and folders deleted) in one commit.
    #[arg(long, default_value_t = hubmix_server::DEFAULT_MAX_COMMIT_OPERATIONS)]
    max_commit_operations: usize,
    /// Largest JSON request body, in bytes.
    #[arg(long, default_value_t = hubmix_server::DEFAULT_MAX_JSON_BYTES)]
    max_json_bytes: usize,
    /// Deepest nesting of a JSON body or NDJSON commit line.
    #[arg(long, default_value_t = hubmix_server::DEFAULT_MAX_JSON_DEPTH)]
    max_json_depth: usize,
    /// Most paths one paths-info request may ask about.
    #[arg(long, default_value_t = hubmix_server::DEFAULT_MAX_PATHS_PER_REQUEST)]
    max_paths_per_request: usize,
    /// Entries per page of listings (tree, commits, repositories); also the largest `limit`.
    #[arg(long, default_value_t = hubmix_server::DEFAULT_PAGE_SIZE)]
    page_size: usize,
    /// Most bytes of a card's YAML front matter.
    #[arg(long, default_value_t = hubmix_protocol::card::MAX_FRONT_MATTER_BYTES)]
    max_card_yaml_bytes: usize,
    /// Most values of a card's YAML front matter, aliases counted at the size they repeat.
    #[arg(long, default_value_t = hubmix_protocol::card::MAX_FRONT_MATTER_NODES)]
    max_card_yaml_values: usize,
    /// Deepest nesting of a card's YAML front matter.
    #[arg(long, default_value_t = hubmix_protocol::card::MAX_FRONT_MATTER_DEPTH)]
    max_card_yaml_depth: usize,
    /// Writes (commits, pull requests, branches, tags, repository changes, LFS upload batches)
    /// each token may make per minute on average; more are answered 429. 0: no limit.
    #[arg(long, default_value_t = hubmix_server::DEFAULT_WRITES_PER_MINUTE)]
    writes_per_minute: u32,
    /// Writes a token may make at once, before --writes-per-minute applies.
    #[arg(long, default_value_t = hubmix_server::DEFAULT_WRITE_BURST)]
    write_burst: u32,
    /// Seconds the LFS upload URLs of a batch answer stay valid.
    #[arg(long, default_value_t = hubmix_server::DEFAULT_LFS_URL_LIFETIME.as_secs())]
    lfs_url_lifetime_secs: u64,
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
}

fn parse_token(s: &str) -> Result<(String, String, Role), String> {
    let usage = "expected USER:TOKEN:ROLE, e.g. alice:hf_secret:write or alice:sha256:<64 hex>:write";
    // The token may hold colons (`sha256:<hex>`): the user is before the first, the role after
    // the last.
    let (user, rest) = s.split_once(':').ok_or(usage)?;
    let (token, role) = rest.rsplit_once(':').ok_or(usage)?;
    if user.is_empty() || token.is_empty() {
        return Err(usage.into());
    }
    let role = match role {
        "read" => Role::Read,
        "write" => Role::Write,
        other => return Err(format!("role {other:?} is not read or write")),
    };
    hubmix_server::check_configured_token(token).map_err(|e| e.to_string())?;
    Ok((user.to_owned(), token.to_owned(), role))
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
    let mut config = ServerConfig::new(&args.root)
        .bind(args.bind)
        .lfs_threshold(args.lfs_threshold)
        .lfs_part_size(args.lfs_part_size)
        .max_lfs_object_bytes(args.max_lfs_object_bytes)
        .max_line_bytes(args.max_line_bytes)
        .max_commit_bytes(args.max_commit_bytes)
        .max_commit_operations(args.max_commit_operations)
        .max_json_bytes(args.max_json_bytes)
        .max_json_depth(args.max_json_depth)
        .max_paths_per_request(args.max_paths_per_request)
        .page_size(args.page_size)
        .max_card_yaml_bytes(args.max_card_yaml_bytes)
        .max_card_yaml_values(args.max_card_yaml_values)
        .max_card_yaml_depth(args.max_card_yaml_depth)
        .write_rate_limit(args.writes_per_minute, args.write_burst)
        .lfs_url_lifetime(std::time::Duration::from_secs(args.lfs_url_lifetime_secs))
        .lfs_cdn(args.lfs_cdn);
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
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match runtime.block_on(hubmix_server::serve(config, shutdown)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hubmix-server: {e}");
            ExitCode::FAILURE
        }
    }
}
