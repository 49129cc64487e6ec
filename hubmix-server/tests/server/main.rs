//! Integration tests of `hubmix-server`, through HTTP: API behaviour, refusals of bad input,
//! crash safety of the real binary, concurrent commits, slow peers, connection caps, graceful
//! shutdown, and hostile input against its release build. One test binary, one server (and one
//! temporary root) per test.

mod api;
mod bad_input;
mod concurrency;
mod crash;
#[cfg(target_os = "linux")]
mod hostile;
mod slow_peers;
mod support;
