"""Branches, tags, the refs listing and commit history."""

from datetime import datetime

import pytest
from huggingface_hub import CommitOperationAdd

from hubtest import (
    PAGE_SIZE,
    HfHubHTTPError,
    RevisionNotFoundError,
    head_commit,
    remote_files,
    status_of,
)


def refs_by_name(refs) -> dict[str, tuple[str, str]]:
    """{name: (ref, target commit)} of a list of GitRefInfo."""
    return {r.name: (r.ref, r.target_commit) for r in refs}


def test_branches_and_tags(alice, repo):
    c1 = alice.upload_file(path_or_fileobj=b"v1\n", path_in_repo="f.txt", repo_id=repo).oid

    alice.create_branch(repo, branch="feature/x")
    with pytest.raises(HfHubHTTPError) as excinfo:
        alice.create_branch(repo, branch="feature/x")
    assert status_of(excinfo) == 409
    alice.create_branch(repo, branch="feature/x", exist_ok=True)
    c2 = alice.upload_file(path_or_fileobj=b"v2\n", path_in_repo="f.txt", repo_id=repo, revision="feature/x").oid

    alice.create_tag(repo, tag="v1.0", tag_message="first release")
    with pytest.raises(HfHubHTTPError) as excinfo:
        alice.create_tag(repo, tag="v1.0")
    assert status_of(excinfo) == 409
    alice.create_tag(repo, tag="v1.0", exist_ok=True)
    alice.create_tag(repo, tag="feature-tip", revision="feature/x")
    alice.create_branch(repo, branch="from-tag", revision="v1.0")
    alice.create_branch(repo, branch="from-commit", revision=c2)

    refs = alice.list_repo_refs(repo)
    assert refs_by_name(refs.branches) == {
        "main": ("refs/heads/main", c1),
        "feature/x": ("refs/heads/feature/x", c2),
        "from-tag": ("refs/heads/from-tag", c1),
        "from-commit": ("refs/heads/from-commit", c2),
    }
    assert refs_by_name(refs.tags) == {"v1.0": ("refs/tags/v1.0", c1), "feature-tip": ("refs/tags/feature-tip", c2)}
    assert refs.converts == []

    assert head_commit(alice, repo, revision="feature/x") == c2
    assert head_commit(alice, repo, revision="v1.0") == c1
    assert head_commit(alice, repo, revision=c1) == c1
    assert remote_files(alice, repo, revision="feature/x") == {"f.txt"}
    alice.upload_file(path_or_fileobj=b"deep\n", path_in_repo="a/b/c.txt", repo_id=repo, revision="feature/x")
    assert [e.path for e in alice.list_repo_tree(repo, path_in_repo="a/b", revision="feature/x")] == ["a/b/c.txt"]

    with pytest.raises(RevisionNotFoundError):
        alice.create_branch(repo, branch="orphan", revision="no-such-revision")
    with pytest.raises(RevisionNotFoundError):
        alice.create_tag(repo, tag="orphan", revision="no-such-revision")


def test_delete_branch_and_tag(alice, repo):
    alice.upload_file(path_or_fileobj=b"v1\n", path_in_repo="f.txt", repo_id=repo)
    alice.create_branch(repo, branch="feature/old")
    alice.create_tag(repo, tag="v0")

    alice.delete_branch(repo, branch="feature/old")
    alice.delete_tag(repo, tag="v0")
    refs = alice.list_repo_refs(repo)
    assert [r.name for r in refs.branches] == ["main"]
    assert refs.tags == []
    with pytest.raises(RevisionNotFoundError):
        alice.list_repo_files(repo, revision="feature/old")
    with pytest.raises(RevisionNotFoundError):
        alice.model_info(repo, revision="v0")

    with pytest.raises(HfHubHTTPError) as excinfo:
        alice.delete_branch(repo, branch="feature/old")
    assert status_of(excinfo) == 404
    with pytest.raises(HfHubHTTPError) as excinfo:
        alice.delete_tag(repo, tag="v0")
    assert status_of(excinfo) == 404

    with pytest.raises(HfHubHTTPError) as excinfo:
        alice.delete_branch(repo, branch="main")
    assert 400 <= status_of(excinfo) < 500
    assert [r.name for r in alice.list_repo_refs(repo).branches] == ["main"]

    # The names can be used again.
    alice.create_branch(repo, branch="feature/old")
    alice.create_tag(repo, tag="v0")
    refs = alice.list_repo_refs(repo)
    assert {r.name for r in refs.branches} == {"main", "feature/old"}
    assert [r.name for r in refs.tags] == ["v0"]


def test_list_repo_commits(alice, repo):
    before = [c.commit_id for c in alice.list_repo_commits(repo)]
    oids = [
        alice.upload_file(
            path_or_fileobj=f"{i}\n".encode(), path_in_repo="n.txt", repo_id=repo, commit_message=f"commit {i}"
        ).oid
        for i in range(3)
    ]

    commits = alice.list_repo_commits(repo)
    assert [c.commit_id for c in commits] == oids[::-1] + before
    assert [c.title for c in commits[:3]] == ["commit 2", "commit 1", "commit 0"]
    assert "alice" in commits[0].authors
    assert all(isinstance(c.created_at, datetime) for c in commits)
    assert commits[0].created_at >= commits[2].created_at

    alice.create_branch(repo, branch="side", revision=oids[0])
    side = alice.upload_file(
        path_or_fileobj=b"side\n", path_in_repo="s.txt", repo_id=repo, revision="side", commit_message="on side"
    ).oid
    side_commits = alice.list_repo_commits(repo, revision="side")
    assert [c.commit_id for c in side_commits] == [side, oids[0]] + before
    assert [c.commit_id for c in alice.list_repo_commits(repo)] == oids[::-1] + before


def test_list_repo_commits_across_pages(alice, repo):
    before = [c.commit_id for c in alice.list_repo_commits(repo)]
    count = PAGE_SIZE + 5
    oids = [
        alice.create_commit(
            repo,
            [CommitOperationAdd(path_in_repo="counter.txt", path_or_fileobj=f"{i}\n".encode())],
            commit_message=f"step {i}",
        ).oid
        for i in range(count)
    ]
    assert [c.commit_id for c in alice.list_repo_commits(repo)] == oids[::-1] + before
