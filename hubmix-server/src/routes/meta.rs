//! Calls about the caller and the server itself: whoami, YAML validation, agent harnesses, Xet.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use serde_json::json;

use super::{Ctx, json, read_body};
use crate::app::App;
use crate::error::ApiError;

/// `GET /api/whoami-v2`: who the token belongs to.
pub fn whoami(app: &Arc<App>, ctx: &Ctx) -> Result<Response, ApiError> {
    let user = ctx.user()?;
    let role = ctx.who.as_ref().map(|p| p.role.as_str()).unwrap_or("read");
    let orgs: Vec<_> = app
        .auth
        .orgs_of(user)
        .into_iter()
        .map(|name| json!({"type": "org", "name": name, "fullname": name, "roleInOrg": role}))
        .collect();
    Ok(json(json!({
        "type": "user",
        "id": user,
        "name": user,
        "fullname": user,
        "email": null,
        "emailVerified": false,
        "canPay": false,
        "isPro": false,
        "periodEnd": null,
        "avatarUrl": "",
        "orgs": orgs,
        "auth": {
            "type": "access_token",
            "accessToken": {"displayName": "hubmix-server token", "role": role, "createdAt": "1970-01-01T00:00:00.000Z"}
        }
    })))
}

/// `GET /api/agent-harnesses`: the neutral answer (no harness detection).
pub fn agent_harnesses() -> Response {
    json(json!({"standardEnvVars": [], "harnesses": {}}))
}

/// `POST /api/validate-yaml`: checks that a model card's front matter is closed.
pub async fn validate_yaml(body: Body) -> Result<Response, ApiError> {
    #[derive(serde::Deserialize)]
    struct Req {
        content: String,
    }
    let bytes = read_body(body, super::MAX_JSON_BODY).await?;
    let req: Req = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    let mut errors = Vec::new();
    let text = req.content.replace("\r\n", "\n");
    if let Some(rest) = text.strip_prefix("---\n")
        && !rest.lines().any(|l| l.trim_end() == "---")
    {
        errors.push(
            json!({"message": "the YAML front matter opened by '---' is never closed by a '---' line"}),
        );
    }
    let mut response = json(json!({"errors": errors, "warnings": []}));
    if !errors.is_empty() {
        *response.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

/// The answer to the Xet token endpoints: this server stores files itself.
pub fn xet_unsupported() -> ApiError {
    ApiError::NotImplemented(
        "Xet storage is not supported by this server: set HF_HUB_DISABLE_XET=1 so that large files go through Git LFS".into(),
    )
}
