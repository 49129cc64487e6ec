//! Runs the pytest suite in `tests/python` with real `huggingface_hub` releases against a
//! [`TestHub`], one test per client version, and 2.4.0 once more against a hub whose LFS files
//! come from its blob host (`ServerConfig::lfs_cdn`).
//!
//! Each test gets (or builds, once) a venv with the pinned client, starts a hub, and runs
//! `python -m pytest tests/python -q -rs -p no:cacheprovider` from the workspace root with
//! `HF_ENDPOINT`, an isolated `HF_HOME` and the test tokens in the environment. pytest's output is
//! streamed to stderr, line by line, prefixed with the client version.
//!
//! Outside CI a missing Python (no `python3`, no `venv` module, no PyPI access) skips the test with
//! a message. Under `CI=true` that is a failure, and so is any skipped pytest test.
//! `HUBMIX_PYTEST_ARGS` (whitespace-separated) is appended to the pytest command line, e.g.
//! `HUBMIX_PYTEST_ARGS="-k branch -x"`.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use hubmix_e2e::{
    ALICE_READ_TOKEN, ALICE_WRITE_TOKEN, BOB_WRITE_TOKEN, LFS_PART_SIZE, LFS_THRESHOLD, PAGE_SIZE, TestHub,
    in_ci, python_venv, venv_python,
};

/// Upper bound for one whole pytest run; pytest-timeout bounds single tests more tightly.
const SUITE_TIMEOUT: Duration = Duration::from_secs(20 * 60);

#[test]
fn huggingface_hub_2_4_0() {
    run_python_suite("2.4.0", Serving::Direct);
}

#[test]
fn huggingface_hub_0_20_3() {
    run_python_suite("0.20.3", Serving::Direct);
}

/// The suite once more with LFS files served by the blob host (a `302` to another port, as the
/// Hub redirects to its CDN), except the resume test, which cuts downloads with a proxy of its
/// own in front of the server (the redirect goes around it).
#[test]
fn huggingface_hub_2_4_0_with_the_blob_host() {
    run_python_suite("2.4.0", Serving::BlobHost);
}

/// How the hub under test serves LFS files.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Serving {
    /// From `/resolve/` itself.
    Direct,
    /// From the blob host, `ServerConfig::lfs_cdn`.
    BlobHost,
}

/// The workspace root, from which pytest is run (`tests/python` is relative to it).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent folder")
        .to_path_buf()
}

/// Whether an inherited environment variable could change how `huggingface_hub` behaves (token,
/// cache, offline mode, endpoint, …); those are removed so that only the harness's values apply.
fn is_client_setting(name: &OsStr) -> bool {
    let name = name.to_string_lossy().to_ascii_uppercase();
    ["HF_", "HUGGING_FACE", "HUGGINGFACE", "HUBMIX_"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || ["TRANSFORMERS_OFFLINE", "DISABLE_TELEMETRY", "DO_NOT_TRACK"].contains(&name.as_str())
}

/// Builds the venv, starts a hub, runs the suite and asserts that it passed.
fn run_python_suite(version: &str, serving: Serving) {
    let venv = match python_venv(Path::new(env!("CARGO_TARGET_TMPDIR")), version) {
        Ok(venv) => venv,
        Err(why) if !in_ci() => {
            // Straight to stderr, so that the reason shows although the test passes.
            let _ = writeln!(
                std::io::stderr().lock(),
                "SKIPPED huggingface_hub {version} suite: no usable Python venv: {why}"
            );
            return;
        }
        Err(why) => panic!("cannot create the Python venv for huggingface_hub {version}: {why}"),
    };
    let hub = TestHub::start_with(|c| c.lfs_cdn(serving == Serving::BlobHost));
    let hf_home = tempfile::Builder::new()
        .prefix("hubmix-hf-home-")
        .tempdir()
        .expect("create a temporary HF_HOME");

    let mut pytest = Command::new(venv_python(&venv));
    pytest
        .args([
            "-m",
            "pytest",
            "tests/python",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
        ])
        .args(match serving {
            Serving::Direct => &[][..],
            Serving::BlobHost => &["-k", "not test_resume_partial_download"][..],
        })
        .args(
            std::env::var("HUBMIX_PYTEST_ARGS")
                .unwrap_or_default()
                .split_whitespace(),
        )
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars_os().filter(|(name, _)| is_client_setting(name)) {
        pytest.env_remove(name);
    }
    pytest
        .env("HF_ENDPOINT", hub.url())
        .env("HF_HOME", hf_home.path())
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .env("HUBMIX_ALICE_WRITE", ALICE_WRITE_TOKEN)
        .env("HUBMIX_ALICE_READ", ALICE_READ_TOKEN)
        .env("HUBMIX_BOB_WRITE", BOB_WRITE_TOKEN)
        .env("HUBMIX_LFS_THRESHOLD", LFS_THRESHOLD.to_string())
        .env("HUBMIX_LFS_PART_SIZE", LFS_PART_SIZE.to_string())
        .env("HUBMIX_PAGE_SIZE", PAGE_SIZE.to_string())
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");

    let prefix = format!("[huggingface_hub {version}]");
    let mut child = pytest.spawn().expect("start pytest");
    let stdout = forward_lines(child.stdout.take().expect("piped stdout"), prefix.clone());
    let stderr = forward_lines(child.stderr.take().expect("piped stderr"), prefix.clone());

    let deadline = Instant::now() + SUITE_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for pytest") {
            break status;
        }
        if Instant::now() > deadline {
            // Only our own child is killed; the reader threads end when its pipes close.
            child.kill().expect("kill the pytest run");
            child.wait().expect("reap the pytest run");
            panic!("{prefix} pytest did not finish within {SUITE_TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(200));
    };
    let stdout = stdout.join().expect("stdout reader thread");
    stderr.join().expect("stderr reader thread");

    // pytest's closing line in -q mode, e.g. "41 passed, 1 skipped in 12.34s".
    let summary = stdout
        .iter()
        .rev()
        .map(|line| line.trim_matches(|c: char| c == '=' || c.is_whitespace()))
        .find(|line| !line.is_empty())
        .unwrap_or("(pytest printed nothing)")
        .to_owned();
    assert!(status.success(), "{prefix} pytest failed ({status}): {summary}");
    assert!(
        summary.contains(" passed"),
        "{prefix} pytest ran no test: {summary}"
    );
    if in_ci() {
        assert!(
            !summary.contains("skipped"),
            "{prefix} skipped tests are failures under CI: {summary}"
        );
    }
}

/// Copies `pipe` line by line to our stderr, each line prefixed, in a background thread that
/// returns the lines it saw. Writes go to the stderr handle directly (not through `eprintln!`),
/// so the output shows live even while the test harness captures printed output.
fn forward_lines(pipe: impl Read + Send + 'static, prefix: String) -> thread::JoinHandle<Vec<String>> {
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut lines = Vec::new();
        let mut buf = Vec::new();
        // Read raw bytes so that output that is not UTF-8 cannot stop the draining of the pipe.
        while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
            let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
            buf.clear();
            // A failed write to our own stderr must not stop the draining either.
            let _ = writeln!(std::io::stderr().lock(), "{prefix} {line}");
            lines.push(line);
        }
        lines
    })
}
