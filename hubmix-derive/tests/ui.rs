//! trybuild UI tests: every compile error `#[derive(HubModel)]` emits (`tests/ui/*.rs`, with the
//! expected compiler output in `*.stderr`), and a few programs that must build and run
//! (`tests/pass/*.rs`). The compiler's wording is pinned by `rust-toolchain.toml`; after an
//! intended change of a message, regenerate with `TRYBUILD=overwrite cargo test -p hubmix-derive
//! --test ui` and read every changed `.stderr`.

#[test]
fn ui() {
    let tests = trybuild::TestCases::new();
    tests.pass("tests/pass/*.rs");
    tests.compile_fail("tests/ui/*.rs");
}
