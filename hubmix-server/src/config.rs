//! Server configuration: where data lives, where to listen, who may do what, and the limits.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::auth::{Role, TokenGrant};
use crate::storage::gc::{DEFAULT_GC_GRACE, DEFAULT_GC_INTERVAL};

/// Everything the server needs to start. Build it with [`ServerConfig::new`] and the builder
/// methods, or read the users and organisations from a TOML file with
/// [`ServerConfig::with_auth_file`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub(crate) root: PathBuf,
    pub(crate) bind: SocketAddr,
    pub(crate) public_url: Option<String>,
    pub(crate) tokens: Vec<TokenGrant>,
    pub(crate) orgs: BTreeMap<String, Vec<String>>,
    pub(crate) lfs_threshold: u64,
    pub(crate) lfs_part_size: u64,
    pub(crate) max_lfs_object_bytes: u64,
    pub(crate) max_line_bytes: usize,
    pub(crate) page_size: usize,
    pub(crate) lfs_cdn: bool,
    pub(crate) lfs_cdn_bind: Option<SocketAddr>,
    pub(crate) lfs_cdn_url: Option<String>,
    pub(crate) header_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) max_connections_per_ip: usize,
    pub(crate) max_connections: usize,
    pub(crate) shutdown_grace: Duration,
    pub(crate) gc_interval: Duration,
    pub(crate) gc_grace: Duration,
}

/// Default size from which preupload sends a file through LFS (10 MiB, as huggingface.co).
pub const DEFAULT_LFS_THRESHOLD: u64 = 10 * 1024 * 1024;
/// Default part size of multipart LFS uploads: larger objects are sent in parts of this size.
pub const DEFAULT_LFS_PART_SIZE: u64 = 64 * 1024 * 1024;
/// Default largest LFS object (50 GiB, huggingface.co's limit per file).
pub const DEFAULT_MAX_LFS_OBJECT_BYTES: u64 = 50 * 1024 * 1024 * 1024;
/// Most parts one multipart LFS upload is cut into (as S3 allows): an object that would need
/// more is refused.
pub const MAX_LFS_PARTS: u64 = 10_000;
/// Default longest NDJSON commit line (a `file` line carries its content base64-encoded).
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 * 1024 * 1024;
/// Default number of entries per page of tree, commit and repository listings (huggingface.co
/// uses 1000).
pub const DEFAULT_PAGE_SIZE: usize = 1000;
/// Default time a client has to send a request's head, counted from when the connection opens
/// or, kept alive, from the end of the previous answer.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time a request body or a reader of an answer may make no progress.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time a request may take until its answer starts.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);
/// Default number of connections one client address may have open on each port.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 128;
/// Default number of connections open at once on each port.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Default time in-flight requests get to finish once the server is asked to stop.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

impl ServerConfig {
    /// A configuration that keeps its data under `root` and listens on `127.0.0.1:0` (a free
    /// port), with no users: anonymous reads only until [`user`](Self::user) adds some.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ServerConfig {
            root: root.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            tokens: Vec::new(),
            orgs: BTreeMap::new(),
            lfs_threshold: DEFAULT_LFS_THRESHOLD,
            lfs_part_size: DEFAULT_LFS_PART_SIZE,
            max_lfs_object_bytes: DEFAULT_MAX_LFS_OBJECT_BYTES,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            page_size: DEFAULT_PAGE_SIZE,
            lfs_cdn: false,
            lfs_cdn_bind: None,
            lfs_cdn_url: None,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            gc_interval: DEFAULT_GC_INTERVAL,
            gc_grace: DEFAULT_GC_GRACE,
        }
    }

    /// The address to listen on.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// The base URL clients use, for the absolute URLs the server returns. By default it is
    /// `http://` plus the request's `Host` header.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// Adds an access token for `user` (who then exists as a namespace). Call it again for more
    /// tokens of the same user.
    pub fn user(mut self, user: impl Into<String>, token: impl Into<String>, role: Role) -> Self {
        self.tokens.push(TokenGrant {
            user: user.into(),
            token: token.into(),
            role,
        });
        self
    }

    /// Adds an organisation namespace whose members may read its private repositories and, with a
    /// write token, write to it.
    pub fn org(mut self, name: impl Into<String>, members: &[&str]) -> Self {
        let entry = self.orgs.entry(name.into()).or_default();
        entry.extend(members.iter().map(|m| (*m).to_owned()));
        self
    }

    /// Files of at least this many bytes are uploaded through LFS (the preupload answer).
    pub fn lfs_threshold(mut self, bytes: u64) -> Self {
        self.lfs_threshold = bytes;
        self
    }

    /// Objects larger than this are offered a multipart LFS upload in parts of this size.
    pub fn lfs_part_size(mut self, bytes: u64) -> Self {
        self.lfs_part_size = bytes.max(1);
        self
    }

    /// The largest LFS object an upload may announce; larger ones are refused in the batch
    /// answer, before any byte is sent.
    pub fn max_lfs_object_bytes(mut self, bytes: u64) -> Self {
        self.max_lfs_object_bytes = bytes;
        self
    }

    /// The longest accepted line of an NDJSON commit body.
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line_bytes = bytes;
        self
    }

    /// Entries per page of tree, commit and repository listings (the most a repository
    /// listing's `limit` asks for).
    pub fn page_size(mut self, entries: usize) -> Self {
        self.page_size = entries.max(1);
        self
    }

    /// Serve LFS files from a blob host of this server: a second
    /// listener, on the same address with a port of its own, that sends blobs with `sendfile`.
    /// Downloads of LFS files are then answered with a `302` to a signed, expiring URL there, as
    /// the Hub redirects them to its CDN; the real client and hubmix follow it. Off by default:
    /// the blob host must be reachable at the host name clients use for this server (behind a
    /// reverse proxy, give it a fixed address with [`lfs_cdn_bind`](Self::lfs_cdn_bind) and
    /// the URL clients reach it at with [`lfs_cdn_url`](Self::lfs_cdn_url)).
    pub fn lfs_cdn(mut self, on: bool) -> Self {
        self.lfs_cdn = on;
        self
    }

    /// Turns the blob host on, listening on `addr` (default: the server's address, a free port).
    pub fn lfs_cdn_bind(mut self, addr: SocketAddr) -> Self {
        self.lfs_cdn = true;
        self.lfs_cdn_bind = Some(addr);
        self
    }

    /// Turns the blob host on, and has its URLs start with `url` (`https://blobs.example.com`)
    /// instead of the request's host name with the blob host's port.
    pub fn lfs_cdn_url(mut self, url: impl Into<String>) -> Self {
        self.lfs_cdn = true;
        self.lfs_cdn_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// How long a client has to send a whole request head, on both ports: counted from when the
    /// connection opens, or from the end of the previous answer on a kept-alive connection (so
    /// it is also how long an idle connection stays open). A client that sends its head a byte
    /// at a time is closed when it runs out. At least a millisecond.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a request body may send nothing, and a client read nothing of an answer, on both
    /// ports, before the connection is cut. The handler of a stalled upload sees an error and
    /// keeps nothing of it. At least a millisecond.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a request of the API may take, from its head to the start of its answer
    /// (uploads included: LFS uploads come in parts of [`lfs_part_size`](Self::lfs_part_size));
    /// a request that takes longer is answered `408` and its connection closed. Downloads that
    /// stream their answer are bound by [`idle_timeout`](Self::idle_timeout) instead. At least
    /// a millisecond.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How many connections one client address may have open at once on each port; more are
    /// answered `503` with `Retry-After` and closed at once. At least one.
    pub fn max_connections_per_ip(mut self, connections: usize) -> Self {
        self.max_connections_per_ip = connections.max(1);
        self
    }

    /// How many connections may be open at once on each port; more are answered `503` with
    /// `Retry-After` and closed at once. The foreground server ([`serve`](crate::serve)) raises
    /// its file-descriptor limit as far as the system allows, and warns when it is below what
    /// this many connections on both ports need. At least one.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// How long requests in flight get to finish once [`serve`](crate::serve)'s shutdown
    /// future completes (on `SIGTERM` or `SIGINT` for the binary); the connections still open
    /// then are closed. [`RunningServer::shutdown`](crate::RunningServer::shutdown) does not
    /// wait.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// How often the server collects garbage ([`crate::collect_garbage`]) while it runs;
    /// `Duration::ZERO`: never. Default [`DEFAULT_GC_INTERVAL`](crate::DEFAULT_GC_INTERVAL).
    pub fn gc_interval(mut self, interval: Duration) -> Self {
        self.gc_interval = interval;
        self
    }

    /// The grace period of the server's garbage collection ([`crate::GcOptions::grace`]).
    pub fn gc_grace(mut self, grace: Duration) -> Self {
        self.gc_grace = grace;
        self
    }

    /// Adds the users, tokens and organisations of a TOML file:
    ///
    /// ```toml
    /// [users.alice]
    /// tokens = [{ token = "hf_alice_write", role = "write" }, { token = "hf_alice_read", role = "read" }]
    ///
    /// [orgs.team]
    /// members = ["alice"]
    /// ```
    pub fn with_auth_file(mut self, path: &Path) -> Result<Self, ConfigFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        let file: AuthFile = toml::from_str(&text).map_err(|source| ConfigFileError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        for (user, spec) in file.users {
            for t in spec.tokens {
                self = self.user(user.clone(), t.token, t.role);
            }
        }
        for (org, spec) in file.orgs {
            let members: Vec<&str> = spec.members.iter().map(String::as_str).collect();
            self = self.org(org, &members);
        }
        Ok(self)
    }
}

/// A users-and-tokens file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The file could not be read.
    #[error("cannot read the auth file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// The file is not valid TOML of the expected shape.
    #[error("the auth file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFile {
    #[serde(default)]
    users: BTreeMap<String, UserSpec>,
    #[serde(default)]
    orgs: BTreeMap<String, OrgSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserSpec {
    tokens: Vec<TokenSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSpec {
    token: String,
    role: Role,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgSpec {
    members: Vec<String>,
}
