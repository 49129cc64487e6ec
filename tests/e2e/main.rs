//! Workspace-level end-to-end tests.

mod python;
