//! Workspace-level end-to-end tests.

mod cache_compat;
mod hubmix_upload;
mod models;
mod python;
