"""Repository management: create, exists, info, visibility, permissions, delete, whoami."""

import re

import pytest
from huggingface_hub import HfApi, hf_hub_download

from hubtest import (
    ALICE_READ,
    BOB_WRITE,
    ENDPOINT,
    HfHubHTTPError,
    HTTPError,
    RepositoryNotFoundError,
    download,
    head_commit,
    remote_files,
    set_private,
    status_of,
    unique_name,
)


def test_create_repo_and_exist_ok(alice):
    repo_id = f"alice/{unique_name()}"
    url = alice.create_repo(repo_id)
    assert url == f"{ENDPOINT}/{repo_id}"
    assert (url.repo_id, url.repo_type, url.endpoint) == (repo_id, "model", ENDPOINT)

    with pytest.raises(HfHubHTTPError) as excinfo:
        alice.create_repo(repo_id)
    assert status_of(excinfo) == 409
    # exist_ok=True reads the URL from the 409 answer.
    assert alice.create_repo(repo_id, exist_ok=True) == f"{ENDPOINT}/{repo_id}"

    assert alice.repo_exists(repo_id)
    info = alice.model_info(repo_id)
    assert info.id == repo_id
    assert info.private is False
    assert re.fullmatch(r"[0-9a-f]{40}", info.sha)


def test_create_private_dataset(alice, anon, cache_dir):
    repo_id = f"alice/{unique_name('dataset')}"
    url = alice.create_repo(repo_id, repo_type="dataset", private=True)
    assert url == f"{ENDPOINT}/datasets/{repo_id}"
    assert (url.repo_id, url.repo_type) == (repo_id, "dataset")
    again = alice.create_repo(repo_id, repo_type="dataset", private=True, exist_ok=True)
    assert again == f"{ENDPOINT}/datasets/{repo_id}"

    info = alice.dataset_info(repo_id)
    assert (info.id, info.private) == (repo_id, True)
    assert alice.repo_exists(repo_id, repo_type="dataset")
    assert not alice.repo_exists(repo_id)  # a dataset is not a model
    assert not anon.repo_exists(repo_id, repo_type="dataset")

    rows = b"a,b\n1,2\n"
    alice.upload_file(path_or_fileobj=rows, path_in_repo="data/train.csv", repo_id=repo_id, repo_type="dataset")
    assert remote_files(alice, repo_id, repo_type="dataset") == {"data/train.csv"}
    assert download(repo_id, "data/train.csv", cache_dir, repo_type="dataset") == rows

    set_private(alice, repo_id, False, repo_type="dataset")
    assert anon.dataset_info(repo_id).private is False
    assert download(repo_id, "data/train.csv", cache_dir / "anon", token=False, repo_type="dataset") == rows


def test_private_repo_is_hidden_from_others(alice, alice_read, bob, anon, cache_dir):
    repo_id = f"alice/{unique_name('private')}"
    alice.create_repo(repo_id, private=True)
    secret = b"only for alice\n"
    alice.upload_file(path_or_fileobj=secret, path_in_repo="secret.txt", repo_id=repo_id)

    # The owner's read-only token sees everything.
    assert alice_read.model_info(repo_id).private is True
    assert alice_read.file_exists(repo_id, "secret.txt")
    assert download(repo_id, "secret.txt", cache_dir / "alice", token=ALICE_READ) == secret

    for name, api, token in (("bob", bob, BOB_WRITE), ("anonymous", anon, False)):
        with pytest.raises(RepositoryNotFoundError):
            api.model_info(repo_id)
        with pytest.raises(RepositoryNotFoundError):
            api.list_repo_files(repo_id)
        with pytest.raises(RepositoryNotFoundError):
            api.list_repo_refs(repo_id)
        assert api.repo_exists(repo_id) is False, name
        assert api.file_exists(repo_id, "secret.txt") is False, name
        # A cache of its own, so that alice's cached copy cannot be returned.
        with pytest.raises(RepositoryNotFoundError):
            hf_hub_download(repo_id, "secret.txt", cache_dir=cache_dir / name, token=token)


def test_writes_need_a_write_token_for_the_namespace(alice, alice_read, bob, anon, repo, cache_dir):
    alice.upload_file(path_or_fileobj=b"v1", path_in_repo="a.txt", repo_id=repo)
    before = head_commit(alice, repo)

    for api in (bob, alice_read):
        with pytest.raises(HfHubHTTPError) as excinfo:
            api.upload_file(path_or_fileobj=b"v2", path_in_repo="a.txt", repo_id=repo)
        assert status_of(excinfo) in (401, 403)
        with pytest.raises(HfHubHTTPError) as excinfo:
            api.create_branch(repo, branch="intruder")
        assert status_of(excinfo) in (401, 403)
        with pytest.raises(HfHubHTTPError) as excinfo:
            api.delete_repo(repo)
        assert status_of(excinfo) in (401, 403)

    with pytest.raises(HfHubHTTPError) as excinfo:
        anon.upload_file(path_or_fileobj=b"v2", path_in_repo="a.txt", repo_id=repo)
    assert status_of(excinfo) == 401
    with pytest.raises(HfHubHTTPError) as excinfo:
        bob.create_repo(f"alice/{unique_name()}")
    assert status_of(excinfo) in (401, 403)
    with pytest.raises(HfHubHTTPError) as excinfo:
        alice_read.create_repo(f"alice/{unique_name()}")
    assert status_of(excinfo) in (401, 403)

    assert head_commit(alice, repo) == before
    assert [ref.name for ref in alice.list_repo_refs(repo).branches] == ["main"]
    assert download(repo, "a.txt", cache_dir) == b"v1"


def test_organisation_namespace(alice, bob, anon, cache_dir):
    repo_id = f"team/{unique_name()}"
    assert alice.create_repo(repo_id) == f"{ENDPOINT}/{repo_id}"
    alice.upload_file(path_or_fileobj=b"shared\n", path_in_repo="t.txt", repo_id=repo_id)
    assert anon.model_info(repo_id).id == repo_id
    assert download(repo_id, "t.txt", cache_dir, token=False) == b"shared\n"

    with pytest.raises(HfHubHTTPError) as excinfo:
        bob.create_repo(f"team/{unique_name()}")
    assert status_of(excinfo) in (401, 403)
    with pytest.raises(HfHubHTTPError) as excinfo:
        bob.upload_file(path_or_fileobj=b"not a member", path_in_repo="t.txt", repo_id=repo_id)
    assert status_of(excinfo) in (401, 403)
    assert download(repo_id, "t.txt", cache_dir / "after", token=False) == b"shared\n"


def test_update_visibility(alice, anon, bob, repo, cache_dir):
    alice.upload_file(path_or_fileobj=b"x\n", path_in_repo="x.txt", repo_id=repo)

    set_private(alice, repo, True)
    assert alice.model_info(repo).private is True
    with pytest.raises(RepositoryNotFoundError):
        anon.model_info(repo)
    with pytest.raises(RepositoryNotFoundError):
        bob.model_info(repo)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(repo, "x.txt", cache_dir=cache_dir / "private", token=False)

    set_private(alice, repo, False)
    assert anon.model_info(repo).private is False
    assert download(repo, "x.txt", cache_dir / "public", token=False) == b"x\n"

    with pytest.raises(HfHubHTTPError) as excinfo:
        set_private(bob, repo, True)
    assert status_of(excinfo) in (401, 403)
    assert anon.model_info(repo).private is False


@pytest.mark.parametrize("repo_type", ["model", "dataset"])
def test_delete_repo(alice, repo_type):
    repo_id = f"alice/{unique_name('doomed')}"
    alice.create_repo(repo_id, repo_type=repo_type)
    alice.upload_file(path_or_fileobj=b"bye\n", path_in_repo="f.txt", repo_id=repo_id, repo_type=repo_type)

    alice.delete_repo(repo_id, repo_type=repo_type)
    assert not alice.repo_exists(repo_id, repo_type=repo_type)
    with pytest.raises(RepositoryNotFoundError):
        alice.repo_info(repo_id, repo_type=repo_type)
    with pytest.raises(RepositoryNotFoundError):
        alice.delete_repo(repo_id, repo_type=repo_type)
    alice.delete_repo(repo_id, repo_type=repo_type, missing_ok=True)

    # The name is free again, and the new repository starts empty.
    alice.create_repo(repo_id, repo_type=repo_type)
    assert remote_files(alice, repo_id, repo_type=repo_type) == set()


def test_whoami(alice, alice_read, bob):
    me = alice.whoami()
    assert (me["type"], me["name"]) == ("user", "alice")
    assert "team" in [org["name"] for org in me["orgs"]]
    assert me["auth"]["accessToken"]["role"] == "write"

    assert alice_read.whoami()["name"] == "alice"
    assert alice_read.whoami()["auth"]["accessToken"]["role"] == "read"

    other = bob.whoami()
    assert other["name"] == "bob"
    assert "team" not in [org["name"] for org in other["orgs"]]

    unknown = HfApi(endpoint=ENDPOINT, token="hf_not_a_real_token")
    with pytest.raises(HTTPError) as excinfo:
        unknown.whoami()
    assert status_of(excinfo) == 401
    assert "Invalid user token" in str(excinfo.value)
    # An unknown token is refused everywhere, even where no token would be needed.
    repo_id = f"alice/{unique_name()}"
    alice.create_repo(repo_id)
    with pytest.raises(HfHubHTTPError) as excinfo:
        unknown.model_info(repo_id)
    assert status_of(excinfo) == 401


def test_move_repo(alice, bob):
    src = f"alice/{unique_name()}"
    alice.create_repo(src)
    alice.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=src)
    head = head_commit(alice, src)
    dst = f"team/{unique_name()}"
    alice.move_repo(src, dst)
    assert not alice.repo_exists(src)
    assert "x.txt" in remote_files(alice, dst)
    assert head_commit(alice, dst) == head

    taken = f"alice/{unique_name()}"
    alice.create_repo(taken)
    with pytest.raises(HfHubHTTPError) as excinfo:
        alice.move_repo(dst, taken)
    assert status_of(excinfo) == 409
    with pytest.raises(HfHubHTTPError) as excinfo:
        alice.move_repo(dst, f"bob/{unique_name()}")
    assert status_of(excinfo) == 403
    with pytest.raises(HfHubHTTPError) as excinfo:
        bob.move_repo(dst, f"bob/{unique_name()}")
    assert status_of(excinfo) == 403
    assert head_commit(alice, dst) == head
