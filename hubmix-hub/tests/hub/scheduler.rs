//! `CommitScheduler`: a folder committed round after round as it changes; files being written
//! wait for the next round; a restarted scheduler commits nothing the Hub has; the last round
//! waits for writers.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hubmix_hub::upload::CommitScheduler;
use hubmix_hub::{CommitOptions, HubError, UploadFolderOptions};

use crate::upload::{fetch, files, hub_with_repo, write};

const SETTLE: Duration = Duration::from_millis(300);

/// Appends a line to `path` every 10 ms until stopped, or for `lasting` when given.
struct Writer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    fn start(path: PathBuf, lasting: Option<Duration>) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut file = OpenOptions::new().create(true).append(true).open(path).unwrap();
            let mut n = 0;
            while !flag.load(Ordering::Relaxed) && lasting.is_none_or(|l| started.elapsed() < l) {
                writeln!(file, "line {n}").unwrap();
                n += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Writer {
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
    }
}

fn scheduler(
    client: &hubmix_hub::HubClient,
    repo: &str,
    folder: &Path,
    options: &UploadFolderOptions,
) -> CommitScheduler {
    CommitScheduler::new(client, repo, folder, options)
        .unwrap()
        .settle_time(SETTLE)
}

#[test]
fn a_file_being_written_waits_one_round_and_goes_again_once_it_changed() {
    let (hub, alice) = hub_with_repo("sched");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "config.json", b"{}");
    let log = dir.path().join("train.log");
    let writer = Writer::start(log.clone(), None);
    std::thread::sleep(Duration::from_millis(50));
    let mut s = scheduler(&alice, "alice/sched", dir.path(), &UploadFolderOptions::default());

    // The log grows during the round: left for the next one.
    let round = s.push().unwrap();
    assert_eq!(round.added, ["config.json"]);
    assert_eq!(round.deferred, ["train.log"]);
    assert!(round.commit.is_some());
    assert_eq!(files(&alice, "alice/sched"), [".gitattributes", "config.json"]);

    // Still growing in the next round: committed as it is (never left out twice in a row).
    let round = s.push().unwrap();
    assert_eq!(round.added, ["train.log"]);
    assert!(round.deferred.is_empty());
    let commit = round.commit.unwrap();
    let partial = fetch(&hub, "alice/sched", &commit.oid, "train.log");
    assert!(!partial.is_empty());

    // It grew after the upload: the next round sends it again, whole.
    writer.finish();
    let round = s.push().unwrap();
    assert_eq!(round.added, ["train.log"]);
    let whole = fs::read(&log).unwrap();
    assert!(whole.len() > partial.len() && whole.starts_with(&partial));
    assert_eq!(fetch(&hub, "alice/sched", "main", "train.log"), whole);

    // Nothing changed: no commit; a file touched with the same content: no commit either.
    let head = alice.list_repo_commits("alice/sched").unwrap().len();
    assert_eq!(s.push().unwrap().commit, None);
    fs::File::options()
        .write(true)
        .open(dir.path().join("config.json"))
        .unwrap()
        .set_modified(std::time::SystemTime::now() + Duration::from_secs(3))
        .unwrap();
    let round = s.push().unwrap();
    assert_eq!((round.commit, round.added), (None, vec![]));
    assert_eq!(alice.list_repo_commits("alice/sched").unwrap().len(), head);
}

#[test]
fn a_restarted_scheduler_sends_only_what_the_hub_lacks_and_its_last_round_waits_for_writers() {
    let (hub, alice) = hub_with_repo("again");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", b"a");
    write(dir.path(), "old/b.txt", b"b");
    write(dir.path(), "skip.tmp", b"no");
    let options = UploadFolderOptions::default()
        .path_in_repo("run")
        .ignore(["*.tmp"])
        .delete_patterns(["*"])
        .commit(CommitOptions::new("Checkpoint").revision("dev"));
    let mut first = scheduler(&alice, "alice/again", dir.path(), &options);
    let round = first.push().unwrap();
    assert_eq!(round.added, ["run/a.txt", "run/old/b.txt"]);
    let commits = alice.list_repo_commits("alice/again@dev").unwrap();
    assert_eq!(commits[0].title, "Checkpoint");

    // Another scheduler of the same folder: every file is new to it, none to the Hub; the file
    // gone from the folder is deleted (delete_patterns), nothing is uploaded.
    fs::remove_file(dir.path().join("old/b.txt")).unwrap();
    let mut second = scheduler(&alice, "alice/again", dir.path(), &options);
    let round = second.push().unwrap();
    assert!(round.commit.is_some());
    assert_eq!(
        (round.added, round.deleted),
        (vec![], vec!["run/old/b.txt".to_owned()])
    );
    assert_eq!(second.push().unwrap().commit, None);

    // The last round waits until a file stops moving, then commits it whole.
    let log = dir.path().join("late.log");
    let writer = Writer::start(log.clone(), Some(Duration::from_millis(700)));
    std::thread::sleep(Duration::from_millis(50));
    let round = second.finish().unwrap();
    writer.finish();
    assert_eq!(round.added, ["run/late.log"]);
    assert!(round.deferred.is_empty());
    let pushed = fetch(&hub, "alice/again", "dev", "run/late.log");
    assert_eq!(pushed, fs::read(&log).unwrap());
    assert!(
        pushed.len() > 40,
        "the writer ran for 0.7 s: {} bytes",
        pushed.len()
    );
}

#[test]
fn options_a_schedule_cannot_keep_are_refused() {
    let (_hub, alice) = hub_with_repo("refused");
    let dir = tempfile::tempdir().unwrap();
    for (commit, name) in [
        (CommitOptions::default().create_pr(true), "create_pr"),
        (CommitOptions::default().parent_commit("0123456"), "parent_commit"),
    ] {
        let options = UploadFolderOptions::default().commit(commit);
        match CommitScheduler::new(&alice, "alice/refused", dir.path(), &options) {
            Err(HubError::InvalidArgument { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    write(dir.path(), "file", b"x");
    let not_a_folder = CommitScheduler::new(
        &alice,
        "alice/refused",
        dir.path().join("file"),
        &Default::default(),
    );
    assert!(
        matches!(not_a_folder, Err(HubError::UploadSource { .. })),
        "{not_a_folder:?}"
    );
    // A missing folder is created, as huggingface_hub does.
    let later = dir.path().join("later/run");
    let s = CommitScheduler::new(&alice, "alice/refused", &later, &Default::default()).unwrap();
    assert!(later.is_dir() && s.folder() == later);
}
