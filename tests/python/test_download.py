"""Downloads and read APIs: revisions, errors, snapshots, resume, ranges, metadata, paging."""

import re
from pathlib import Path

import pytest
from huggingface_hub import (
    HfFileSystem,
    constants,
    get_hf_file_metadata,
    hf_hub_download,
    hf_hub_url,
    snapshot_download,
)
from huggingface_hub.hf_api import RepoFolder

from cutting_proxy import CuttingProxy
from hubtest import (
    ALICE_WRITE,
    ENDPOINT,
    HAS_RESUME_DOWNLOAD_ARG,
    LFS_THRESHOLD,
    PAGE_SIZE,
    EntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    assert_remote_entry_not_found,
    download,
    folder_contents,
    git_blob_sha1,
    head_commit,
    lfs_sha256,
    payload,
    remote_files,
    session_request,
    sha256,
    unique_name,
    write_files,
)

MiB = 1024 * 1024


def repo_cache(cache_dir: Path, repo_id: str, repo_type: str = "model") -> Path:
    """The client's cache folder of one repository."""
    return cache_dir / f"{repo_type}s--{repo_id.replace('/', '--')}"


def test_download_at_branch_tag_commit_and_pr(alice, repo, cache_dir):
    c1 = alice.upload_file(path_or_fileobj=b"one\n", path_in_repo="a/b/f.txt", repo_id=repo).oid
    alice.create_tag(repo, tag="v1")
    c2 = alice.upload_file(path_or_fileobj=b"two\n", path_in_repo="a/b/f.txt", repo_id=repo).oid
    alice.create_branch(repo, branch="dev/next", revision=c1)
    c3 = alice.upload_file(path_or_fileobj=b"three\n", path_in_repo="a/b/f.txt", repo_id=repo, revision="dev/next").oid
    pr = alice.upload_file(path_or_fileobj=b"four\n", path_in_repo="a/b/f.txt", repo_id=repo, create_pr=True)

    expected = {  # revision: (commit it resolves to, content)
        "main": (c2, b"two\n"),
        "v1": (c1, b"one\n"),
        c1: (c1, b"one\n"),
        "dev/next": (c3, b"three\n"),
        c3[:7]: (c3, b"three\n"),  # a short commit id
        pr.pr_revision: (pr.oid, b"four\n"),
    }
    for revision, (commit, content) in expected.items():
        path = Path(hf_hub_download(repo, "a/b/f.txt", revision=revision, cache_dir=cache_dir, token=ALICE_WRITE))
        assert path.read_bytes() == content, revision
        assert path.relative_to(repo_cache(cache_dir, repo) / "snapshots").parts[0] == commit, revision

    # The client records what each named revision resolved to (from X-Repo-Commit).
    refs = repo_cache(cache_dir, repo) / "refs"
    assert (refs / "main").read_text() == c2
    assert (refs / "v1").read_text() == c1
    assert (refs / "dev" / "next").read_text() == c3
    assert (refs / "refs" / "pr" / "1").read_text() == pr.oid


def test_missing_repo_revision_and_file(alice, anon, repo, cache_dir):
    alice.upload_file(path_or_fileobj=b"here\n", path_in_repo="f.txt", repo_id=repo)
    head = head_commit(alice, repo)

    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo, "f.txt", revision="no-such-branch", cache_dir=cache_dir, token=ALICE_WRITE)
    with pytest.raises(RevisionNotFoundError):
        alice.model_info(repo, revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        alice.list_repo_files(repo, revision="no-such-branch")

    with pytest.raises(EntryNotFoundError) as excinfo:
        hf_hub_download(repo, "missing.txt", cache_dir=cache_dir, token=ALICE_WRITE)
    assert_remote_entry_not_found(excinfo)
    # The 404 carried X-Repo-Commit, so the client remembers that the file is absent at that commit.
    assert (repo_cache(cache_dir, repo) / ".no_exist" / head / "missing.txt").exists()
    with pytest.raises(EntryNotFoundError) as excinfo:
        list(alice.list_repo_tree(repo, path_in_repo="no/such/folder"))
    assert_remote_entry_not_found(excinfo)

    assert alice.file_exists(repo, "f.txt") is True
    assert anon.file_exists(repo, "f.txt") is True
    assert alice.file_exists(repo, "missing.txt") is False
    assert alice.file_exists(repo, "f.txt", revision="no-such-branch") is False

    missing = f"alice/{unique_name('missing')}"
    assert alice.repo_exists(missing) is False
    assert alice.file_exists(missing, "f.txt") is False
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(missing, "f.txt", cache_dir=cache_dir, token=ALICE_WRITE)
    with pytest.raises(RepositoryNotFoundError):
        alice.model_info(missing)
    with pytest.raises(RepositoryNotFoundError):
        alice.list_repo_files(missing)


def test_snapshot_download(alice, repo, tmp_path, cache_dir):
    files = {
        "a.txt": b"a\n",
        "b.json": b'{"b": 2}\n',
        "sub/c.txt": b"c\n",
        "sub/deep/d.txt": b"d\n",
        "model.bin": payload(5000, seed=10),
    }
    head = alice.upload_folder(repo_id=repo, folder_path=write_files(tmp_path / "src", files)).oid
    expected = {path: sha256(data) for path, data in files.items()}

    folder = Path(snapshot_download(repo, cache_dir=cache_dir, token=ALICE_WRITE))
    assert folder.name == head
    contents = folder_contents(folder)
    contents.pop(".gitattributes", None)
    assert contents == expected

    only_txt = snapshot_download(repo, cache_dir=tmp_path / "c2", token=ALICE_WRITE, allow_patterns=["*.txt"])
    assert folder_contents(only_txt) == {p: h for p, h in expected.items() if p.endswith(".txt")}
    sub_only = snapshot_download(
        repo, cache_dir=tmp_path / "c3", token=ALICE_WRITE, allow_patterns="sub/*", ignore_patterns="*deep*"
    )
    assert folder_contents(sub_only) == {"sub/c.txt": expected["sub/c.txt"]}

    alice.create_branch(repo, branch="other")
    other_head = alice.upload_file(
        path_or_fileobj=b"other\n", path_in_repo="other.txt", repo_id=repo, revision="other"
    ).oid
    other = Path(snapshot_download(repo, revision="other", cache_dir=cache_dir, token=ALICE_WRITE))
    assert other.name == other_head
    contents = folder_contents(other)
    contents.pop(".gitattributes", None)
    assert contents == {**expected, "other.txt": sha256(b"other\n")}

    local = tmp_path / "local"
    snapshot_download(repo, local_dir=local, cache_dir=tmp_path / "c4", token=ALICE_WRITE, allow_patterns="*.txt")
    contents = {p: h for p, h in folder_contents(local).items() if not p.startswith(".cache/")}
    assert contents == {p: h for p, h in expected.items() if p.endswith(".txt")}


def test_resume_partial_download(alice, repo, cache_dir, disable_xet):
    """0.20.x resumes `blobs/<etag>.incomplete` from an earlier call (resume_download=True);
    current clients resume a broken transfer within the call, asking for the rest with Range."""
    chunk = constants.DOWNLOAD_CHUNK_SIZE  # the client writes (and counts as done) whole chunks
    data = payload(chunk + MiB + 12345, seed=11)
    alice.upload_file(path_or_fileobj=data, path_in_repo="big.bin", repo_id=repo)

    if HAS_RESUME_DOWNLOAD_ARG:
        etag = get_hf_file_metadata(hf_hub_url(repo, "big.bin"), token=ALICE_WRITE).etag
        blobs = repo_cache(cache_dir, repo) / "blobs"
        blobs.mkdir(parents=True)
        (blobs / f"{etag}.incomplete").write_bytes(data[: 4 * MiB + 7])
        # If the server ignored the Range request, the whole file would be appended to the
        # partial one and the client's size check would fail.
        path = hf_hub_download(repo, "big.bin", cache_dir=cache_dir, token=ALICE_WRITE, resume_download=True)
        assert sha256(Path(path).read_bytes()) == sha256(data)
        return

    # The proxy breaks the first transfer a little after the first whole chunk.
    with CuttingProxy(ENDPOINT, "/resolve/main/big.bin", cut_after=chunk + 256 * 1024) as proxy:
        path = hf_hub_download(repo, "big.bin", cache_dir=cache_dir, token=ALICE_WRITE, endpoint=proxy.url)
    assert sha256(Path(path).read_bytes()) == sha256(data)
    assert proxy.gets == [(None, 200), (f"bytes={chunk}-", 206)]


def test_range_requests_on_resolve(alice, repo):
    data = payload(1000, seed=12)
    commit = alice.upload_file(path_or_fileobj=data, path_in_repo="r.bin", repo_id=repo).oid
    path = f"/{repo}/resolve/main/r.bin"
    identity = {"Accept-Encoding": "identity"}

    head = session_request("HEAD", path, token=ALICE_WRITE, headers=identity)
    assert head.status_code == 200
    assert head.headers["Content-Length"] == "1000"
    assert head.headers["Accept-Ranges"] == "bytes"
    assert head.headers["X-Repo-Commit"] == commit
    assert head.headers["ETag"].strip('"').removeprefix("W/").strip('"') == git_blob_sha1(data)

    for requested, start, end in (("bytes=100-199", 100, 199), ("bytes=990-", 990, 999), ("bytes=-10", 990, 999)):
        answer = session_request("GET", path, token=ALICE_WRITE, headers={**identity, "Range": requested})
        assert answer.status_code == 206, requested
        assert answer.headers["Content-Range"] == f"bytes {start}-{end}/1000", requested
        assert answer.content == data[start : end + 1], requested

    answer = session_request("GET", path, token=ALICE_WRITE, headers={**identity, "Range": "bytes=5000-"})
    assert answer.status_code == 416
    assert answer.headers["Content-Range"] == "bytes */1000"


def test_file_metadata_tree_and_paths_info(alice, repo, tmp_path, disable_xet):
    small = b"small file\n"
    big = payload(LFS_THRESHOLD + 10, seed=13)
    commit = alice.upload_folder(
        repo_id=repo, folder_path=write_files(tmp_path / "src", {"small.txt": small, "dir/big.bin": big})
    ).oid

    meta = get_hf_file_metadata(hf_hub_url(repo, "small.txt"), token=ALICE_WRITE)
    assert (meta.commit_hash, meta.etag, meta.size) == (commit, git_blob_sha1(small), len(small))
    meta = get_hf_file_metadata(hf_hub_url(repo, "dir/big.bin"), token=ALICE_WRITE)
    assert (meta.commit_hash, meta.etag, meta.size) == (commit, sha256(big), len(big))

    info = alice.model_info(repo, files_metadata=True)
    assert info.sha == commit
    siblings = {s.rfilename: s for s in info.siblings}
    assert (siblings["small.txt"].size, siblings["small.txt"].blob_id) == (len(small), git_blob_sha1(small))
    assert siblings["small.txt"].lfs is None
    assert siblings["dir/big.bin"].size == len(big)
    assert lfs_sha256(siblings["dir/big.bin"].lfs) == sha256(big)

    entries = {e.path: e for e in alice.list_repo_tree(repo, recursive=True)}
    entries.pop(".gitattributes", None)
    assert set(entries) == {"small.txt", "dir", "dir/big.bin"}
    assert isinstance(entries["dir"], RepoFolder)
    assert (entries["small.txt"].size, entries["small.txt"].blob_id) == (len(small), git_blob_sha1(small))
    assert entries["small.txt"].lfs is None
    assert entries["dir/big.bin"].size == len(big)
    assert lfs_sha256(entries["dir/big.bin"].lfs) == sha256(big)

    top = {e.path for e in alice.list_repo_tree(repo)} - {".gitattributes"}
    assert top == {"small.txt", "dir"}
    assert [e.path for e in alice.list_repo_tree(repo, path_in_repo="dir")] == ["dir/big.bin"]

    found = alice.get_paths_info(repo, ["small.txt", "dir/big.bin", "nope.txt"])
    assert {e.path: e.size for e in found} == {"small.txt": len(small), "dir/big.bin": len(big)}


def test_listing_more_files_than_a_page(alice, anon, repo, tmp_path, cache_dir):
    # Several pages, and more files than one preupload call of the client takes (256).
    count = max(2 * PAGE_SIZE + 7, 300)
    files = {f"many/file-{i:04d}.txt": f"{i}\n".encode() for i in range(count)}
    alice.upload_folder(repo_id=repo, folder_path=write_files(tmp_path / "many", files))

    listed = alice.list_repo_files(repo)
    assert len(listed) == len(set(listed))
    assert set(listed) - {".gitattributes"} == set(files)
    assert {e.path for e in anon.list_repo_tree(repo, path_in_repo="many")} == set(files)

    # The server really pages: a full first page and an absolute link to the next one.
    first = session_request("GET", f"/api/models/{repo}/tree/main?recursive=true&expand=false")
    assert first.status_code == 200
    assert len(first.json()) == PAGE_SIZE
    next_link = re.search(r'<([^>]+)>;\s*rel="next"', first.headers["Link"])
    assert next_link and next_link.group(1).startswith(f"{ENDPOINT}/api/models/{repo}/tree/main?")

    folder = snapshot_download(repo, cache_dir=cache_dir, token=ALICE_WRITE, allow_patterns="many/*")
    assert folder_contents(folder) == {path: sha256(data) for path, data in files.items()}
    assert remote_files(alice, repo) == set(files)
    assert download(repo, "many/file-0100.txt", cache_dir / "single") == b"100\n"


def test_hf_file_system(alice, repo, cache_dir):
    """fsspec access (`hf://` paths): listings, globbing, ranged reads, a branch with `/`, writes."""
    data = payload(300_000, seed=14)
    alice.upload_file(path_or_fileobj=data, path_in_repo="dir/data.bin", repo_id=repo)
    alice.upload_file(path_or_fileobj=b"hello\n", path_in_repo="a.txt", repo_id=repo)
    alice.create_branch(repo, branch="feat/x")
    alice.upload_file(path_or_fileobj=b"on a branch\n", path_in_repo="b.txt", repo_id=repo, revision="feat/x")

    fs = HfFileSystem(endpoint=ENDPOINT, token=ALICE_WRITE)
    assert set(fs.ls(repo, detail=False)) - {f"{repo}/.gitattributes"} == {f"{repo}/a.txt", f"{repo}/dir"}
    assert fs.glob(f"{repo}/**/*.bin") == [f"{repo}/dir/data.bin"]
    assert fs.info(f"{repo}/dir/data.bin")["size"] == len(data)
    with fs.open(f"{repo}/dir/data.bin", "rb") as f:
        f.seek(123_456)
        assert f.read(50_000) == data[123_456:173_456]
    assert fs.cat(f"{repo}/a.txt") == b"hello\n"
    assert fs.cat(f"{repo}@feat%2Fx/b.txt") == b"on a branch\n"
    assert not fs.exists(f"{repo}/b.txt")

    with fs.open(f"{repo}/written.txt", "wb") as f:
        f.write(b"written through fsspec\n")
    assert download(repo, "written.txt", cache_dir) == b"written through fsspec\n"
