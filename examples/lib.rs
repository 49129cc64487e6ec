//! What the examples share: a hub to talk to, and the Burn models of transformers'
//! architectures ([`transformers`]) that the `bert` and `gpt2` examples run.
//!
//! The hub ([`hub`]): with `HF_ENDPOINT` set, the examples use that hub (and `HF_TOKEN`);
//! otherwise they start an embedded `hubmix-server` on a temporary folder, so they run anywhere,
//! offline.

pub mod transformers;

use std::error::Error;

use hubmix::HubClient;
use hubmix_server::{Role, RunningServer, ServerConfig};

/// The user and token of the embedded hub.
const DEMO_USER: &str = "demo";
const DEMO_TOKEN: &str = "hf_demo_write_token";

/// A hub for an example: a client, the namespace to push to, and (when embedded) the running
/// server and its folder, which live as long as this value.
pub struct ExampleHub {
    /// A client of the hub, with a write token.
    pub client: HubClient,
    /// The namespace the token can write to.
    pub namespace: String,
    _server: Option<RunningServer>,
    _dir: Option<tempfile::TempDir>,
}

/// The hub named by `HF_ENDPOINT`, or an embedded one.
pub fn hub() -> Result<ExampleHub, Box<dyn Error>> {
    if let Ok(endpoint) = std::env::var("HF_ENDPOINT") {
        let client = HubClient::new()?;
        let namespace = client.whoami()?.name;
        println!("Using the hub at {endpoint} as {namespace} (HF_ENDPOINT).");
        return Ok(ExampleHub {
            client,
            namespace,
            _server: None,
            _dir: None,
        });
    }
    let dir = tempfile::tempdir()?;
    let server = hubmix_server::spawn(ServerConfig::new(dir.path().join("hub")).user(
        DEMO_USER,
        DEMO_TOKEN,
        Role::Write,
    ))?;
    let client = HubClient::builder()
        .endpoint(server.url())
        .token(DEMO_TOKEN)
        .cache_dir(dir.path().join("cache"))
        .build()?;
    println!(
        "Started an embedded hubmix-server at {} (data in {}); set HF_ENDPOINT to use another hub.",
        server.url(),
        dir.path().display()
    );
    Ok(ExampleHub {
        client,
        namespace: DEMO_USER.to_owned(),
        _server: Some(server),
        _dir: Some(dir),
    })
}
