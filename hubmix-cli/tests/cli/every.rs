//! `hubmix upload --every N`: a folder committed as it changes, checked on the server commit by
//! commit; stopped by a real SIGTERM with a last commit of what is pending; the result
//! downloaded by the real `hf`, byte for byte.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Child;
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use hubmix_e2e::{ALICE_WRITE_TOKEN, LFS_THRESHOLD};
use hubmix_hub::{HubClient, RepoId};
use serde_json::Value;

use crate::support::{Env, files};

const REPO: &str = "alice/every";
/// How long a commit, or the end of the process, may take to show.
const WAIT: Duration = Duration::from_secs(60);

/// A commit as `hubmix upload --every … --json` prints it.
#[derive(Debug)]
struct Printed {
    oid: String,
    added: Vec<String>,
    deleted: Vec<String>,
}

impl Printed {
    fn parse(line: &str) -> Printed {
        let json: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        let paths = |key: &str| -> Vec<String> {
            json[key]
                .as_array()
                .unwrap_or_else(|| panic!("{key} in {line}"))
                .iter()
                .map(|p| p.as_str().unwrap().to_owned())
                .collect()
        };
        let url = json["url"].as_str().unwrap();
        assert!(url.contains("/commit/"), "{line}");
        Printed {
            oid: url.rsplit('/').next().unwrap().to_owned(),
            added: paths("added"),
            deleted: paths("deleted"),
        }
    }
}

/// A `hubmix upload --every … --json` running in the background.
struct Scheduled {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Scheduled {
    fn start(env: &Env, args: &[&str]) -> Scheduled {
        let mut child = env.spawn_hubmix(args);
        let (tx, lines) = channel();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Scheduled { child, lines, stderr }
    }

    /// The next commit it prints.
    #[track_caller]
    fn next_commit(&self) -> Printed {
        match self.lines.recv_timeout(WAIT) {
            Ok(line) => Printed::parse(&line),
            Err(e) => panic!("no commit printed ({e}); stderr: {}", self.stderr.lock().unwrap()),
        }
    }

    /// Sends SIGTERM; returns the exit code, what it printed after, and its stderr.
    fn terminate(mut self) -> (i32, Vec<String>, String) {
        use rustix::process::{Pid, Signal, kill_process};
        kill_process(Pid::from_child(&self.child), Signal::TERM).expect("SIGTERM sent");
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("still running after SIGTERM: {}", self.stderr.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader ends with the pipe.
        let rest: Vec<String> = self.lines.iter().collect();
        let stderr = self.stderr.lock().unwrap().clone();
        (status.code().unwrap_or(-1), rest, stderr)
    }
}

/// The files of `commit`, path → git object id.
fn tree(hub: &HubClient, commit: &str) -> BTreeMap<String, String> {
    let repo = RepoId::new(REPO).unwrap();
    hub.list_tree(&repo, commit, None, true)
        .unwrap()
        .into_iter()
        .filter(|e| e.is_file())
        .map(|e| (e.path, e.oid))
        .collect()
}

/// The paths whose object differs between two trees, or that only one has.
fn changes(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> BTreeSet<String> {
    before
        .keys()
        .chain(after.keys())
        .filter(|p| before.get(*p) != after.get(*p))
        .cloned()
        .collect()
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn upload_every_commits_what_changed_until_sigterm() {
    let Some(env) = Env::with_hf() else { return };
    env.hubmix(&["auth", "login", "--token", ALICE_WRITE_TOKEN]).ok();
    let hub = env.client();
    let commits = || hub.list_repo_commits(REPO).unwrap().len();
    let src = env.dir("run");
    let folder = src.to_str().unwrap();
    write(&src, "a.txt", b"a, first");
    write(&src, "sub/b.txt", b"b");
    let big: Vec<u8> = (0..LFS_THRESHOLD + 100).map(|i| (i % 251) as u8).collect();
    write(&src, "weights.bin", &big);
    write(&src, "scratch.tmp", b"never uploaded");

    // Every 0.6 s: the first round commits the folder (the repository is created).
    let run = Scheduled::start(
        &env,
        &[
            "upload",
            REPO,
            folder,
            "--every",
            "0.01",
            "--exclude",
            "*.tmp",
            "--json",
        ],
    );
    let first = run.next_commit();
    assert_eq!(first.added, ["a.txt", "sub/b.txt", "weights.bin"]);
    assert!(first.deleted.is_empty());
    let mut last = tree(&hub, &first.oid);
    let names: Vec<&str> = last.keys().map(String::as_str).collect();
    assert_eq!(names, [".gitattributes", "a.txt", "sub/b.txt", "weights.bin"]);
    assert_eq!(
        commits(),
        2,
        "the repository's first commit, and the scheduled one"
    );

    // Rounds with nothing changed, and a file touched with its content unchanged: no commit.
    std::fs::File::options()
        .write(true)
        .open(src.join("a.txt"))
        .unwrap()
        .set_modified(SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        run.lines.try_recv().is_err(),
        "a commit printed with nothing changed"
    );
    assert_eq!(commits(), 2);

    // One file changed, one added: the next commit holds them and nothing else (the two writes
    // may fall on either side of a round: then two commits, one each).
    write(&src, "a.txt", b"a, second");
    write(&src, "c.txt", b"c");
    let mut seen = BTreeSet::new();
    while seen.len() < 2 {
        let commit = run.next_commit();
        assert!(commit.deleted.is_empty());
        let now = tree(&hub, &commit.oid);
        let added: BTreeSet<String> = commit.added.iter().cloned().collect();
        assert_eq!(changes(&last, &now), added, "{commit:?}");
        seen.extend(added);
        last = now;
    }
    assert_eq!(seen, BTreeSet::from(["a.txt".to_owned(), "c.txt".to_owned()]));

    // SIGTERM with nothing pending: exit 0, no last commit.
    let before = commits();
    let (code, rest, stderr) = run.terminate();
    assert_eq!(code, 0, "{stderr}");
    assert!(rest.is_empty(), "{rest:?}");
    assert!(!stderr.contains("Error"), "{stderr}");
    assert_eq!(commits(), before);

    // Again, hourly and with --delete: the first round finds every file on the Hub already and
    // deletes the one gone from the folder; a change made after it is pending until SIGTERM,
    // which commits it before exiting 0.
    std::fs::remove_file(src.join("sub/b.txt")).unwrap();
    let run = Scheduled::start(
        &env,
        &[
            "upload",
            REPO,
            folder,
            "--every",
            "60",
            "--exclude",
            "*.tmp",
            "--delete",
            "*.txt",
            "--json",
        ],
    );
    let cleanup = run.next_commit();
    assert!(cleanup.added.is_empty(), "{cleanup:?}");
    assert_eq!(cleanup.deleted, ["sub/b.txt"]);
    let now = tree(&hub, &cleanup.oid);
    assert_eq!(changes(&last, &now), BTreeSet::from(["sub/b.txt".to_owned()]));
    write(&src, "d.txt", b"written after the last round");
    let mut big = big;
    big[7] ^= 0xff;
    write(&src, "weights.bin", &big);
    let (code, rest, stderr) = run.terminate();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(rest.len(), 1, "one last commit: {rest:?} {stderr}");
    let final_commit = Printed::parse(&rest[0]);
    assert_eq!(final_commit.added, ["d.txt", "weights.bin"]);
    assert_eq!(
        changes(&now, &tree(&hub, &final_commit.oid)),
        BTreeSet::from(["d.txt".to_owned(), "weights.bin".to_owned()])
    );

    // What hf downloads is the folder, byte for byte.
    let out = env.dir("hf-out");
    env.hf(&["download", REPO, "--local-dir", out.to_str().unwrap()])
        .ok();
    let mut expected = files(&src);
    expected.remove("scratch.tmp");
    let got = files(&out);
    expected.insert(".gitattributes".into(), got[".gitattributes"].clone());
    assert_eq!(got, expected);
}

#[test]
fn upload_every_watches_one_file_and_keeps_its_name() {
    let env = Env::new();
    env.hubmix(&["auth", "login", "--token", ALICE_WRITE_TOKEN]).ok();
    let src = env.dir("one");
    write(&src, "log.csv", b"step,loss\n1,0.5\n");
    write(&src, "other.csv", b"not watched");
    let file = src.join("log.csv");
    let run = Scheduled::start(
        &env,
        &[
            "upload",
            "alice/one",
            file.to_str().unwrap(),
            "logs/renamed.csv",
            "--every",
            "60",
            "--json",
        ],
    );
    // hf's rule: the file keeps its name, in the folder part of the path.
    let first = run.next_commit();
    assert_eq!(first.added, ["logs/log.csv"]);
    let (code, _, stderr) = run.terminate();
    assert_eq!(code, 0);
    assert!(
        stderr.contains("Warning: Scheduled uploads keep the local file name, so the file will be uploaded as 'logs/log.csv' rather than 'logs/renamed.csv'."),
        "{stderr}"
    );
}

#[test]
fn bad_intervals_are_usage_errors() {
    let env = Env::new();
    let src = env.dir("src");
    let folder = src.to_str().unwrap();
    for bad in ["0", "-1", "nan", "NaN", "inf", "-0.5", "soon", "1e300"] {
        let run = env.hubmix(&["upload", "alice/x", folder, "--every", bad]);
        assert_eq!(run.code, 2, "{bad}: {run:#?}");
        assert!(
            run.stderr.contains("--every") && !run.stderr.contains("panicked"),
            "{bad}: {run:#?}"
        );
    }
    let pr = env.hubmix(&["upload", "alice/x", folder, "--every", "1", "--create-pr"]);
    assert!(
        pr.error(2).contains("--create-pr cannot be used with --every"),
        "{pr:#?}"
    );
}
