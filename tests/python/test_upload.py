"""Uploads: upload_file, upload_folder (patterns, deletions, LFS), pull requests, deletions."""

import importlib.util
import io
import re

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationCopy,
    constants,
    get_hf_file_metadata,
    hf_hub_download,
    hf_hub_url,
)

from hubtest import (
    ALICE_WRITE,
    ENDPOINT,
    KNOWS_XET,
    LFS_PART_SIZE,
    LFS_THRESHOLD,
    EntryNotFoundError,
    HfHubHTTPError,
    RevisionNotFoundError,
    assert_remote_entry_not_found,
    download,
    git_blob_sha1,
    head_commit,
    lfs_sha256,
    lfs_size,
    payload,
    remote_files,
    session_request,
    sha256,
    status_of,
    write_files,
)

# Clients that compare the preupload answer's `oid` with the local file skip unchanged files.
SKIPS_UNCHANGED_FILES = "_remote_oid" in CommitOperationAdd.__dataclass_fields__

# An LFS file that the test hub (HUBMIX_LFS_PART_SIZE = 4 MiB) asks to upload in 4 parts.
BIG_LFS_SIZE = 12 * 1024 * 1024 + 12345


def lfs_pointer_oid(data: bytes) -> str:
    """The git object id of the LFS pointer file that stands for `data` in the repository."""
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256(data)}\nsize {len(data)}\n"
    return git_blob_sha1(pointer.encode())


def hf_xet_importable() -> bool:
    """Whether the client could use Xet (hf_xet is installed with 2.x on x86_64/arm64)."""
    return importlib.util.find_spec("hf_xet") is not None


def test_small_files_upload_with_xet_enabled(alice, repo, tmp_path, cache_dir):
    """Files below the LFS threshold are "regular": no HF_HUB_DISABLE_XET is needed for them."""
    if KNOWS_XET:
        assert not constants.HF_HUB_DISABLE_XET, "this test must run with Xet enabled"
    files = {
        "hello.txt": b"hello\n",
        "empty.txt": b"",
        "sub dir/\u00fcber #1.json": b'{"a": 1}\n',
        "just-below-lfs.bin": payload(LFS_THRESHOLD - 1, seed=1),
    }

    info = alice.upload_file(
        path_or_fileobj=files["hello.txt"], path_in_repo="hello.txt", repo_id=repo, commit_message="add hello"
    )
    assert re.fullmatch(r"[0-9a-f]{40}", info.oid)
    assert info.commit_url == f"{ENDPOINT}/{repo}/commit/{info.oid}"
    assert head_commit(alice, repo) == info.oid

    alice.upload_file(path_or_fileobj=io.BytesIO(files["empty.txt"]), path_in_repo="empty.txt", repo_id=repo)
    for path in ("sub dir/\u00fcber #1.json", "just-below-lfs.bin"):
        local = tmp_path / "upload.bin"
        local.write_bytes(files[path])
        alice.upload_file(path_or_fileobj=str(local), path_in_repo=path, repo_id=repo)

    assert remote_files(alice, repo) == set(files)
    for path, data in files.items():
        assert sha256(download(repo, path, cache_dir)) == sha256(data), path


def test_reupload_of_unchanged_content(alice, repo, cache_dir):
    first = alice.upload_file(path_or_fileobj=b"same\n", path_in_repo="same.txt", repo_id=repo)
    second = alice.upload_file(path_or_fileobj=b"same\n", path_in_repo="same.txt", repo_id=repo)
    if SKIPS_UNCHANGED_FILES:
        # The preupload `oid` (git blob sha1) matched: no commit was made.
        assert second.oid == first.oid
        assert head_commit(alice, repo) == first.oid
    else:
        assert head_commit(alice, repo) == second.oid
    assert download(repo, "same.txt", cache_dir) == b"same\n"


def test_readme_upload(alice, repo, cache_dir):
    """README.md uploads make 2.x clients validate the YAML front matter first."""
    readme = b"---\nlicense: mit\ntags:\n- test\n---\n# A model\n\nSome text.\n"
    alice.upload_file(path_or_fileobj=readme, path_in_repo="README.md", repo_id=repo)
    assert download(repo, "README.md", cache_dir) == readme


def test_gitignore_excludes_files_from_the_commit(alice, repo, tmp_path):
    # A .gitignore uploaded with the files applies to them (2.x sends it as `gitIgnore`; every
    # version gets the answer from the server).
    folder = write_files(
        tmp_path / "run",
        {
            ".gitignore": b"*.tmp\nlogs/\n!keep.tmp\n",
            "model.bin": b"weights\n",
            "scratch.tmp": b"x\n",
            "keep.tmp": b"kept\n",
            "logs/run.txt": b"loss 1\n",
        },
    )
    alice.upload_folder(repo_id=repo, folder_path=folder)
    assert remote_files(alice, repo) == {".gitignore", "model.bin", "keep.tmp"}

    # Later uploads follow the .gitignore the repository has.
    alice.upload_file(path_or_fileobj=b"later\n", path_in_repo="later.tmp", repo_id=repo)
    alice.upload_file(path_or_fileobj=b"notes\n", path_in_repo="notes.txt", repo_id=repo)
    assert remote_files(alice, repo) == {".gitignore", "model.bin", "keep.tmp", "notes.txt"}


def test_upload_folder_patterns_and_deletions(alice, repo, tmp_path, cache_dir):
    v1 = write_files(
        tmp_path / "v1",
        {
            "a.txt": b"a1\n",
            "b.json": b"{}\n",
            "sub/c.txt": b"c1\n",
            "sub/d.bin": b"d\n",
            "skip.log": b"log\n",
            "README.md": b"# folder\n",
        },
    )
    info = alice.upload_folder(
        repo_id=repo,
        folder_path=v1,
        allow_patterns=["*.txt", "*.json", "sub/*", "README.md"],
        ignore_patterns=["*.log", "sub/d.bin"],
    )
    assert head_commit(alice, repo) == info.oid
    assert remote_files(alice, repo) == {"a.txt", "b.json", "sub/c.txt", "README.md"}

    alice.upload_folder(repo_id=repo, folder_path=v1 / "sub", path_in_repo="nested/dir", allow_patterns="*.txt")
    assert remote_files(alice, repo) == {"a.txt", "b.json", "sub/c.txt", "README.md", "nested/dir/c.txt"}

    # delete_patterns removes matching remote files, except those being uploaded again.
    v2 = write_files(tmp_path / "v2", {"a.txt": b"a2\n", "new.txt": b"new\n"})
    alice.upload_folder(repo_id=repo, folder_path=v2, delete_patterns=["*.txt"])
    assert remote_files(alice, repo) == {"a.txt", "new.txt", "b.json", "README.md"}
    assert download(repo, "a.txt", cache_dir) == b"a2\n"
    assert download(repo, "new.txt", cache_dir) == b"new\n"
    assert download(repo, "b.json", cache_dir) == b"{}\n"


def test_upload_folder_with_lfs_files(alice, repo, tmp_path, cache_dir, disable_xet, lfs_transfers):
    files = {
        "weights/big.bin": payload(BIG_LFS_SIZE, seed=2),
        "weights/at-threshold.bin": payload(LFS_THRESHOLD, seed=3),
        "config.json": b'{"hidden_size": 4}\n',
    }
    info = alice.upload_folder(repo_id=repo, folder_path=write_files(tmp_path / "model", files))
    multipart = sum(len(data) > LFS_PART_SIZE for data in files.values())
    assert lfs_transfers == {"basic": 2 - multipart, "multipart": multipart}

    siblings = {s.rfilename: s for s in alice.model_info(repo, files_metadata=True).siblings}
    for path, data in files.items():
        sibling = siblings[path]
        assert sibling.size == len(data), path
        if len(data) >= LFS_THRESHOLD:
            assert sibling.lfs is not None, path
            assert (lfs_sha256(sibling.lfs), lfs_size(sibling.lfs)) == (sha256(data), len(data)), path
            assert sibling.blob_id == lfs_pointer_oid(data), path
        else:
            assert sibling.lfs is None, path
            assert sibling.blob_id == git_blob_sha1(data), path

    # ETag: sha256 for LFS files, git blob sha1 for regular ones; the true size also on HEAD.
    for path, data in files.items():
        meta = get_hf_file_metadata(hf_hub_url(repo, path), token=ALICE_WRITE)
        expected_etag = sha256(data) if len(data) >= LFS_THRESHOLD else git_blob_sha1(data)
        assert (meta.commit_hash, meta.etag, meta.size) == (info.oid, expected_etag, len(data)), path
        assert sha256(download(repo, path, cache_dir)) == sha256(data), path


def test_upload_file_lfs_from_file_object(alice, repo, cache_dir, disable_xet, lfs_transfers):
    data = payload(LFS_THRESHOLD + 4321, seed=4)
    alice.upload_file(path_or_fileobj=io.BytesIO(data), path_in_repo="blob.bin", repo_id=repo)
    assert lfs_transfers["basic"] + lfs_transfers["multipart"] == 1
    assert sha256(download(repo, "blob.bin", cache_dir)) == sha256(data)

    # Uploading the same object again under another name needs no transfer: the server has it.
    alice.upload_file(path_or_fileobj=io.BytesIO(data), path_in_repo="copy.bin", repo_id=repo)
    assert lfs_transfers["basic"] + lfs_transfers["multipart"] == 1
    assert sha256(download(repo, "copy.bin", cache_dir)) == sha256(data)


def test_lfs_sized_upload_without_disabling_xet(alice, repo, tmp_path, cache_dir):
    """Clients that upload LFS files through Xet (>= 1.20) need HF_HUB_DISABLE_XET=1 here; the
    server refuses Xet with a message saying so. Older clients use the LFS batch API."""
    data = payload(LFS_THRESHOLD + 1, seed=5)
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    before = head_commit(alice, repo)

    answer = session_request("GET", f"/api/models/{repo}/xet-write-token/main", token=ALICE_WRITE)
    assert answer.status_code >= 400
    assert "HF_HUB_DISABLE_XET" in answer.headers.get("X-Error-Message", "") + answer.text

    uses_xet = KNOWS_XET and not constants.HF_HUB_DISABLE_XET and hf_xet_importable()
    if uses_xet:
        # hf_xet reports the refused token request as a ConnectionError (an OSError).
        with pytest.raises(OSError, match="xet-write-token"):
            alice.upload_file(path_or_fileobj=str(local), path_in_repo="big.bin", repo_id=repo)
        assert head_commit(alice, repo) == before
        assert remote_files(alice, repo) == set()
    else:
        alice.upload_file(path_or_fileobj=str(local), path_in_repo="big.bin", repo_id=repo)
        assert sha256(download(repo, "big.bin", cache_dir)) == sha256(data)


def test_upload_file_create_pr(alice, repo, cache_dir):
    base = alice.upload_file(path_or_fileobj=b"v1\n", path_in_repo="f.txt", repo_id=repo)

    pr = alice.upload_file(
        path_or_fileobj=b"v2\n", path_in_repo="f.txt", repo_id=repo, create_pr=True, commit_message="propose v2"
    )
    assert (pr.pr_num, pr.pr_revision) == (1, "refs/pr/1")
    assert pr.pr_url == f"{ENDPOINT}/{repo}/discussions/1"
    assert head_commit(alice, repo) == base.oid
    assert head_commit(alice, repo, revision="refs/pr/1") == pr.oid
    assert download(repo, "f.txt", cache_dir) == b"v1\n"
    assert download(repo, "f.txt", cache_dir, revision="refs/pr/1") == b"v2\n"

    refs = alice.list_repo_refs(repo, include_pull_requests=True)
    assert [(r.name, r.ref, r.target_commit) for r in refs.pull_requests] == [("1", "refs/pr/1", pr.oid)]
    assert not alice.list_repo_refs(repo).pull_requests

    details = alice.get_discussion_details(repo, 1)
    assert (details.num, details.title, details.is_pull_request) == (1, "propose v2", True)
    assert (details.git_reference, details.target_branch) == ("refs/pr/1", "refs/heads/main")
    assert details.status in ("open", "draft")
    assert details.author == "alice"
    assert [(d.num, d.is_pull_request) for d in alice.get_repo_discussions(repo)] == [(1, True)]

    # Committing to refs/pr/1 updates the pull request; a new create_pr opens number 2.
    update = alice.upload_file(path_or_fileobj=b"v3\n", path_in_repo="f.txt", repo_id=repo, revision="refs/pr/1")
    assert head_commit(alice, repo, revision="refs/pr/1") == update.oid
    assert download(repo, "f.txt", cache_dir, revision="refs/pr/1") == b"v3\n"
    second = alice.upload_file(path_or_fileobj=b"v4\n", path_in_repo="g.txt", repo_id=repo, create_pr=True)
    assert (second.pr_num, second.pr_revision) == (2, "refs/pr/2")
    assert head_commit(alice, repo) == base.oid


@pytest.mark.parametrize("xet", ["xet-enabled", "xet-disabled"])
def test_upload_folder_create_pr(alice, repo, tmp_path, cache_dir, request, xet):
    """2.x clients open the PR through the discussions API when Xet is enabled, and with
    `create_pr=1` on the commit otherwise (the only way of older clients)."""
    if xet == "xet-disabled":
        request.getfixturevalue("disable_xet")
    base = alice.upload_file(path_or_fileobj=b"base\n", path_in_repo="base.txt", repo_id=repo).oid

    proposal = {"base.txt": b"changed\n", "new/file.txt": b"proposed\n"}
    info = alice.upload_folder(repo_id=repo, folder_path=write_files(tmp_path / "pr", proposal), create_pr=True)
    assert info.pr_num == 1
    assert info.pr_revision == "refs/pr/1"
    assert head_commit(alice, repo) == base
    assert remote_files(alice, repo) == {"base.txt"}
    assert remote_files(alice, repo, revision="refs/pr/1") == set(proposal)
    for path, data in proposal.items():
        assert download(repo, path, cache_dir, revision="refs/pr/1") == data, path
    refs = alice.list_repo_refs(repo, include_pull_requests=True)
    pr_head = head_commit(alice, repo, revision="refs/pr/1")
    assert [(r.ref, r.target_commit) for r in refs.pull_requests] == [("refs/pr/1", pr_head)]


def test_delete_file_and_folder(alice, repo, tmp_path, cache_dir):
    files = {"keep.txt": b"keep\n", "gone.txt": b"gone\n", "dir/x.txt": b"x\n", "dir/y/z.txt": b"z\n"}
    before = alice.upload_folder(repo_id=repo, folder_path=write_files(tmp_path / "f", files)).oid

    alice.delete_file("gone.txt", repo)
    assert remote_files(alice, repo) == {"keep.txt", "dir/x.txt", "dir/y/z.txt"}
    assert alice.file_exists(repo, "gone.txt") is False
    with pytest.raises(EntryNotFoundError) as excinfo:
        alice.delete_file("gone.txt", repo)
    assert_remote_entry_not_found(excinfo)
    with pytest.raises(EntryNotFoundError) as excinfo:
        hf_hub_download(repo, "gone.txt", cache_dir=cache_dir, token=ALICE_WRITE)
    assert_remote_entry_not_found(excinfo)
    # Still there in the older commit.
    assert download(repo, "gone.txt", cache_dir, revision=before) == b"gone\n"

    alice.delete_folder("dir", repo)
    assert remote_files(alice, repo) == {"keep.txt"}
    assert download(repo, "keep.txt", cache_dir) == b"keep\n"


def test_commit_on_outdated_parent_is_refused(alice, repo, cache_dir):
    first = alice.upload_file(path_or_fileobj=b"1\n", path_in_repo="a.txt", repo_id=repo).oid
    second = alice.upload_file(path_or_fileobj=b"2\n", path_in_repo="a.txt", repo_id=repo).oid

    with pytest.raises(HfHubHTTPError) as excinfo:
        alice.create_commit(
            repo,
            [CommitOperationAdd(path_in_repo="a.txt", path_or_fileobj=b"stale\n")],
            commit_message="based on an old head",
            parent_commit=first,
        )
    assert status_of(excinfo) in (409, 412)
    assert head_commit(alice, repo) == second

    third = alice.create_commit(
        repo,
        [CommitOperationAdd(path_in_repo="a.txt", path_or_fileobj=b"3\n")],
        commit_message="based on the current head",
        parent_commit=second,
    )
    assert head_commit(alice, repo) == third.oid
    assert download(repo, "a.txt", cache_dir) == b"3\n"


def test_copy_lfs_file(alice, repo, cache_dir, disable_xet, lfs_transfers):
    """A copy of an LFS file is committed as an `lfsFile` line (sha256, no size): no new upload."""
    data = payload(LFS_THRESHOLD + 99, seed=6)
    alice.upload_file(path_or_fileobj=data, path_in_repo="weights/original.bin", repo_id=repo)
    uploads = dict(lfs_transfers)

    alice.create_commit(
        repo,
        [CommitOperationCopy(src_path_in_repo="weights/original.bin", path_in_repo="weights/copy.bin")],
        commit_message="copy the weights",
    )
    assert lfs_transfers == uploads
    assert remote_files(alice, repo) == {"weights/original.bin", "weights/copy.bin"}
    siblings = {s.rfilename: s for s in alice.model_info(repo, files_metadata=True).siblings}
    assert lfs_sha256(siblings["weights/copy.bin"].lfs) == sha256(data)
    assert sha256(download(repo, "weights/copy.bin", cache_dir)) == sha256(data)


def test_commits_go_to_existing_branches_only(alice, repo):
    head = alice.upload_file(path_or_fileobj=b"v1\n", path_in_repo="f.txt", repo_id=repo).oid
    alice.create_tag(repo, tag="v1")

    with pytest.raises(RevisionNotFoundError):
        alice.upload_file(path_or_fileobj=b"x\n", path_in_repo="x.txt", repo_id=repo, revision="no-such-branch")
    with pytest.raises(HfHubHTTPError) as excinfo:
        alice.upload_file(path_or_fileobj=b"x\n", path_in_repo="x.txt", repo_id=repo, revision="v1")
    assert 400 <= status_of(excinfo) < 500
    assert head_commit(alice, repo) == head
    assert head_commit(alice, repo, revision="v1") == head
    assert [r.name for r in alice.list_repo_refs(repo).branches] == ["main"]
