"""Settings, version shims and helpers shared by the tests (fixtures live in conftest.py).

Settings come from the environment (see conftest.py for the list); conftest.py checks them before
any test runs.
"""

import hashlib
import inspect
import os
import random
import uuid
from pathlib import Path

import huggingface_hub
from huggingface_hub import HfApi, constants, hf_hub_download

try:  # huggingface_hub >= 0.23 (and 1.x, 2.x)
    from huggingface_hub import errors as _errors
except ImportError:  # 0.20.x
    from huggingface_hub import utils as _errors

HfHubHTTPError = _errors.HfHubHTTPError
RepositoryNotFoundError = _errors.RepositoryNotFoundError
RevisionNotFoundError = _errors.RevisionNotFoundError
EntryNotFoundError = _errors.EntryNotFoundError
LocalEntryNotFoundError = _errors.LocalEntryNotFoundError
# 1.x/2.x raise RemoteEntryNotFoundError (a subclass of EntryNotFoundError) for a server-side
# "entry not found"; 0.20.x raises EntryNotFoundError itself.
RemoteEntryNotFoundError = getattr(_errors, "RemoteEntryNotFoundError", EntryNotFoundError)

try:  # 0.20.x is built on requests, and whoami raises a plain requests.HTTPError
    import requests

    HTTPError = requests.HTTPError if issubclass(HfHubHTTPError, requests.HTTPError) else HfHubHTTPError
except ImportError:  # 1.x/2.x do not depend on requests
    HTTPError = HfHubHTTPError

ENDPOINT = os.environ.get("HF_ENDPOINT", "").rstrip("/")
ALICE_WRITE = os.environ.get("HUBMIX_ALICE_WRITE")
ALICE_READ = os.environ.get("HUBMIX_ALICE_READ")
BOB_WRITE = os.environ.get("HUBMIX_BOB_WRITE")
# Server settings the tests depend on; conftest.py checks that they are set.
LFS_THRESHOLD = int(os.environ.get("HUBMIX_LFS_THRESHOLD") or 0)
LFS_PART_SIZE = int(os.environ.get("HUBMIX_LFS_PART_SIZE") or 0)
PAGE_SIZE = int(os.environ.get("HUBMIX_PAGE_SIZE") or 0)

# 0.20.x only resumes across calls, from `blobs/<etag>.incomplete` with `resume_download=True`;
# current clients resume inside one call with a Range request and have no such parameter.
HAS_RESUME_DOWNLOAD_ARG = "resume_download" in inspect.signature(hf_hub_download).parameters
# Clients that know about Xet (>= 0.30) read this flag at call time.
KNOWS_XET = hasattr(constants, "HF_HUB_DISABLE_XET")


# --------------------------------------------------------------------------------------------
# Content and hashing
# --------------------------------------------------------------------------------------------


def unique_name(prefix: str = "repo") -> str:
    """A repository name that no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def payload(size: int, seed: int = 0) -> bytes:
    """`size` deterministic pseudo-random (incompressible) bytes."""
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a regular file, which the Hub uses as its ETag and blob id."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    """Creates `folder` with the given relative paths and contents; returns the folder."""
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def folder_contents(folder) -> dict[str, str]:
    """sha256 of every regular file below `folder` (following snapshot symlinks), by relative path."""
    folder = Path(folder)
    return {
        path.relative_to(folder).as_posix(): sha256(path.read_bytes()) for path in folder.rglob("*") if path.is_file()
    }


def lfs_sha256(lfs) -> str:
    """The sha256 in LFS metadata: a TypedDict in 0.20.x, a dataclass later."""
    return lfs["sha256"] if isinstance(lfs, dict) else lfs.sha256


def lfs_size(lfs) -> int:
    return lfs["size"] if isinstance(lfs, dict) else lfs.size


# --------------------------------------------------------------------------------------------
# Client calls whose spelling differs between versions
# --------------------------------------------------------------------------------------------


def remote_files(api: HfApi, repo_id: str, **kwargs) -> set[str]:
    """The repository's files, without the `.gitattributes` a hub may create on its own."""
    return set(api.list_repo_files(repo_id, **kwargs)) - {".gitattributes"}


def download(repo_id: str, filename: str, cache_dir: Path, token: str | bool = ALICE_WRITE, **kwargs) -> bytes:
    """hf_hub_download into `cache_dir` (as alice by default; False: anonymously); returns the bytes."""
    path = hf_hub_download(repo_id, filename, cache_dir=cache_dir, token=token, **kwargs)
    return Path(path).read_bytes()


def set_private(api: HfApi, repo_id: str, private: bool, repo_type: str | None = None) -> None:
    """update_repo_settings (newer clients) or update_repo_visibility (0.20.x, removed in 1.0)."""
    if hasattr(api, "update_repo_settings"):
        api.update_repo_settings(repo_id, private=private, repo_type=repo_type)
    else:
        api.update_repo_visibility(repo_id, private=private, repo_type=repo_type)


def head_commit(api: HfApi, repo_id: str, revision: str = "main", repo_type: str | None = None) -> str:
    """The commit id that `revision` points at, as reported by the repo info endpoint."""
    return api.repo_info(repo_id, revision=revision, repo_type=repo_type).sha


def assert_remote_entry_not_found(excinfo) -> None:
    """The error came from the server's EntryNotFound answer, not from a failed connection."""
    assert isinstance(excinfo.value, RemoteEntryNotFoundError), repr(excinfo.value)
    assert not isinstance(excinfo.value, LocalEntryNotFoundError), repr(excinfo.value)


def status_of(excinfo) -> int:
    """HTTP status behind a client exception."""
    return excinfo.value.response.status_code


def session_request(method: str, path: str, token: str | None = None, headers: dict | None = None):
    """A raw request through the client's own HTTP session (requests in 0.20.x, httpx later).

    For protocol checks the high-level API does not expose (Range answers, Link headers, …).
    """
    all_headers = dict(headers or {})
    if token:
        all_headers["authorization"] = f"Bearer {token}"
    return huggingface_hub.utils.get_session().request(method, f"{ENDPOINT}{path}", headers=all_headers)
