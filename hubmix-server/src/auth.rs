//! Who is calling, and what they may do: tokens, users, organisations.
//!
//! Users and organisations are namespaces. A user may read and (with a write token) write their
//! own namespace and those of the organisations they belong to. Public repositories are readable
//! by anyone, anonymous callers included; private ones are invisible to everybody else.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::http::HeaderMap;
use serde::Deserialize;

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

/// One access token: who it belongs to and what it may do.
#[derive(Debug, Clone)]
pub(crate) struct TokenGrant {
    pub user: String,
    pub token: String,
    pub role: Role,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub user: String,
    pub role: Role,
}

/// The token table and organisation membership.
#[derive(Debug)]
pub(crate) struct Auth {
    tokens: HashMap<String, Principal>,
    orgs: BTreeMap<String, BTreeSet<String>>,
}

impl Auth {
    pub(crate) fn new(grants: &[TokenGrant], orgs: &BTreeMap<String, Vec<String>>) -> Self {
        let tokens = grants
            .iter()
            .map(|g| {
                (
                    g.token.clone(),
                    Principal {
                        user: g.user.clone(),
                        role: g.role,
                    },
                )
            })
            .collect();
        let orgs = orgs
            .iter()
            .map(|(name, members)| (name.clone(), members.iter().cloned().collect()))
            .collect();
        Auth { tokens, orgs }
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
            .get(token)
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
