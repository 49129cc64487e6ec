//! Integration tests of `hubmix-server`, through HTTP: API behaviour, refusals of bad input,
//! crash safety of the real binary, concurrent commits, multipart uploads, slow peers,
//! connection caps and graceful shutdown, listings, garbage collection, the database schema, the limits (sizes,
//! rates, signed URLs, secrets), the byte counters, and hostile input against the release build. One test binary,
//! one server (and one temporary root) per test.

mod api;
mod bad_input;
mod concurrency;
mod crash;
mod gc;
#[cfg(target_os = "linux")]
mod hostile;
mod limits;
mod listings;
mod multipart;
mod schema;
mod slow_peers;
mod stats;
mod support;
