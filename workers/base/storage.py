"""Object storage shared by the edge, the workers and the origin.

`Storage` is what holds the media, under the keys of `workers.base.layout`: the local media root
(`LocalStorage`, the embedded default) or an S3-compatible bucket (`S3Storage`: MinIO, AWS
S3). Segments are immutable and cached long; playlists are replaced whole and cached for a
second (VOD ones longer).

How what a process wrote reaches it is `workers.base.spool`.

Errors: a store that cannot be reached (connection refused, timeout, a 5xx or throttling
answer) raises `StorageUnavailable` and is retried; a store that answers no (access denied,
no such bucket) raises `StorageRefused`; anything else is a bug and is not caught here.
"""

import contextlib
import logging
import os
import shutil
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from workers.base.errors import StorageRefused, StorageUnavailable

log = logging.getLogger(__name__)

SEGMENT_CACHE = "public, max-age=31536000, immutable"
LIVE_PLAYLIST_CACHE = "public, max-age=1"
VOD_PLAYLIST_CACHE = "public, max-age=300"
# S3 error codes that mean "not now" rather than "no".
_SLOW_DOWN = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout",
                        "InternalError", "ServiceUnavailable"})  # fmt: skip
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


def cache_control(key: str, *, live: bool = True) -> str:
    if key.endswith(".m3u8"):
        return LIVE_PLAYLIST_CACHE if live else VOD_PLAYLIST_CACHE
    return SEGMENT_CACHE


def content_type(key: str) -> str:
    return "application/vnd.apple.mpegurl" if key.endswith(".m3u8") else "video/mp2t"


@dataclass(frozen=True)
class ObjectStat:
    modified_at: float  # epoch seconds
    version: Hashable  # changes whenever the object does
    size: int


class Storage(Protocol):
    # True when calls wait on the network: an event loop runs them in a thread.
    remote: bool

    def put_file(self, key: str, path: Path, *, live: bool = True) -> None: ...

    def put_bytes(self, key: str, data: bytes, *, live: bool = True) -> None: ...

    def get_bytes(self, key: str) -> bytes:
        """The object's bytes; KeyError when there is none."""
        ...

    def stat(self, key: str) -> ObjectStat | None:
        """When the object was last written and its version; None when there is none."""
        ...

    def local_file(self, key: str) -> Path | None:
        """The file on this machine that holds the object, for serving it without a copy;
        None when the store is remote. KeyError when there is no such object."""
        ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str) -> list[str]: ...


class LocalStorage:
    """A directory: the media root of one machine."""

    remote = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self._prefix = f"{root}{os.sep}"

    def put_file(self, key: str, path: Path, *, live: bool = True) -> None:
        target = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            if os.path.samefile(path, target):
                return  # written in place: stored already
        with _unreachable(f"cannot write {key}"):
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.tmp")
            shutil.copyfile(path, temporary)
            os.replace(temporary, target)  # replaced whole: never half-written

    def put_bytes(self, key: str, data: bytes, *, live: bool = True) -> None:
        target = self._path(key)
        with _unreachable(f"cannot write {key}"):
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.tmp")
            temporary.write_bytes(data)
            os.replace(temporary, target)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None

    def stat(self, key: str) -> ObjectStat | None:
        try:
            found = os.stat(self._file(key))  # a string: the origin asks on every poll
        except (FileNotFoundError, NotADirectoryError):
            return None
        version = (found.st_mtime_ns, found.st_size, found.st_ino)
        return ObjectStat(found.st_mtime, version, found.st_size)

    def local_file(self, key: str) -> Path | None:
        path = self._path(key)
        if not path.is_file():
            raise KeyError(key)
        return path

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            self._path(key).unlink()

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix.rstrip("/"))
        if not base.exists():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())

    def _path(self, key: str) -> Path:
        return Path(self._file(key))

    def _file(self, key: str) -> str:
        """Keys are made of plain names (nothing we write is a link), so checking the parts
        keeps a key inside the root without resolving it (a syscall per part)."""
        parts = key.split("/")
        if any(part in ("", ".", "..") or "\\" in part or "\x00" in part for part in parts):
            raise ValueError(f"key {key!r} is not a plain relative path")
        return self._prefix + key


class S3Storage:
    """Any S3 wire-protocol server, through boto3 (MinIO speaks it too)."""

    remote = True

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    @classmethod
    def connect(cls, endpoint_url: str | None, bucket: str, **credentials: str) -> "S3Storage":
        import boto3  # only where S3 is configured
        from botocore.config import Config

        config = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10)
        client = boto3.client("s3", endpoint_url=endpoint_url, config=config, **credentials)
        return cls(client, bucket)

    def put_file(self, key: str, path: Path, *, live: bool = True) -> None:
        with path.open("rb") as body:
            self.put_bytes(key, body.read(), live=live)

    def put_bytes(self, key: str, data: bytes, *, live: bool = True) -> None:
        with _s3_errors(f"cannot upload {key}"):
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=data,
                CacheControl=cache_control(key, live=live),
                ContentType=content_type(key),
            )

    def get_bytes(self, key: str) -> bytes:
        with _s3_errors(f"cannot read {key}", missing=key):
            body: bytes = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return body

    def stat(self, key: str) -> ObjectStat | None:
        try:
            with _s3_errors(f"cannot read {key}", missing=key):
                head = self._client.head_object(Bucket=self._bucket, Key=key)
        except KeyError:
            return None
        modified = float(head["LastModified"].timestamp())
        return ObjectStat(modified, head.get("ETag"), int(head.get("ContentLength", 0)))

    def local_file(self, key: str) -> Path | None:
        return None

    def delete(self, key: str) -> None:
        with _s3_errors(f"cannot delete {key}"):
            self._client.delete_object(Bucket=self._bucket, Key=key)

    def list(self, prefix: str) -> list[str]:
        with _s3_errors(f"cannot list {prefix}"):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=prefix
            )
            return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@contextlib.contextmanager
def _s3_errors(message: str, *, missing: str | None = None) -> Any:
    """botocore's errors as ours: unreachable or busy is StorageUnavailable, a refusal is
    StorageRefused, a missing object KeyError (where `missing` names it)."""
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    try:
        yield
    except (BotoConnectionError, HTTPClientError) as error:
        raise StorageUnavailable(f"{message}: {error}") from error
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if missing is not None and (code in _MISSING or status == 404):
            raise KeyError(missing) from None
        if status >= 500 or code in _SLOW_DOWN:
            raise StorageUnavailable(f"{message}: {error}") from error
        raise StorageRefused(f"{message}: {error}") from error


@contextlib.contextmanager
def _unreachable(message: str) -> Any:
    try:
        yield
    except OSError as error:
        raise StorageUnavailable(f"{message}: {error.strerror}") from error


def open_storage(bucket: str | None, endpoint_url: str | None, media_root: Path) -> Storage:
    """The store: the bucket when one is configured, else the local media root."""
    if bucket:
        return S3Storage.connect(endpoint_url, bucket)
    return LocalStorage(media_root)
