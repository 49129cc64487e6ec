"""Fixtures for the huggingface_hub interoperability suite.

The suite drives the real `huggingface_hub` client (2.4.0 and 0.20.3 are supported) against a
hubmix-server. It is normally started by the Rust harness (`tests/e2e/python.rs`), which sets:

    HF_ENDPOINT            URL of the server under test, e.g. http://127.0.0.1:41234
    HF_HOME                an isolated, throwaway folder (never the user's own cache)
    HUBMIX_ALICE_WRITE     write token of user alice (member of organisation "team")
    HUBMIX_ALICE_READ      read-only token of alice
    HUBMIX_BOB_WRITE       write token of user bob (not in "team")
    HUBMIX_LFS_THRESHOLD   the server's LFS threshold: files of at least this size are "lfs"
    HUBMIX_LFS_PART_SIZE   the server's multipart part size: larger LFS objects go in parts
    HUBMIX_PAGE_SIZE       the server's page size of tree and commit listings

huggingface_hub reads HF_ENDPOINT and HF_HOME when it is imported, so they must be set before
pytest starts. Xet stays enabled (the client default); tests that upload files of at least
HUBMIX_LFS_THRESHOLD bytes request the `disable_xet` fixture, as a user would set
HF_HUB_DISABLE_XET=1 for a server without Xet storage.

Every test creates repositories with fresh random names, so tests are independent of each other
and of their order. Shared helpers are in hubtest.py.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import huggingface_hub
from huggingface_hub import HfApi, constants

from hubtest import ALICE_READ, ALICE_WRITE, BOB_WRITE, ENDPOINT, KNOWS_XET, unique_name


def pytest_configure(config):
    required = ("HF_ENDPOINT", "HF_HOME", "HUBMIX_ALICE_WRITE", "HUBMIX_ALICE_READ", "HUBMIX_BOB_WRITE")
    settings = ("HUBMIX_LFS_THRESHOLD", "HUBMIX_LFS_PART_SIZE", "HUBMIX_PAGE_SIZE")
    for name in required + settings:
        if not os.environ.get(name):
            pytest.exit(f"environment variable {name} is not set (see tests/python/conftest.py)", returncode=4)
    host = urlsplit(ENDPOINT).hostname or ""
    if any(host == hub or host.endswith(f".{hub}") for hub in ("huggingface.co", "hf.co")):
        pytest.exit(f"refusing to run against {ENDPOINT}: point HF_ENDPOINT at a hubmix-server", returncode=4)
    if constants.ENDPOINT.rstrip("/") != ENDPOINT:
        pytest.exit(
            f"huggingface_hub uses {constants.ENDPOINT}, not HF_ENDPOINT={ENDPOINT}: set it before pytest starts",
            returncode=4,
        )
    hf_home = os.path.realpath(os.environ["HF_HOME"])
    if not os.path.realpath(constants.HF_HUB_CACHE).startswith(hf_home):
        pytest.exit(f"the client cache {constants.HF_HUB_CACHE} is not inside HF_HOME={hf_home}", returncode=4)


def pytest_report_header(config):
    return f"huggingface_hub {huggingface_hub.__version__} against {ENDPOINT}"


@pytest.fixture
def alice() -> HfApi:
    """alice with her write token."""
    return HfApi(endpoint=ENDPOINT, token=ALICE_WRITE)


@pytest.fixture
def alice_read() -> HfApi:
    """alice with her read-only token."""
    return HfApi(endpoint=ENDPOINT, token=ALICE_READ)


@pytest.fixture
def bob() -> HfApi:
    """bob with his write token."""
    return HfApi(endpoint=ENDPOINT, token=BOB_WRITE)


@pytest.fixture
def anon() -> HfApi:
    """An anonymous client (sends no token)."""
    return HfApi(endpoint=ENDPOINT, token=False)


@pytest.fixture
def repo(alice) -> str:
    """A fresh, public model repository owned by alice."""
    repo_id = f"alice/{unique_name()}"
    alice.create_repo(repo_id)
    return repo_id


@pytest.fixture
def cache_dir(tmp_path) -> Path:
    """A download cache of the test's own."""
    return tmp_path / "hf-cache"


@pytest.fixture
def disable_xet(monkeypatch):
    """Uploads of LFS-sized files go through the Git LFS batch API instead of Xet.

    Equivalent to HF_HUB_DISABLE_XET=1 in the environment; the variable is read at import time,
    so the client's constant is patched as well.
    """
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    if KNOWS_XET:
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)


@pytest.fixture
def lfs_transfers(monkeypatch) -> dict[str, int]:
    """Counts the client's LFS uploads by transfer kind ("basic" single PUT or "multipart")."""
    from huggingface_hub import lfs

    counts = {"basic": 0, "multipart": 0}

    def counting(kind, upload):
        def wrapper(*args, **kwargs):
            counts[kind] += 1
            return upload(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(lfs, "_upload_single_part", counting("basic", lfs._upload_single_part))
    monkeypatch.setattr(lfs, "_upload_multi_part", counting("multipart", lfs._upload_multi_part))
    return counts
