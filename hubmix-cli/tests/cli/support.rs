//! Runs `hubmix` (the binary under test) and the real Python `hf` against one in-process
//! hubmix-server, with one `HF_HOME` that both share.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hubmix_e2e::{TestHub, venv_or_skip};
use tempfile::TempDir;

/// The `huggingface_hub` release whose `hf` the tests run.
pub const HF_VERSION: &str = "2.4.0";

/// What a command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout without its final line break.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "failed: {self:#?}");
        self.stdout.trim_end_matches('\n')
    }

    /// Asserts a failure reported as `Error: <one line>` then `Hint: <what to do>`, no
    /// backtrace, with exit code `code`; returns the error line.
    #[track_caller]
    pub fn error(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "{self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert!(
            !self.stderr.contains("panicked")
                && !self.stderr.contains("backtrace")
                && !self.stderr.contains("Traceback"),
            "{self:#?}"
        );
        assert_eq!(lines.len(), 2, "one error line and one hint: {self:#?}");
        assert!(
            lines[0].starts_with("Error: ") && lines[0].len() > 12,
            "{self:#?}"
        );
        assert!(lines[1].starts_with("Hint: ") && lines[1].len() > 12, "{self:#?}");
        lines[0]
    }
}

/// A hub, a shared `HF_HOME`, a scratch folder, and (when available) the `hf` command.
pub struct Env {
    pub hub: TestHub,
    home: TempDir,
    hf: Option<PathBuf>,
}

impl Env {
    /// Without Python.
    pub fn new() -> Env {
        Env {
            hub: TestHub::start(),
            home: tempfile::tempdir().expect("a temporary folder"),
            hf: None,
        }
    }

    /// With the real `hf`; outside CI `None` (and a message) when Python cannot be set up, under
    /// `CI=true` a failure.
    pub fn with_hf() -> Option<Env> {
        let venv = venv_or_skip(Path::new(env!("CARGO_TARGET_TMPDIR")), HF_VERSION)?;
        Some(Env {
            hf: Some(venv.join("bin").join("hf")),
            ..Env::new()
        })
    }

    /// `HF_HOME`.
    pub fn hf_home(&self) -> PathBuf {
        self.home.path().join("hf-home")
    }

    /// A folder for the test's files.
    pub fn dir(&self, name: &str) -> PathBuf {
        let dir = self.home.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn command(&self, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(program);
        command.args(args);
        for (name, _) in std::env::vars_os() {
            let upper = name.to_string_lossy().to_ascii_uppercase();
            if upper.starts_with("HF_")
                || upper.starts_with("HUGGING")
                || ["NO_COLOR", "AI_AGENT", "AGENT", "COLUMNS", "TRANSFORMERS_OFFLINE"]
                    .contains(&upper.as_str())
            {
                command.env_remove(&name);
            }
        }
        command
            .env("HF_ENDPOINT", self.hub.url())
            .env("HF_HOME", self.hf_home())
            .env("HF_HUB_DISABLE_XET", "1")
            .env("HF_HUB_DISABLE_UPDATE_CHECK", "1")
            .env("HF_HUB_DISABLE_TELEMETRY", "1")
            .env("NO_COLOR", "1")
            .env("COLUMNS", "200")
            .envs(env.iter().copied())
            .current_dir(self.home.path());
        command
    }

    fn run(&self, mut command: Command, stdin: Option<&str>) -> Run {
        command
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the command starts");
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        let output = child.wait_with_output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `hubmix ARGS`.
    pub fn hubmix(&self, args: &[&str]) -> Run {
        self.hubmix_with(args, &[], None)
    }

    /// `hubmix ARGS` with more environment and an optional stdin.
    pub fn hubmix_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
        self.run(
            self.command(Path::new(env!("CARGO_BIN_EXE_hubmix")), args, env),
            stdin,
        )
    }

    /// `hubmix ARGS` started in the background, its stdout and stderr piped.
    pub fn spawn_hubmix(&self, args: &[&str]) -> std::process::Child {
        self.command(Path::new(env!("CARGO_BIN_EXE_hubmix")), args, &[])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the command starts")
    }

    /// A client of the hub as alice (write token), for what the tests check on the server.
    pub fn client(&self) -> hubmix_hub::HubClient {
        hubmix_hub::HubClient::builder()
            .endpoint(self.hub.url())
            .token(hubmix_e2e::ALICE_WRITE_TOKEN)
            .cache_dir(self.home.path().join("client-cache"))
            .progress_bars(Some(false))
            .build()
            .expect("a client")
    }

    /// `hf ARGS` (only on an [`Env::with_hf`]).
    pub fn hf(&self, args: &[&str]) -> Run {
        let hf = self.hf.as_ref().expect("an Env::with_hf");
        self.run(self.command(hf, args, &[]), None)
    }
}

/// Every file below `dir` (but `.cache/`), as relative path → bytes.
pub fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if rel == ".cache" {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A folder of files to upload: small ones in folders, and one above the test hub's LFS
/// threshold.
pub fn sample_folder(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let big: Vec<u8> = (0..hubmix_e2e::LFS_THRESHOLD as usize + 4096)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let files = [
        ("config.json", br#"{"d_model": 8}"#.to_vec()),
        ("weights/model.safetensors", big),
        ("weights/notes/readme.txt", b"notes\n".to_vec()),
        ("empty.txt", Vec::new()),
    ];
    for (path, bytes) in &files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    files.into_iter().map(|(p, b)| (p.to_owned(), b)).collect()
}
