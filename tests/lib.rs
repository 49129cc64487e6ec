//! Shared helpers for the end-to-end tests.
//!
//! * [`TestHub`] runs an in-process `hubmix-server` on a loopback port, with a fixed cast of users
//!   and tokens (see the constants below), storing its data in a temporary folder.
//! * [`python_venv`] provides a cached Python virtual environment with a pinned `huggingface_hub`
//!   release and pytest, for the Python interoperability suite in `tests/python`.
//! * [`torch_venv`] provides one that also sees the system's PyTorch, for the model interop tests.
//! * [`transformers_venv`] provides one with the system's PyTorch and `transformers`, for the
//!   tests of transformers' checkpoints.
//! * [`mod@bench`] holds what the benchmark programs share.

pub mod bench;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use hubmix_server::{Role, RunningServer, ServerConfig};
use tempfile::TempDir;

/// Write token of user `alice` (member of the `team` organisation).
pub const ALICE_WRITE_TOKEN: &str = "hf_alice_write";
/// Read-only token of user `alice`.
pub const ALICE_READ_TOKEN: &str = "hf_alice_read";
/// Write token of user `bob` (not a member of `team`).
pub const BOB_WRITE_TOKEN: &str = "hf_bob_write";
/// Files of at least this many bytes are labelled `lfs` by the test hub's preupload endpoint.
pub const LFS_THRESHOLD: u64 = 1024 * 1024;
/// LFS objects larger than this are offered a multipart upload, in parts of this size.
pub const LFS_PART_SIZE: u64 = 4 * 1024 * 1024;
/// Number of entries per page of tree and commit listings on the test hub.
pub const PAGE_SIZE: usize = 50;

/// A running `hubmix-server` with test users, stopped (and its data deleted) when dropped.
///
/// Users: `alice` (tokens [`ALICE_WRITE_TOKEN`], [`ALICE_READ_TOKEN`]), `bob`
/// ([`BOB_WRITE_TOKEN`]); organisation `team` with member `alice`. Small [`LFS_THRESHOLD`],
/// [`LFS_PART_SIZE`] and [`PAGE_SIZE`] let modest test files exercise LFS, multipart uploads and
/// paging.
pub struct TestHub {
    // Field order matters: the server must stop before its data folder is removed.
    server: RunningServer,
    _data: TempDir,
}

impl TestHub {
    /// Starts a hub on `127.0.0.1` with a fresh, empty data folder.
    ///
    /// # Panics
    /// If the temporary folder cannot be created or the server fails to start.
    pub fn start() -> TestHub {
        Self::start_with(|config| config)
    }

    /// Like [`start`](Self::start), with the configuration changed by `configure` first.
    ///
    /// # Panics
    /// If the temporary folder cannot be created or the server fails to start.
    pub fn start_with(configure: impl FnOnce(ServerConfig) -> ServerConfig) -> TestHub {
        let data = tempfile::Builder::new()
            .prefix("hubmix-testhub-")
            .tempdir()
            .expect("create a temporary data folder for the test hub");
        let config = ServerConfig::new(data.path().to_path_buf())
            .user("alice", ALICE_WRITE_TOKEN, Role::Write)
            .user("alice", ALICE_READ_TOKEN, Role::Read)
            .user("bob", BOB_WRITE_TOKEN, Role::Write)
            .org("team", &["alice"])
            .lfs_threshold(LFS_THRESHOLD)
            .lfs_part_size(LFS_PART_SIZE)
            .page_size(PAGE_SIZE);
        let server = hubmix_server::spawn(configure(config)).expect("start hubmix-server");
        TestHub { server, _data: data }
    }

    /// Base URL of the hub, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// What the hub has sent so far (response-body bytes, responses by status class): a test
    /// measures a client's traffic as the difference around its call.
    pub fn stats(&self) -> &hubmix_server::Stats {
        self.server.stats()
    }
}

/// The environment of a Python script talking to `hub` as alice (write token) with its own
/// `HF_HOME` = `home`: Xet, telemetry and progress bars off; then `more`.
pub fn python_env<'a>(
    hub: &'a TestHub,
    home: &'a str,
    more: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("HF_ENDPOINT", hub.url()),
        ("HF_TOKEN", ALICE_WRITE_TOKEN),
        ("HF_HOME", home),
        ("HF_HUB_DISABLE_XET", "1"),
        ("HF_HUB_DISABLE_TELEMETRY", "1"),
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
    ];
    env.extend_from_slice(more);
    env
}

/// Name of the file written into a finished venv; it lists the installed requirements.
const VENV_READY_MARKER: &str = "hubmix-venv-ready.txt";

/// Returns a Python virtual environment under `cache_dir` with `huggingface_hub==<version>`,
/// pytest and pytest-timeout installed from PyPI, creating it on first use.
///
/// The venv lives in `<cache_dir>/venv-hf-<version>` (integration tests pass
/// `env!("CARGO_TARGET_TMPDIR")`), so it survives between runs. Creation is guarded by an
/// exclusive lock on `<cache_dir>/venv-hf-<version>.lock`, which serialises threads and processes
/// asking for the same venv. The venv counts as ready only once a marker file listing its
/// requirements has been written after a successful install and import check; a folder without
/// a matching marker (an interrupted or outdated build) is deleted and rebuilt. (A venv cannot
/// simply be built elsewhere and renamed into place: it embeds its absolute path.)
///
/// Returns the venv folder; its interpreter is [`venv_python`]. An `Err` explains what is
/// missing (no `python3`, no `venv` module, pip could not install, …).
pub fn python_venv(cache_dir: &Path, version: &str) -> Result<PathBuf, String> {
    let spec = VenvSpec {
        name: format!("venv-hf-{version}"),
        base_python: "python3",
        system_site_packages: false,
        requirements: vec![
            format!("huggingface_hub=={version}"),
            "pytest>=8,<10".to_owned(),
            "pytest-timeout>=2.3,<3".to_owned(),
        ],
        check: "import sys, huggingface_hub, pytest, pytest_timeout\n\
                assert huggingface_hub.__version__ == sys.argv[1], huggingface_hub.__version__",
        check_arg: version.to_owned(),
    };
    cached_venv(cache_dir, &spec)
}

/// The `huggingface_hub` release of the PyTorch venv ([`torch_venv`]).
pub const TORCH_VENV_HF_VERSION: &str = "2.4.0";

/// Returns a Python virtual environment under `cache_dir` that sees the system's PyTorch
/// (Debian's `python3-torch`, CPU) and has `huggingface_hub==2.4.0`, `safetensors` and `jinja2`
/// from PyPI, creating it on first use: `/usr/bin/python3 -m venv --system-site-packages`.
///
/// Cached, locked and marked like [`python_venv`], in `<cache_dir>/venv-torch-hf-2.4.0`. An
/// `Err` explains what is missing (no system PyTorch: `apt-get install python3-torch
/// python3-venv`; pip could not install; …).
pub fn torch_venv(cache_dir: &Path) -> Result<PathBuf, String> {
    let spec = VenvSpec {
        name: format!("venv-torch-hf-{TORCH_VENV_HF_VERSION}"),
        base_python: "/usr/bin/python3",
        system_site_packages: true,
        requirements: vec![
            format!("huggingface_hub=={TORCH_VENV_HF_VERSION}"),
            "safetensors".to_owned(),
            "jinja2".to_owned(),
        ],
        check: "import sys, torch, jinja2, safetensors.torch, huggingface_hub\n\
                from huggingface_hub import PyTorchModelHubMixin\n\
                assert huggingface_hub.__version__ == sys.argv[1], huggingface_hub.__version__",
        check_arg: TORCH_VENV_HF_VERSION.to_owned(),
    };
    cached_venv(cache_dir, &spec)
}

/// The `transformers` release of the transformers venv ([`transformers_venv`]): the newest that
/// works with Debian's PyTorch 1.13.
pub const TRANSFORMERS_VERSION: &str = "4.40.2";

/// Returns a Python virtual environment under `cache_dir` that sees the system's PyTorch (as
/// [`torch_venv`]) and has `transformers==4.40.2` from PyPI, with the `huggingface_hub` (below
/// 1.0) and `safetensors` it requires, and `jinja2` (for the model card of `push_to_hub`),
/// creating it on first use.
///
/// Cached, locked and marked like [`python_venv`], in `<cache_dir>/venv-transformers-4.40.2`
/// (its own venv: transformers pins another `huggingface_hub` than [`torch_venv`]). An `Err`
/// explains what is missing.
pub fn transformers_venv(cache_dir: &Path) -> Result<PathBuf, String> {
    let spec = VenvSpec {
        name: format!("venv-transformers-{TRANSFORMERS_VERSION}"),
        base_python: "/usr/bin/python3",
        system_site_packages: true,
        requirements: vec![
            format!("transformers=={TRANSFORMERS_VERSION}"),
            "jinja2".to_owned(),
        ],
        check: "import sys, torch, jinja2, safetensors.torch, transformers\n\
                from transformers import BertModel, GPT2Model\n\
                assert transformers.__version__ == sys.argv[1], transformers.__version__",
        check_arg: TRANSFORMERS_VERSION.to_owned(),
    };
    cached_venv(cache_dir, &spec)
}

/// The interpreter of a venv made by [`python_venv`], [`torch_venv`] or [`transformers_venv`].
pub fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// What a cached venv is made of.
struct VenvSpec {
    /// Its folder name under the cache folder (also names its lock file).
    name: String,
    /// The interpreter that creates it.
    base_python: &'static str,
    /// Whether it sees the base interpreter's packages (`--system-site-packages`).
    system_site_packages: bool,
    /// What pip installs into it (recorded in the ready marker).
    requirements: Vec<String>,
    /// A Python script that must succeed once installed, given `check_arg` as `sys.argv[1]`.
    check: &'static str,
    check_arg: String,
}

/// Builds (once) or reuses the venv `spec` under `cache_dir`; see [`python_venv`].
fn cached_venv(cache_dir: &Path, spec: &VenvSpec) -> Result<PathBuf, String> {
    fs::create_dir_all(cache_dir).map_err(|e| format!("cannot create {}: {e}", cache_dir.display()))?;
    let venv = cache_dir.join(&spec.name);
    let lock_path = cache_dir.join(format!("{}.lock", spec.name));
    let lock = File::create(&lock_path).map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;

    let marker = venv.join(VENV_READY_MARKER);
    let listed = spec.requirements.join("\n");
    if fs::read_to_string(&marker).is_ok_and(|found| found == listed) {
        return Ok(venv);
    }
    if venv.exists() {
        fs::remove_dir_all(&venv).map_err(|e| format!("cannot remove stale venv {}: {e}", venv.display()))?;
    }

    let mut create = Command::new(spec.base_python);
    create.args(["-m", "venv"]);
    if spec.system_site_packages {
        create.arg("--system-site-packages");
    }
    create.arg(&venv);
    run_setup_step(&mut create, &format!("{} -m venv", spec.base_python))?;

    let python = venv_python(&venv);
    let mut install = Command::new(&python);
    install
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
        ])
        .args(&spec.requirements);
    run_setup_step(&mut install, "pip install")?;

    let mut check = Command::new(&python);
    check.args(["-c", spec.check, &spec.check_arg]);
    run_setup_step(&mut check, "import check")?;

    fs::write(&marker, listed).map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    Ok(venv)
}

/// Runs one venv setup command, turning a failure to start or a non-zero exit into an `Err`
/// that carries the end of the command's output.
fn run_setup_step(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", command.get_program()))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let tail: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
    let tail = tail[tail.len().saturating_sub(20)..].join("\n");
    Err(format!("{what} failed ({}):\n{tail}", output.status))
}

/// Whether we run under CI (`CI=true`, as CI sets it; `1` is accepted too).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The venv for `version` under `cache_dir`; outside CI `None` (with the reason printed) when
/// it cannot be built. Under CI that is a failure: a missing tool never turns into a skip.
pub fn venv_or_skip(cache_dir: &Path, version: &str) -> Option<PathBuf> {
    or_skip(
        python_venv(cache_dir, version),
        &format!("huggingface_hub {version}"),
    )
}

/// [`torch_venv`] under `cache_dir`, with the same policy as [`venv_or_skip`].
pub fn torch_venv_or_skip(cache_dir: &Path) -> Option<PathBuf> {
    or_skip(
        torch_venv(cache_dir),
        &format!("PyTorch and huggingface_hub {TORCH_VENV_HF_VERSION}"),
    )
}

/// [`transformers_venv`] under `cache_dir`, with the same policy as [`venv_or_skip`].
pub fn transformers_venv_or_skip(cache_dir: &Path) -> Option<PathBuf> {
    or_skip(
        transformers_venv(cache_dir),
        &format!("PyTorch and transformers {TRANSFORMERS_VERSION}"),
    )
}

/// A venv, or outside CI `None` with the reason printed; under CI a panic.
fn or_skip(venv: Result<PathBuf, String>, what: &str) -> Option<PathBuf> {
    match venv {
        Ok(venv) => Some(venv),
        Err(why) if !in_ci() => {
            eprintln!("skipped: no Python venv with {what}: {why}");
            None
        }
        Err(why) => panic!("CI=true and the Python venv with {what} cannot be built: {why}"),
    }
}

/// Runs a Python `script` in `venv` with `env` (and no inherited `HF_*` settings), and returns
/// its standard output; a failing script fails the test with its output.
pub fn run_python(venv: &Path, script: &str, env: &[(&str, &str)]) -> String {
    let mut command = Command::new(venv_python(venv));
    command.arg("-c").arg(script);
    for (name, _) in std::env::vars_os() {
        let upper = name.to_string_lossy().to_ascii_uppercase();
        if upper.starts_with("HF_") || upper.starts_with("HUGGING") {
            command.env_remove(&name);
        }
    }
    command.envs(env.iter().copied());
    let output = command.output().expect("the venv's python runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "python script failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
