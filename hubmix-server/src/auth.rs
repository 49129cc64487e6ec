//! Who is calling, and what they may do: tokens, users, organisations.
//!
//! Users and organisations are namespaces. A user may read and (with a write token) write their
//! own namespace and those of the organisations they belong to. Public repositories are readable
//! by anyone, anonymous callers included; private ones are invisible to everybody else.
//!
//! The server keeps only the SHA-256 of each token ([`TokenDigest`]), whether it was configured
//! as the token or as `sha256:<hex>`, and finds a caller by the digest of the token they send:
//! no comparison runs over the token's bytes, so its timing tells nothing about a token.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use axum::http::HeaderMap;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read public repositories and the private ones of the user's namespaces.
    Read,
    /// Also create, change and delete repositories in the user's namespaces.
    Write,
}

impl Role {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
        }
    }
}

/// The prefix of a token given by its hash: `sha256:` and 64 hex digits.
pub(crate) const TOKEN_HASH_PREFIX: &str = "sha256:";

/// The SHA-256 of an access token: all the server keeps of it. Its `Debug` shows nothing of it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of `token`, as sent in `Authorization: Bearer <token>`.
    pub(crate) fn of_token(token: &str) -> Self {
        TokenDigest(Sha256::digest(token.as_bytes()).into())
    }

    /// The digest a configured token stands for: `sha256:<64 hex digits>` is the digest itself
    /// (as `printf %s "$TOKEN" | sha256sum` prints it), anything else the token in plain text.
    pub(crate) fn configured(token: &str) -> Self {
        Self::parse_hash(token).unwrap_or_else(|| Self::of_token(token))
    }

    /// `sha256:<64 hex digits>` as a digest.
    fn parse_hash(text: &str) -> Option<Self> {
        let hex = text.strip_prefix(TOKEN_HASH_PREFIX)?;
        let mut digest = [0u8; 32];
        hex::decode_to_slice(hex, &mut digest).ok()?;
        Some(TokenDigest(digest))
    }
}

/// A configured token that starts with `sha256:` but does not go on with the 64 hex digits of
/// a SHA-256: a typo there would otherwise silently make a plain-text token nobody has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a token hash is sha256: followed by the 64 hex digits of the token's SHA-256 (printf %s \"$TOKEN\" | sha256sum)"
)]
pub struct InvalidTokenHash;

/// Checks a token as configured (for [`ServerConfig::user`](crate::ServerConfig::user), in the
/// auth file or with `--token`): a plain token, or `sha256:` and 64 hex digits.
pub fn check_configured_token(token: &str) -> Result<(), InvalidTokenHash> {
    if token.starts_with(TOKEN_HASH_PREFIX) && TokenDigest::parse_hash(token).is_none() {
        return Err(InvalidTokenHash);
    }
    Ok(())
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenDigest(<redacted>)")
    }
}

/// One access token: who it belongs to and what it may do. Holds the token's digest only.
#[derive(Debug, Clone)]
pub(crate) struct TokenGrant {
    pub user: String,
    pub token: TokenDigest,
    pub role: Role,
}

/// Which configured token a caller used (for the per-token write limit): an index below
/// [`Auth::token_count`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenId(pub usize);

/// An authenticated caller.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub user: String,
    pub role: Role,
    pub token: TokenId,
}

/// The token table (by digest) and organisation membership.
#[derive(Debug)]
pub(crate) struct Auth {
    tokens: HashMap<TokenDigest, Principal>,
    orgs: BTreeMap<String, BTreeSet<String>>,
}

impl Auth {
    pub(crate) fn new(grants: &[TokenGrant], orgs: &BTreeMap<String, Vec<String>>) -> Self {
        let mut tokens: HashMap<TokenDigest, Principal> = HashMap::new();
        for g in grants {
            // The same token given twice belongs to the last grant (as it always did).
            let id = tokens.get(&g.token).map_or(TokenId(tokens.len()), |p| p.token);
            tokens.insert(
                g.token,
                Principal {
                    user: g.user.clone(),
                    role: g.role,
                    token: id,
                },
            );
        }
        let orgs = orgs
            .iter()
            .map(|(name, members)| (name.clone(), members.iter().cloned().collect()))
            .collect();
        Auth { tokens, orgs }
    }

    /// How many distinct tokens there are: every [`TokenId`] is below it.
    pub(crate) fn token_count(&self) -> usize {
        self.tokens.len()
    }

    /// The caller named by the `Authorization: Bearer` header; `None` when anonymous. A token
    /// the server does not know is an error, as on huggingface.co.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Result<Option<Principal>, ApiError> {
        let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
            return Ok(None);
        };
        let value = value.to_str().map_err(|_| ApiError::InvalidCredentials)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(ApiError::InvalidCredentials)?
            .trim();
        self.tokens
            .get(&TokenDigest::of_token(token))
            .cloned()
            .map(Some)
            .ok_or(ApiError::InvalidCredentials)
    }

    /// Whether `user` is `namespace` itself or a member of that organisation.
    pub(crate) fn is_member(&self, user: &str, namespace: &str) -> bool {
        user == namespace || self.orgs.get(namespace).is_some_and(|m| m.contains(user))
    }

    /// Organisations `user` belongs to.
    pub(crate) fn orgs_of(&self, user: &str) -> Vec<String> {
        self.orgs
            .iter()
            .filter(|(_, m)| m.contains(user))
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Whether `who` may see a repository in `namespace` that is `private` or not.
    pub(crate) fn can_read(&self, who: Option<&Principal>, namespace: &str, private: bool) -> bool {
        !private || who.is_some_and(|p| self.is_member(&p.user, namespace))
    }

    /// Checks that `who` may contribute to a repository it can see — upload LFS objects, open
    /// a pull request, add to its own: any caller with a write token.
    pub(crate) fn check_contributor<'a>(
        &self,
        who: Option<&'a Principal>,
    ) -> Result<&'a Principal, ApiError> {
        let p = who.ok_or_else(|| {
            ApiError::Unauthorized("a write token is needed: send `Authorization: Bearer <token>`".into())
        })?;
        if p.role != Role::Write {
            return Err(ApiError::Forbidden(
                "this token is read-only: use a token with the write role".into(),
            ));
        }
        Ok(p)
    }

    /// Checks that `who` may write to `namespace`, with an error that says what is missing.
    pub(crate) fn check_write(&self, who: Option<&Principal>, namespace: &str) -> Result<(), ApiError> {
        let Some(p) = who else {
            return Err(ApiError::Unauthorized(
                "a write token is needed: send `Authorization: Bearer <token>`".into(),
            ));
        };
        if !self.is_member(&p.user, namespace) {
            return Err(ApiError::Forbidden(format!(
                "user {} cannot write to namespace {namespace}",
                p.user
            )));
        }
        if p.role != Role::Write {
            return Err(ApiError::Forbidden(
                "this token is read-only: use a token with the write role".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Bearer {token}").parse().expect("header value");
        headers.insert(axum::http::header::AUTHORIZATION, value);
        headers
    }

    #[test]
    fn tokens_given_by_hash_authenticate() {
        // printf %s hf_secret | sha256sum
        let hash = "sha256:108bb086b4d27560850369270e94c892a27977da0772782a127962c0569b202e";
        let digest = TokenDigest::of_token("hf_secret");
        assert_eq!(format!("sha256:{}", hex::encode(digest.0)), hash);
        let upper = format!("sha256:{}", hex::encode_upper(digest.0));
        let grants = [
            TokenGrant {
                user: "alice".into(),
                token: TokenDigest::configured(hash),
                role: Role::Write,
            },
            TokenGrant {
                user: "bob".into(),
                token: TokenDigest::configured(&upper),
                role: Role::Read,
            },
            TokenGrant {
                user: "carol".into(),
                token: TokenDigest::configured("hf_plain"),
                role: Role::Read,
            },
        ];
        let auth = Auth::new(&grants, &BTreeMap::new());
        // The same token given twice is one token, of the last grant.
        assert_eq!(auth.token_count(), 2);
        let who = auth.authenticate(&bearer("hf_secret")).unwrap().unwrap();
        assert_eq!((who.user.as_str(), who.token), ("bob", TokenId(0)));
        let carol = auth.authenticate(&bearer("hf_plain")).unwrap().unwrap();
        assert_eq!((carol.user.as_str(), carol.token), ("carol", TokenId(1)));
        // The hash itself is not a token.
        assert!(auth.authenticate(&bearer(hash)).is_err());
        assert!(!format!("{auth:?}").contains(&hash[7..]));

        assert!(check_configured_token(hash).is_ok());
        assert!(check_configured_token("hf_plain").is_ok());
        for bad in [
            "sha256:",
            "sha256:abc",
            &format!("{hash}0"),
            &hash.replace('8', "g"),
        ] {
            assert!(check_configured_token(bad).is_err(), "{bad}");
        }
    }
}
