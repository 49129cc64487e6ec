//! Integration tests of the hubmix client against an in-process hubmix-server.

mod api;
mod download;
mod faults;
mod hostile;
mod proxy;
mod safetensors;
mod scheduler;
mod seed;
mod support;
mod upload;
