//! `GET /api/agent-harnesses` (`hub-protocol.md` §3.7): what `huggingface_hub` 2.x asks to name
//! the coding agent it runs under in its user-agent.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The agent harnesses the Hub knows. A server without detection answers both empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentHarnesses {
    /// Environment variables that name the agent in use (`AI_AGENT`).
    #[serde(default)]
    pub standard_env_vars: Vec<String>,
    /// The harnesses, by name, as the Hub describes them.
    #[serde(default)]
    pub harnesses: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_neutral_answer() {
        assert_eq!(
            serde_json::to_value(AgentHarnesses::default()).unwrap(),
            json!({"standardEnvVars": [], "harnesses": {}})
        );
        let read: AgentHarnesses = serde_json::from_value(
            json!({"standardEnvVars": ["AI_AGENT"], "harnesses": {"x": {"envVars": ["X"]}}}),
        )
        .unwrap();
        assert_eq!(read.standard_env_vars, ["AI_AGENT"]);
        assert_eq!(read.harnesses["x"]["envVars"][0], "X");
    }
}
