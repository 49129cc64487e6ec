//! End-to-end tests of the `hubmix` binary against an in-process hubmix-server, side by side with
//! the real Python `hf` (`huggingface_hub` 2.4.0 in a venv the harness builds; outside CI a
//! missing Python skips those tests, under `CI=true` it fails them).

#[path = "cli/auth.rs"]
mod auth;
#[path = "cli/basics.rs"]
mod basics;
#[path = "cli/cache.rs"]
mod cache;
#[path = "cli/cache_verify.rs"]
mod cache_verify;
#[path = "cli/checkpoints.rs"]
mod checkpoints;
#[path = "cli/errors.rs"]
mod errors;
// Sends SIGTERM: Unix only.
#[cfg(unix)]
#[path = "cli/every.rs"]
mod every;
#[path = "cli/local_dir.rs"]
mod local_dir;
#[path = "cli/models.rs"]
mod models;
#[path = "cli/repos.rs"]
mod repos;
#[path = "cli/support.rs"]
mod support;
#[path = "cli/transfer.rs"]
mod transfer;
