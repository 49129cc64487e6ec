//! How the client talks to the Hub: one HTTP agent ([`http`]) with one retry policy
//! ([`retry`]), bounded parallelism ([`parallel`]) and progress bars ([`progress`]). It knows
//! nothing of models.

pub(crate) mod http;
pub(crate) mod parallel;
pub(crate) mod progress;
pub(crate) mod retry;
