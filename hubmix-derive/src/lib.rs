//! `#[derive(HubModel)]` for Burn modules.
