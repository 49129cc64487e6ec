//! `hubmix auth login | logout | whoami | list | switch | token`: the tokens stored where and as
//! Python's `huggingface_hub` stores them ([`hubmix_hub::auth::TokenStore`]), so a login with
//! `hubmix` is seen by `hf` and the reverse.

use std::io::{BufRead, IsTerminal, Read, Write};

use hubmix_hub::auth::{StoredToken, TokenStore};
use hubmix_hub::settings::{DEFAULT_ENDPOINT, TokenSource};
use hubmix_hub::{HubClient, HubError, Settings};
use serde_json::Value;

use crate::args::settings;
use crate::error::CliError;
use crate::output::{Mode, Output, tabulate};

/// Longest token read from stdin.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;

/// `hubmix auth …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AuthCommand {
    /// Log in: check a token with the Hub, store it and make it the active one.
    ///
    /// The token comes from --token, else from stdin when it is not a terminal (a hubmix
    /// addition: `hf` starts a browser login there), else it is asked for without echo.
    #[command(
        after_help = "Examples:\n  hubmix auth login\n  hubmix auth login --token hf_xxx\n  printenv MY_TOKEN | hubmix auth login"
    )]
    Login(LoginArgs),
    /// Log out: forget every stored token, or the one named.
    #[command(after_help = "Examples:\n  hubmix auth logout\n  hubmix auth logout --token-name laptop")]
    Logout(LogoutArgs),
    /// Show the account of the active token.
    #[command(after_help = "Examples:\n  hubmix auth whoami\n  hubmix auth whoami --format json")]
    Whoami,
    /// List the stored tokens; `*` marks the active one.
    #[command(visible_alias = "ls", after_help = "Example:\n  hubmix auth list")]
    List,
    /// Make another stored token the active one.
    #[command(after_help = "Examples:\n  hubmix auth switch --token-name work\n  hubmix auth switch")]
    Switch(SwitchArgs),
    /// Print the active token.
    #[command(after_help = "Example:\n  hubmix auth token")]
    Token,
}

/// `hubmix auth login` options.
#[derive(Debug, clap::Args)]
pub(crate) struct LoginArgs {
    /// The token (made in your Hub account's settings, under Access Tokens).
    #[arg(long)]
    token: Option<String>,
    /// Ask for a token even when one is set already.
    #[arg(long, overrides_with = "no_force")]
    force: bool,
    /// Opposite of --force (the default).
    #[arg(long, hide = true)]
    no_force: bool,
}

/// `hubmix auth logout` options.
#[derive(Debug, clap::Args)]
pub(crate) struct LogoutArgs {
    /// The stored token to forget (default: all of them).
    #[arg(long)]
    token_name: Option<String>,
}

/// `hubmix auth switch` options.
#[derive(Debug, clap::Args)]
pub(crate) struct SwitchArgs {
    /// The stored token to make active (default: choose from a list).
    #[arg(long)]
    token_name: Option<String>,
}

/// Runs an `auth` command.
pub(crate) fn run(command: AuthCommand, out: &Output) -> Result<(), CliError> {
    let settings = settings()?;
    let store = TokenStore::from_settings(&settings);
    match command {
        AuthCommand::Login(args) => login(args, out, &settings, &store),
        AuthCommand::Logout(args) => logout(args, out, &settings, &store),
        AuthCommand::Whoami => whoami(out, &settings),
        AuthCommand::List => list(out, &settings, &store),
        AuthCommand::Switch(args) => switch(args, out, &settings, &store),
        AuthCommand::Token => {
            let token = active(&settings)?;
            out.raw(&token);
            out.hint("Run `hubmix auth whoami` to see which account this token belongs to.");
            Ok(())
        }
    }
}

/// The token in force, or the `hf` error for none.
fn active(settings: &Settings) -> Result<String, CliError> {
    settings
        .token
        .as_ref()
        .map(|t| t.expose().to_owned())
        .ok_or_else(|| CliError::failed("Not logged in.", "Run `hubmix auth login` first."))
}

/// Whether `HF_TOKEN` (or the legacy variable) provides the token.
fn env_token(settings: &Settings) -> bool {
    matches!(settings.token_source, Some(TokenSource::Env(_)))
}

fn login(args: LoginArgs, out: &Output, settings: &Settings, store: &TokenStore) -> Result<(), CliError> {
    let token = match args.token {
        Some(token) => token,
        None if std::io::stdin().is_terminal() => {
            if out.mode() != Mode::Human {
                return Err(CliError::failed(
                    "`hubmix auth login` asks for the token, which --format json, agent or quiet cannot do.",
                    "Pass --token, or pipe the token on stdin.",
                ));
            }
            if settings.token.is_some() && !args.force {
                out.info("User is already logged in. Use `hubmix auth login --force` to force re-login.");
                return Ok(());
            }
            out.info(
                "To log in, paste a token from https://huggingface.co/settings/tokens (or from your Hub).",
            );
            rpassword::prompt_password("Enter your token (input will not be visible): ").map_err(|e| {
                CliError::failed(format!("Cannot read the token: {e}."), "Pass --token instead.")
            })?
        }
        None => {
            let mut text = String::new();
            std::io::stdin()
                .take(MAX_TOKEN_BYTES)
                .read_to_string(&mut text)
                .map_err(|e| {
                    CliError::failed(
                        format!("Cannot read the token from stdin: {e}."),
                        "Pass --token instead.",
                    )
                })?;
            text.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or_default()
                .to_owned()
        }
    };
    let token = token.trim().to_owned();
    if token.is_empty() {
        return Err(CliError::failed(
            "No token given.",
            "Pass --token, or pipe the token on stdin.",
        ));
    }
    if token.starts_with("api_org") {
        return Err(CliError::failed(
            "Invalid value. You must use your personal account token, not an organization token.",
            "Create a personal token in your account's settings.",
        ));
    }
    let client = HubClient::builder().token(&token).build()?;
    let me = match client.whoami() {
        Ok(me) => me,
        Err(HubError::Unauthorized { .. }) => {
            return Err(CliError::failed(
                "Invalid user token.",
                "Check the token (it may have been revoked), or create a new one.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let access = me.auth.access_token.clone().unwrap_or_default();
    if access.role.is_empty() {
        out.info("Token is valid.");
    } else {
        out.info(&format!("Token is valid (permission: {}).", access.role));
    }
    let name = if access.display_name.is_empty() {
        format!("oauth-{}", me.name)
    } else {
        access.display_name
    };
    store.save(&name, &token)?;
    out.info(&format!(
        "The token `{name}` has been saved to {}",
        store.stored_tokens_path().display()
    ));
    store.set_active(&name)?;
    out.info(&format!(
        "Your token has been saved to {}",
        store.token_path().display()
    ));
    out.info("Login successful.");
    if env_token(settings) {
        out.info("Note: Environment variable `HF_TOKEN` is set and is the current active token independently from the token you've just configured.");
    } else {
        out.info(&format!("The current active token is: `{name}`"));
    }
    Ok(())
}

fn logout(args: LogoutArgs, out: &Output, settings: &Settings, store: &TokenStore) -> Result<(), CliError> {
    if settings.token.is_none() && store.stored()?.tokens.is_empty() {
        out.info("Not logged in!");
        return Ok(());
    }
    match args.token_name {
        None => {
            store.remove_all()?;
            out.info("Successfully logged out from all access tokens.");
        }
        Some(name) => {
            if store.remove(&name)? {
                out.info(&format!("Active token '{name}' has been deleted."));
            }
            out.info(&format!("Successfully logged out from access token: {name}."));
        }
    }
    if env_token(settings) {
        return Err(CliError::failed(
            "Token has been deleted from your machine but you are still logged in: HF_TOKEN is set.",
            "To log out, clear out both HF_TOKEN and HUGGING_FACE_HUB_TOKEN.",
        ));
    }
    Ok(())
}

fn whoami(out: &Output, settings: &Settings) -> Result<(), CliError> {
    active(settings)?;
    let me = HubClient::from_settings(settings.clone())?.whoami()?;
    let orgs: Vec<&str> = me.orgs.iter().map(|o| o.name.as_str()).collect();
    let endpoint = (settings.endpoint != DEFAULT_ENDPOINT).then(|| settings.endpoint.clone());
    out.result(
        "Logged in",
        &[
            ("user", Value::String(me.name.clone())),
            (
                "orgs",
                if orgs.is_empty() {
                    Value::Null
                } else {
                    Value::String(orgs.join(","))
                },
            ),
            ("endpoint", endpoint.map_or(Value::Null, Value::String)),
        ],
    );
    Ok(())
}

/// `tok[:3] + "****" + tok[-4:]`, as `hf auth list` shows a token.
fn masked(token: &str) -> String {
    let chars: Vec<char> = token.chars().collect();
    let head: String = chars.iter().take(3).collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("{head}****{tail}")
}

/// `YYYY-MM-DD` (UTC; `hf` uses local time), ` (expired)` when past.
fn expiration(token: &StoredToken) -> String {
    let Some(at) = token.expires_at() else {
        return String::new();
    };
    let days = at.div_euclid(86_400);
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let date = format!("{year:04}-{month:02}-{day:02}");
    if at < now {
        format!("{date} (expired)")
    } else {
        date
    }
}

fn list(out: &Output, settings: &Settings, store: &TokenStore) -> Result<(), CliError> {
    let stored = store.stored()?;
    if let Some(why) = &stored.parse_error {
        out.warning(&format!("Error parsing stored tokens file: {why}"));
    }
    let current = settings.token.as_ref().map(|t| t.expose());
    if stored.tokens.is_empty() {
        if env_token(settings) {
            out.info("No stored access tokens found.");
            out.info("Note: Environment variable `HF_TOKEN` is set and is the current active token.");
        } else {
            out.info("No access tokens found.");
        }
        return Ok(());
    }
    let expires = stored
        .tokens
        .values()
        .any(|t| t.fields.contains_key("expires_at"));
    let mut headers = vec![" ", "name", "token"];
    if expires {
        headers.push("expires");
    }
    let mut any_active = false;
    let rows: Vec<Vec<String>> = stored
        .tokens
        .iter()
        .map(|(name, token)| {
            let value = token.token().unwrap_or("<not set>");
            let is_active = current == Some(value);
            any_active |= is_active;
            let mut row = vec![
                if is_active { "*" } else { "" }.to_owned(),
                name.clone(),
                if token.token().is_some() {
                    masked(value)
                } else {
                    value.to_owned()
                },
            ];
            if expires {
                row.push(expiration(token));
            }
            row
        })
        .collect();
    out.raw(&tabulate(&headers, &rows, &[]));
    if env_token(settings) {
        out.info("\nNote: Environment variable `HF_TOKEN` is set and is the current active token independently from the stored tokens listed above.");
    } else if !any_active {
        out.info("\nNote: No active token is set and no environment variable `HF_TOKEN` is found. Use `hubmix auth login` to log in.");
    }
    Ok(())
}

fn switch(args: SwitchArgs, out: &Output, settings: &Settings, store: &TokenStore) -> Result<(), CliError> {
    let name = match args.token_name {
        Some(name) => name,
        None => {
            let names: Vec<String> = store.stored()?.tokens.into_keys().collect();
            if names.is_empty() {
                out.info("No stored tokens found. Please login first.");
                out.text("No token name provided. Aborting.");
                return Ok(());
            }
            if out.mode() != Mode::Human {
                return Err(CliError::failed(
                    "Use --token-name to select a token in non-interactive mode.",
                    "`hubmix auth list` shows the stored tokens.",
                ));
            }
            choose(&names)?
        }
    };
    let token = store.set_active(&name).map_err(|e| match e {
        HubError::InvalidArgument { .. } => CliError::failed(
            format!(
                "Access token {name} not found in {}.",
                store.stored_tokens_path().display()
            ),
            "`hubmix auth list` shows the stored tokens.",
        ),
        other => other.into(),
    })?;
    out.info(&format!(
        "Your token has been saved to {}",
        store.token_path().display()
    ));
    out.info(&format!("The current active token is: {name}"));
    if env_token(settings) && settings.token.as_ref().map(|t| t.expose()) != Some(token.as_str()) {
        out.warning("The environment variable `HF_TOKEN` is set and will override the access token you've just switched to.");
    }
    Ok(())
}

/// Asks for one of `names` by number on stdin (`hf`'s fallback prompt).
fn choose(names: &[String]) -> Result<String, CliError> {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "? Select a token to switch to:");
    for (i, name) in names.iter().enumerate() {
        let _ = writeln!(err, "  {}. {name}", i + 1);
    }
    let _ = write!(err, "Choice [1]: ");
    let _ = err.flush();
    let mut line = String::new();
    let read = std::io::stdin()
        .lock()
        .take(4096)
        .read_line(&mut line)
        .map_err(|_| CliError::Aborted)?;
    if read == 0 {
        return Err(CliError::Aborted);
    }
    let choice = line.trim();
    let index = if choice.is_empty() {
        Ok(1)
    } else {
        choice.parse::<usize>()
    };
    match index {
        Ok(i) if (1..=names.len()).contains(&i) => Ok(names[i - 1].clone()),
        _ => Err(CliError::failed(
            format!("'{choice}' is not one of the choices 1 to {}.", names.len()),
            "Run the command again, or pass --token-name.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_show_as_hf_shows_them() {
        assert_eq!(masked("hf_alice0000"), "hf_****0000");
        assert_eq!(masked("ab"), "ab****ab");
        let token = |at: &str| StoredToken {
            fields: [("expires_at".to_owned(), at.to_owned())].into(),
        };
        assert_eq!(
            expiration(&token("1796312123")),
            "2026-12-03 (expired)".replace(
                " (expired)",
                if 1796312123
                    < std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_secs()
                {
                    " (expired)"
                } else {
                    ""
                }
            )
        );
        assert_eq!(expiration(&token("4102444800")), "2100-01-01");
        assert_eq!(expiration(&token("junk")), "");
    }
}
