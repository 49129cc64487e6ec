//! Integration tests of `hubmix-server`, through HTTP: API behaviour, refusals of bad input,
//! crash safety of the real binary, and concurrent commits. One test binary, one server (and
//! one temporary root) per test.

mod api;
mod bad_input;
mod concurrency;
mod crash;
mod gc;
mod listings;
mod schema;
mod support;
