//! Workspace-level end-to-end tests.

mod cache_compat;
mod python;
