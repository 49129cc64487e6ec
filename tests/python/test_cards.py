"""Model cards: the metadata of README.md in the repository info and the listings, and cards the
Hub would refuse."""

import pytest

from hubtest import HfHubHTTPError, remote_files, set_private, unique_name


def card(tag: str, extra: str = "") -> bytes:
    return (
        "---\n"
        "library_name: burn\n"
        f"tags:\n- burn\n- hubmix\n- {tag}\n"
        "license: mit\n"
        "pipeline_tag: tabular-classification\n"
        "datasets:\n- alice/rows\n"
        f"{extra}"
        "---\n# A model\n"
    ).encode()


def test_model_info_reads_the_card(alice, repo):
    tag = unique_name("tag")
    alice.upload_file(
        path_or_fileobj=card(tag, "model-index:\n- name: mlp\n  results: []\n"),
        path_in_repo="README.md",
        repo_id=repo,
    )
    info = alice.model_info(repo)
    assert info.library_name == "burn"
    assert info.pipeline_tag == "tabular-classification"
    assert set(info.tags) == {"burn", "hubmix", tag, "tabular-classification", "dataset:alice/rows", "license:mit"}
    assert info.card_data.library_name == "burn"
    assert info.card_data.license == "mit"
    assert info.card_data.tags == ["burn", "hubmix", tag]

    # At an older revision, the info is that of the card then.
    first = alice.list_repo_commits(repo)[-1].commit_id
    old = alice.model_info(repo, revision=first)
    assert (old.library_name, old.tags) == (None, [])


def test_list_models_filters_by_tag_author_search_and_visibility(alice, bob, anon):
    tag = unique_name("tag")
    names = {}
    for owner, api, stem in [("alice", alice, "mlp"), ("alice", alice, "cnn"), ("bob", bob, "mlp")]:
        repo_id = f"{owner}/{unique_name(stem)}"
        api.create_repo(repo_id)
        api.upload_file(path_or_fileobj=card(tag), path_in_repo="README.md", repo_id=repo_id)
        names[(owner, stem)] = repo_id
    untagged = f"alice/{unique_name('mlp')}"
    alice.create_repo(untagged)

    def ids(api, **kwargs):
        return sorted(m.id for m in api.list_models(**kwargs))

    everyone = sorted(names.values())
    assert ids(anon, filter=tag) == everyone
    assert ids(anon, filter=[tag, "burn"]) == everyone
    assert ids(anon, filter=[tag, "pytorch"]) == []
    assert ids(anon, filter=tag, author="alice") == sorted([names["alice", "mlp"], names["alice", "cnn"]])
    assert ids(anon, filter=tag, search="MLP") == sorted([names["alice", "mlp"], names["bob", "mlp"]])
    # What the Hub derives from the card: `trained_dataset` (2.x) is a `dataset:` filter.
    assert ids(anon, filter=[tag, "dataset:alice/rows", "license:mit"]) == everyone
    assert ids(anon, author="alice", search=untagged.split("/")[1]) == [untagged]
    assert len(ids(anon, filter=tag, limit=2)) == 2

    found = next(iter(anon.list_models(filter=tag, author="bob", cardData=True)))
    assert (found.id, found.library_name, found.card_data.license) == (names["bob", "mlp"], "burn", "mit")

    # A private repository is listed for its owner only.
    set_private(bob, names["bob", "mlp"], True)
    assert ids(anon, filter=tag) == sorted([names["alice", "mlp"], names["alice", "cnn"]])
    assert ids(alice, filter=tag) == sorted([names["alice", "mlp"], names["alice", "cnn"]])
    assert ids(bob, filter=tag) == everyone


def test_a_card_with_wrong_metadata_is_refused(alice, repo):
    bad = b"---\nlibrary_name: [burn]\ntags: burn\n---\n# A model\n"
    # 2.x clients ask /api/validate-yaml first (ValueError); 0.20.3 sends the commit, which the
    # server refuses (400).
    with pytest.raises((ValueError, HfHubHTTPError)) as excinfo:
        alice.upload_file(path_or_fileobj=bad, path_in_repo="README.md", repo_id=repo)
    assert '"library_name" must be a string' in str(excinfo.value)
    assert "README.md" not in remote_files(alice, repo)

    unclosed = b"---\nlibrary_name: burn\n# A model\n"
    with pytest.raises((ValueError, HfHubHTTPError)) as excinfo:
        alice.upload_file(path_or_fileobj=unclosed, path_in_repo="README.md", repo_id=repo)
    assert "never closed" in str(excinfo.value)
    assert "README.md" not in remote_files(alice, repo)
