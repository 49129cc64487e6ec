//! Integration tests of the hubmix client against an in-process hubmix-server.

mod support;
