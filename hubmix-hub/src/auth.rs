//! Token storage shared with Python's `huggingface_hub`: a login by one tool is seen by the
//! other.
//!
//! Two files, as `huggingface_hub` 2.x writes them:
//!
//! - the active token, `HF_TOKEN_PATH` (default `$HF_HOME/token`): the bare token, no newline;
//! - the stored tokens, `stored_tokens` beside it: an INI file (Python's `configparser`), one
//!   section per token name, sections sorted, `hf_token = …` and for OAuth tokens
//!   `refresh_token` and `expires_at`, a blank line after each section.
//!
//! Both are written with mode `0600` in a folder set to `0700` (on Unix). A stored-tokens file
//! that cannot be parsed reads as empty, as in Python (a new login overwrites it).
//!
//! ```
//! use hubmix_hub::auth::TokenStore;
//! # let dir = tempfile::tempdir()?;
//! let store = TokenStore::new(dir.path().join("token"));
//! store.save("laptop", "hf_abc")?;
//! store.set_active("laptop")?;
//! assert_eq!(store.active_token()?.as_deref(), Some("hf_abc"));
//! assert_eq!(std::fs::read_to_string(dir.path().join("stored_tokens"))?, "[laptop]\nhf_token = hf_abc\n\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::HubError;
use crate::settings::Settings;

/// Largest stored-tokens or token file read: far above any real one, so a stray huge file is
/// refused before it is read into memory.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The key of a section's token.
const TOKEN_KEY: &str = "hf_token";

/// One section of the stored-tokens file.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// Every key of the section (`hf_token`, `refresh_token`, `expires_at`, …), keys in lower
    /// case as `configparser` reads them.
    pub fields: BTreeMap<String, String>,
}

impl StoredToken {
    /// The token (`hf_token`), if the section has one.
    pub fn token(&self) -> Option<&str> {
        self.fields.get(TOKEN_KEY).map(String::as_str)
    }

    /// `expires_at` (Unix seconds), if the section has a valid one.
    pub fn expires_at(&self) -> Option<i64> {
        self.fields.get("expires_at")?.trim().parse().ok()
    }
}

impl std::fmt::Debug for StoredToken {
    /// The keys only: values are secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredToken")
            .field("keys", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What [`TokenStore::stored`] found.
#[derive(Debug, Clone, Default)]
pub struct StoredTokens {
    /// The sections, by token name.
    pub tokens: BTreeMap<String, StoredToken>,
    /// Why the file was read as empty, when it could not be parsed (Python logs
    /// `Error parsing stored tokens file: …` and goes on likewise).
    pub parse_error: Option<String>,
}

/// The token files of one `HF_HOME` (or `HF_TOKEN_PATH`).
#[derive(Debug, Clone)]
pub struct TokenStore {
    token_path: PathBuf,
    stored_path: PathBuf,
}

impl TokenStore {
    /// The store whose active-token file is `token_path`; the stored tokens are in
    /// `stored_tokens` in the same folder.
    pub fn new(token_path: impl Into<PathBuf>) -> Self {
        let token_path = token_path.into();
        let stored_path = token_path
            .parent()
            .unwrap_or(Path::new("."))
            .join("stored_tokens");
        TokenStore {
            token_path,
            stored_path,
        }
    }

    /// The store of these settings ([`Settings::token_path`]).
    pub fn from_settings(settings: &Settings) -> Self {
        Self::new(&settings.token_path)
    }

    /// The active token's file.
    pub fn token_path(&self) -> &Path {
        &self.token_path
    }

    /// The stored tokens' file.
    pub fn stored_tokens_path(&self) -> &Path {
        &self.stored_path
    }

    /// The token in the active-token file (white space and line breaks removed), if any.
    pub fn active_token(&self) -> Result<Option<String>, HubError> {
        Ok(read_bounded(&self.token_path)?
            .map(|text| text.trim().replace(['\r', '\n'], ""))
            .filter(|t| !t.is_empty()))
    }

    /// The stored tokens.
    pub fn stored(&self) -> Result<StoredTokens, HubError> {
        let Some(text) = read_bounded(&self.stored_path)? else {
            return Ok(StoredTokens::default());
        };
        Ok(match parse_ini(&text) {
            Ok(tokens) => StoredTokens {
                tokens,
                parse_error: None,
            },
            Err(e) => StoredTokens {
                tokens: BTreeMap::new(),
                parse_error: Some(e),
            },
        })
    }

    /// Stores `token` under `name`, replacing that whole section (as Python does: a new login
    /// under the same name drops the old OAuth fields).
    pub fn save(&self, name: &str, token: &str) -> Result<(), HubError> {
        check_name(name)?;
        check_value(token)?;
        let mut stored = self.stored()?.tokens;
        let fields = BTreeMap::from([(TOKEN_KEY.to_owned(), token.to_owned())]);
        stored.insert(name.to_owned(), StoredToken { fields });
        self.write_stored(&stored)
    }

    /// Makes the stored token `name` the active one (writes it to the token file) and returns
    /// it. [`HubError::InvalidArgument`] when there is no such token.
    pub fn set_active(&self, name: &str) -> Result<String, HubError> {
        let stored = self.stored()?.tokens;
        let token = stored
            .get(name)
            .and_then(StoredToken::token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| HubError::InvalidArgument {
                name: "token name".into(),
                reason: format!(
                    "access token {name} not found in {}: `hubmix auth list` shows the stored ones",
                    self.stored_path.display()
                ),
            })?
            .to_owned();
        write_secret(&self.token_path, token.as_bytes())?;
        Ok(token)
    }

    /// Removes the stored token `name` (nothing when there is none), and the active-token file
    /// when it held that token. Returns whether the active token was removed.
    pub fn remove(&self, name: &str) -> Result<bool, HubError> {
        let mut stored = self.stored()?.tokens;
        let Some(removed) = stored.remove(name) else {
            return Ok(false);
        };
        self.write_stored(&stored)?;
        let was_active = removed.token().is_some() && removed.token() == self.active_token()?.as_deref();
        if was_active {
            remove_file(&self.token_path)?;
        }
        Ok(was_active)
    }

    /// Removes both files (what is not there is not an error).
    pub fn remove_all(&self) -> Result<(), HubError> {
        remove_file(&self.token_path)?;
        remove_file(&self.stored_path)
    }

    fn write_stored(&self, stored: &BTreeMap<String, StoredToken>) -> Result<(), HubError> {
        write_secret(&self.stored_path, render_ini(stored).as_bytes())
    }
}

/// A section name the INI file can hold and read back.
fn check_name(name: &str) -> Result<(), HubError> {
    let bad = |reason: &str| HubError::InvalidArgument {
        name: "token name".into(),
        reason: format!("{name:?} {reason}"),
    };
    if name.trim().is_empty() || name.trim() != name {
        return Err(bad("is empty or starts or ends with white space"));
    }
    if name.chars().any(char::is_control) || name.eq_ignore_ascii_case("default") {
        return Err(bad("has a control character or is DEFAULT"));
    }
    Ok(())
}

/// A value the INI file can hold and read back.
fn check_value(value: &str) -> Result<(), HubError> {
    if value.is_empty() || value.trim() != value || value.chars().any(char::is_control) {
        return Err(HubError::InvalidArgument {
            name: "token".into(),
            reason: "a token is one line of visible characters".into(),
        });
    }
    Ok(())
}

/// The file's text, `None` when it does not exist; larger than [`MAX_FILE_BYTES`] or not UTF-8
/// is an error.
fn read_bounded(path: &Path) -> Result<Option<String>, HubError> {
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(HubError::io("reading", path)(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(HubError::io("reading", path))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(HubError::InvalidSetting {
            name: path.display().to_string(),
            reason: format!("larger than {MAX_FILE_BYTES} bytes, so not a token file: remove it"),
        });
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| HubError::InvalidSetting {
            name: path.display().to_string(),
            reason: "not UTF-8 text: remove it and log in again".into(),
        })
}

fn remove_file(path: &Path) -> Result<(), HubError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(HubError::io("removing", path)(e)),
        _ => Ok(()),
    }
}

/// Writes a secret file as Python's `_write_secret`: the folder created `0700`, the file `0600`
/// (both set again afterwards), through a temporary file and a rename.
fn write_secret(path: &Path, content: &[u8]) -> Result<(), HubError> {
    use std::io::Write;
    let parent = path.parent().unwrap_or(Path::new("."));
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(parent).map_err(HubError::io("creating", parent))?;
    let temp = parent.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("secret"),
        crate::files::random_suffix()
    ));
    let mut options = fs::File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = (|| {
        let mut f = options.open(&temp)?;
        f.write_all(content)?;
        f.sync_all()?;
        fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(HubError::io("writing", path)(e));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Best effort, as in Python: a folder owned by someone else keeps its mode.
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o600));
        let _ = fs::set_permissions(parent, fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

/// `configparser.write`: sections in order, `key = value`, a blank line after each section.
fn render_ini(stored: &BTreeMap<String, StoredToken>) -> String {
    let mut out = String::new();
    for (name, section) in stored {
        out.push_str(&format!("[{name}]\n"));
        for (key, value) in &section.fields {
            out.push_str(&format!("{key} = {}\n", value.replace('\n', "\n\t")));
        }
        out.push('\n');
    }
    out
}

/// Reads an INI file as Python's `configparser` (strict, no interpolation) does for the files
/// it writes: `[section]` headers, `key = value` or `key: value` (keys in lower case), full-line
/// `#` / `;` comments, indented continuation lines, a `[DEFAULT]` section whose keys every
/// section inherits. A duplicate section or key, or a key before any section, is an error.
fn parse_ini(text: &str) -> Result<BTreeMap<String, StoredToken>, String> {
    let mut defaults: BTreeMap<String, String> = BTreeMap::new();
    let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    // The section being read (`None` for DEFAULT) and its last key, for continuation lines.
    let mut current: Option<Option<String>> = None;
    let mut last_key: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let stripped = line.trim_start();
        if stripped.is_empty() || stripped.starts_with('#') || stripped.starts_with(';') {
            if stripped.is_empty() {
                last_key = None;
            }
            continue;
        }
        let indented = stripped.len() < line.len();
        let section = |current: &Option<Option<String>>| -> Result<Option<String>, String> {
            current
                .clone()
                .ok_or_else(|| format!("line {}: a key before any [section]", n + 1))
        };
        if indented && let Some(key) = &last_key {
            let name = section(&current)?;
            let fields = match &name {
                Some(s) => sections.entry(s.clone()).or_default(),
                None => &mut defaults,
            };
            if let Some(value) = fields.get_mut(key) {
                value.push('\n');
                value.push_str(stripped);
            }
            continue;
        }
        if let Some(header) = stripped.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            if header == "DEFAULT" {
                current = Some(None);
            } else {
                if sections.contains_key(header) {
                    return Err(format!("line {}: section {header:?} appears twice", n + 1));
                }
                sections.insert(header.to_owned(), BTreeMap::new());
                current = Some(Some(header.to_owned()));
            }
            last_key = None;
            continue;
        }
        let name = section(&current)?;
        let split = stripped
            .find(['=', ':'])
            .ok_or_else(|| format!("line {}: neither a [section] nor key = value", n + 1))?;
        let key = stripped[..split].trim().to_lowercase();
        let value = stripped[split + 1..].trim().to_owned();
        let fields = match &name {
            Some(s) => sections.entry(s.clone()).or_default(),
            None => &mut defaults,
        };
        if fields.insert(key.clone(), value).is_some() {
            return Err(format!(
                "line {}: key {key:?} appears twice in its section",
                n + 1
            ));
        }
        last_key = Some(key);
    }
    Ok(sections
        .into_iter()
        .map(|(name, own)| {
            let mut fields = defaults.clone();
            fields.extend(own);
            (name, StoredToken { fields })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ini_file_reads_as_configparser_reads_it() {
        let text = "# comment\n[b-tok]\nhf_token = hf_b\n\n[a tok]\nHF_TOKEN: hf_a\nrefresh_token = r\n  more\nexpires_at = 17\n\n";
        let parsed = parse_ini(text).unwrap();
        assert_eq!(parsed.keys().collect::<Vec<_>>(), ["a tok", "b-tok"]);
        assert_eq!(parsed["a tok"].token(), Some("hf_a"));
        assert_eq!(parsed["a tok"].fields["refresh_token"], "r\nmore");
        assert_eq!(parsed["a tok"].expires_at(), Some(17));
        assert_eq!(parsed["b-tok"].token(), Some("hf_b"));
        // Written back in Python's layout, continuation lines included.
        assert_eq!(
            render_ini(&parsed),
            "[a tok]\nexpires_at = 17\nhf_token = hf_a\nrefresh_token = r\n\tmore\n\n[b-tok]\nhf_token = hf_b\n\n"
        );
        assert_eq!(parse_ini(&render_ini(&parsed)).unwrap(), parsed);
        let with_defaults = parse_ini("[DEFAULT]\nx = 1\n[t]\nhf_token = a\n").unwrap();
        assert_eq!(with_defaults["t"].fields["x"], "1");
        for bad in [
            "hf_token = a\n",
            "[a]\nx=1\n[a]\n",
            "[a]\nx=1\nx=2\n",
            "[a]\njunk\n",
        ] {
            assert!(parse_ini(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn login_switch_logout() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("home/token"));
        assert!(store.active_token().unwrap().is_none());
        assert!(store.stored().unwrap().tokens.is_empty());
        store.save("one", "hf_1").unwrap();
        store.save("two", "hf_2").unwrap();
        assert_eq!(store.set_active("one").unwrap(), "hf_1");
        assert_eq!(store.active_token().unwrap().as_deref(), Some("hf_1"));
        assert!(matches!(
            store.set_active("three"),
            Err(HubError::InvalidArgument { .. })
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(store.token_path()), 0o600);
            assert_eq!(mode(store.stored_tokens_path()), 0o600);
            assert_eq!(mode(&dir.path().join("home")), 0o700);
        }
        assert!(!store.remove("two").unwrap(), "two was not active");
        assert!(!store.remove("nope").unwrap());
        assert!(store.remove("one").unwrap());
        assert!(store.active_token().unwrap().is_none());
        assert_eq!(fs::read_to_string(store.stored_tokens_path()).unwrap(), "");
        store.remove_all().unwrap();
        store.remove_all().unwrap();
        assert!(store.save("bad\nname", "x").is_err());
        assert!(store.save("ok", "two words\n").is_err());
    }

    #[test]
    fn an_unparsable_file_reads_as_empty_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("token"));
        fs::write(store.stored_tokens_path(), "garbage\n").unwrap();
        let stored = store.stored().unwrap();
        assert!(stored.tokens.is_empty());
        assert!(stored.parse_error.unwrap().contains("line 1"));
        // A new login overwrites it.
        store.save("t", "hf_t").unwrap();
        assert_eq!(store.stored().unwrap().tokens["t"].token(), Some("hf_t"));
    }
}
