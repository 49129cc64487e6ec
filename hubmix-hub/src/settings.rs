//! Settings: endpoint, token, cache folder, offline mode, timeouts, progress bars, proxy —
//! read from the same `HF_*` variables as `huggingface_hub` 2.x, each overridable from code
//! through [`HubClientBuilder`](crate::HubClientBuilder).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::HubError;

/// The public Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// An access token. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token string (surrounding white space removed).
    pub fn new(token: impl Into<String>) -> Self {
        Token(token.into().trim().to_owned())
    }

    /// The secret itself, for the `Authorization` header only.
    pub(crate) fn secret(&self) -> &str {
        &self.0
    }

    /// The secret itself, for a caller that must show or store it on purpose (`hubmix auth
    /// token`, the token file). Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<hidden>)")
    }
}

/// Where the token came from (useful in "not logged in" diagnostics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// Set from code.
    Explicit,
    /// `HF_TOKEN` or the legacy `HUGGING_FACE_HUB_TOKEN`.
    Env(&'static str),
    /// The token file (`HF_TOKEN_PATH`, default `$HF_HOME/token`).
    File(PathBuf),
}

/// Resolved settings of a [`HubClient`](crate::HubClient).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base URL of the Hub, without a trailing `/`.
    pub endpoint: String,
    /// The token sent to the endpoint, if any.
    pub token: Option<Token>,
    /// Where the token came from.
    pub token_source: Option<TokenSource>,
    /// `HF_HOME`: default `$XDG_CACHE_HOME/huggingface` or `~/.cache/huggingface`.
    pub hf_home: PathBuf,
    /// `HF_TOKEN_PATH`: the active token's file, default `$HF_HOME/token` (the stored tokens are
    /// beside it, see [`crate::auth::TokenStore`]).
    pub token_path: PathBuf,
    /// The download cache: `HF_HUB_CACHE`, default `$HF_HOME/hub`.
    pub cache_dir: PathBuf,
    /// `HF_HUB_OFFLINE`: never touch the network, serve from the cache.
    pub offline: bool,
    /// `HF_HUB_DISABLE_PROGRESS_BARS`: `Some(false)` forces bars off, `Some(true)` on, `None`
    /// shows them on a terminal only.
    pub progress_bars: Option<bool>,
    /// `HF_HUB_ETAG_TIMEOUT`: timeout of the metadata request of a download.
    pub etag_timeout: Duration,
    /// `HF_HUB_DOWNLOAD_TIMEOUT`: longest wait for bytes during a download.
    pub download_timeout: Duration,
    /// A proxy URL; `None` reads `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY`.
    pub proxy: Option<String>,
    /// How many files a snapshot downloads at once, and how many parts a large file is
    /// fetched in.
    pub max_workers: usize,
    /// Files at least this large are downloaded in parallel ranges (when the server accepts
    /// ranges and `max_workers` > 1). Off (`u64::MAX`) by default: one stream, hashed on a
    /// second thread as it arrives, beat 2, 4 and 8 ranges plus the hashing pass they need
    /// afterwards (`hubmix/benches/download.rs`, BENCHMARKS.md). Set it for links where a single
    /// connection is much slower than the link.
    pub parallel_threshold: u64,
    /// Flush every downloaded file to disk (`fsync`) before it enters `blobs/`, so that it
    /// survives a power loss. Off by default, as in `huggingface_hub` and `curl -o`: on the
    /// benchmark machine it cost 0.56 s per GiB, 41% more time (BENCHMARKS.md). A process
    /// crash loses nothing either way (files land by rename once verified); after a power loss
    /// without it, a blob may be cut short, and an online download notices (its size differs
    /// from the Hub's) and fetches it again.
    pub durable_downloads: bool,
    /// Retries of connection errors, 5xx and 429 answers.
    pub retry: RetryPolicy,
    /// Extra `name/version` pairs for the user agent (the calling library).
    pub user_agent: Vec<(String, String)>,
}

/// How transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; it doubles each time.
    pub base_delay: Duration,
    /// Longest backoff (also the cap on a server's `Retry-After`).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// True for `1`, `ON`, `YES`, `TRUE` (any case), as `huggingface_hub` reads booleans.
pub fn env_true(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_uppercase().as_str(),
        "1" | "ON" | "YES" | "TRUE"
    )
}

/// False for `0`, `OFF`, `NO`, `FALSE`.
fn env_false(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_uppercase().as_str(),
        "0" | "OFF" | "NO" | "FALSE"
    )
}

/// Expands a leading `~` and `$VAR` / `${VAR}` references.
fn expand(path: &str, var: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    let mut out = String::new();
    let mut rest = path;
    if let Some(tail) = rest.strip_prefix('~')
        && (tail.is_empty() || tail.starts_with('/'))
    {
        out.push_str(&var("HOME").unwrap_or_default());
        rest = tail;
    }
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, next) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], &braced[end + 1..]),
                None => ("", after),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if name.is_empty() {
            out.push('$');
        } else {
            out.push_str(&var(name).unwrap_or_default());
        }
        rest = next;
    }
    out.push_str(rest);
    PathBuf::from(out)
}

impl Settings {
    /// Settings from the process environment.
    pub fn from_env() -> Result<Self, HubError> {
        Self::from_vars(&|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Settings from any variable source (the environment, or a map in tests).
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<Self, HubError> {
        let endpoint = var("HF_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.into());
        let hf_home = match var("HF_HOME") {
            Some(h) => expand(&h, var),
            None => match var("XDG_CACHE_HOME") {
                Some(x) => expand(&x, var).join("huggingface"),
                None => expand("~/.cache/huggingface", var),
            },
        };
        let cache_dir = match var("HF_HUB_CACHE").or_else(|| var("HUGGINGFACE_HUB_CACHE")) {
            Some(c) => expand(&c, var),
            None => hf_home.join("hub"),
        };
        let token_path = var("HF_TOKEN_PATH")
            .map(|p| expand(&p, var))
            .unwrap_or_else(|| hf_home.join("token"));
        let (token, token_source) = resolve_token(var, &token_path)?;
        let seconds = |name: &str, default: f64| -> Result<Duration, HubError> {
            match var(name) {
                None => Ok(Duration::from_secs_f64(default)),
                Some(v) => v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|s| *s > 0.0)
                    .and_then(|s| Duration::try_from_secs_f64(s).ok())
                    .ok_or_else(|| HubError::InvalidSetting {
                        name: name.into(),
                        reason: format!("{v:?} is not a positive number of seconds"),
                    }),
            }
        };
        let progress_bars = var("HF_HUB_DISABLE_PROGRESS_BARS").and_then(|v| {
            if env_true(&v) {
                Some(false)
            } else if env_false(&v) {
                Some(true)
            } else {
                None
            }
        });
        let settings = Settings {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            token,
            token_source,
            hf_home,
            token_path,
            cache_dir,
            offline: var("HF_HUB_OFFLINE")
                .or_else(|| var("TRANSFORMERS_OFFLINE"))
                .is_some_and(|v| env_true(&v)),
            progress_bars,
            etag_timeout: seconds("HF_HUB_ETAG_TIMEOUT", 10.0)?,
            download_timeout: seconds("HF_HUB_DOWNLOAD_TIMEOUT", 10.0)?,
            proxy: None,
            max_workers: 8,
            parallel_threshold: u64::MAX,
            durable_downloads: false,
            retry: RetryPolicy::default(),
            user_agent: Vec::new(),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Checks values that came from code or the environment.
    pub(crate) fn validate(&self) -> Result<(), HubError> {
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            return Err(HubError::InvalidSetting {
                name: "HF_ENDPOINT".into(),
                reason: format!("{:?} is not an http:// or https:// URL", self.endpoint),
            });
        }
        if self.max_workers == 0 {
            return Err(HubError::InvalidSetting {
                name: "max_workers".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// The token, in `huggingface_hub` 2.x order: `HF_TOKEN`, the legacy `HUGGING_FACE_HUB_TOKEN`,
/// then the token file. `HF_HUB_DISABLE_IMPLICIT_TOKEN` turns all of them off.
fn resolve_token(
    var: &dyn Fn(&str) -> Option<String>,
    token_path: &Path,
) -> Result<(Option<Token>, Option<TokenSource>), HubError> {
    if var("HF_HUB_DISABLE_IMPLICIT_TOKEN").is_some_and(|v| env_true(&v)) {
        return Ok((None, None));
    }
    for name in ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"] {
        if let Some(t) = var(name).map(Token::new).filter(|t| !t.0.is_empty()) {
            return Ok((Some(t), Some(TokenSource::Env(name))));
        }
    }
    match std::fs::read_to_string(token_path) {
        Ok(text) => {
            let t = Token::new(text);
            Ok(if t.0.is_empty() {
                (None, None)
            } else {
                (Some(t), Some(TokenSource::File(token_path.to_owned())))
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((None, None)),
        Err(e) => Err(HubError::io("reading the token file", token_path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, HubError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_vars(&move |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_follow_huggingface_hub() {
        let s = settings(&[("HOME", "/home/u")]).unwrap();
        assert_eq!(s.endpoint, "https://huggingface.co");
        assert_eq!(s.hf_home, PathBuf::from("/home/u/.cache/huggingface"));
        assert_eq!(s.cache_dir, PathBuf::from("/home/u/.cache/huggingface/hub"));
        assert!(!s.offline && s.token.is_none() && s.progress_bars.is_none());
        assert_eq!(s.etag_timeout, Duration::from_secs(10));
        let s = settings(&[("XDG_CACHE_HOME", "/x"), ("HF_ENDPOINT", "http://127.0.0.1:9/")]).unwrap();
        assert_eq!(
            (s.hf_home, s.endpoint.as_str()),
            (PathBuf::from("/x/huggingface"), "http://127.0.0.1:9")
        );
    }

    #[test]
    fn variables_override() {
        let s = settings(&[
            ("HOME", "/home/u"),
            ("HF_HOME", "~/hf"),
            ("HF_HUB_CACHE", "$HOME/cache"),
            ("HF_HUB_OFFLINE", "yes"),
            ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
            ("HF_HUB_ETAG_TIMEOUT", "2.5"),
            ("HF_HUB_DOWNLOAD_TIMEOUT", "30"),
        ])
        .unwrap();
        assert_eq!(s.hf_home, PathBuf::from("/home/u/hf"));
        assert_eq!(s.cache_dir, PathBuf::from("/home/u/cache"));
        assert!(s.offline);
        assert_eq!(s.progress_bars, Some(false));
        assert_eq!(s.etag_timeout, Duration::from_millis(2500));
        assert_eq!(s.download_timeout, Duration::from_secs(30));
        assert!(settings(&[("TRANSFORMERS_OFFLINE", "1")]).unwrap().offline);
        assert_eq!(
            settings(&[("HF_HUB_DISABLE_PROGRESS_BARS", "false")])
                .unwrap()
                .progress_bars,
            Some(true)
        );
    }

    #[test]
    fn token_order_env_then_legacy_then_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "  hf_file \n").unwrap();
        let home = dir.path().to_str().unwrap();
        let s = settings(&[("HF_HOME", home)]).unwrap();
        assert_eq!(s.token, Some(Token::new("hf_file")));
        assert_eq!(s.token_source, Some(TokenSource::File(file.clone())));
        let s = settings(&[("HF_HOME", home), ("HUGGING_FACE_HUB_TOKEN", "hf_legacy")]).unwrap();
        assert_eq!(s.token, Some(Token::new("hf_legacy")));
        let s = settings(&[
            ("HF_HOME", home),
            ("HUGGING_FACE_HUB_TOKEN", "hf_legacy"),
            ("HF_TOKEN", "hf_env"),
        ])
        .unwrap();
        assert_eq!(
            (s.token, s.token_source),
            (Some(Token::new("hf_env")), Some(TokenSource::Env("HF_TOKEN")))
        );
        let other = dir.path().join("other");
        std::fs::write(&other, "hf_other").unwrap();
        let s = settings(&[("HF_HOME", home), ("HF_TOKEN_PATH", other.to_str().unwrap())]).unwrap();
        assert_eq!(s.token, Some(Token::new("hf_other")));
        let s = settings(&[
            ("HF_HOME", home),
            ("HF_TOKEN", "x"),
            ("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1"),
        ])
        .unwrap();
        assert!(s.token.is_none());
    }

    #[test]
    fn bad_values_are_errors() {
        let err = settings(&[("HF_HUB_ETAG_TIMEOUT", "soon")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("HF_HUB_ETAG_TIMEOUT"), "{err}");
        // Too large for a `Duration`: an error, not a panic.
        for huge in ["1e20", "inf", "1e400"] {
            let err = settings(&[("HF_HUB_DOWNLOAD_TIMEOUT", huge)])
                .unwrap_err()
                .to_string();
            assert!(err.contains("HF_HUB_DOWNLOAD_TIMEOUT"), "{huge}: {err}");
        }
        let err = settings(&[("HF_ENDPOINT", "ftp://x")]).unwrap_err().to_string();
        assert!(err.contains("http"), "{err}");
    }

    #[test]
    fn token_never_printed() {
        let t = Token::new("hf_secret");
        assert!(!format!("{t:?}").contains("hf_secret"));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_millis(500));
        assert_eq!(p.backoff(3), Duration::from_secs(2));
        assert_eq!(p.backoff(10), Duration::from_secs(8));
    }
}
