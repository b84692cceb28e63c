"""Object storage shared by the edge and the workers: a local directory (the default) or an
S3-compatible bucket (MinIO, AWS S3), and a spool that keeps uploads when storage is down.

Keys are paths like `live/{camera}/source/seg_000042.ts`. Segments are immutable and cached
long; playlists are replaced whole and cached for a second (VOD ones longer). The spool
writes a segment before any playlist that names it, in the order they were handed over.
"""

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote

from workers.errors import StorageUnavailable

log = logging.getLogger(__name__)

SEGMENT_CACHE = "public, max-age=31536000, immutable"
LIVE_PLAYLIST_CACHE = "public, max-age=1"
VOD_PLAYLIST_CACHE = "public, max-age=300"


def cache_control(key: str, *, live: bool = True) -> str:
    if key.endswith(".m3u8"):
        return LIVE_PLAYLIST_CACHE if live else VOD_PLAYLIST_CACHE
    return SEGMENT_CACHE


def content_type(key: str) -> str:
    return "application/vnd.apple.mpegurl" if key.endswith(".m3u8") else "video/mp2t"


class Storage(Protocol):
    def put_file(self, key: str, path: Path, *, live: bool = True) -> None: ...
    def get_bytes(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def list(self, prefix: str) -> list[str]: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put_file(self, key: str, path: Path, *, live: bool = True) -> None:
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.tmp")
            shutil.copyfile(path, temporary)
            os.replace(temporary, target)  # replaced whole: never half-written
        except OSError as error:
            raise StorageUnavailable(f"cannot write {key}: {error.strerror}") from error

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not base.exists():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file())

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"key {key!r} leaves the storage root")
        return path


class S3Storage:
    """Any S3 wire-protocol server, through boto3."""

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
        extra = {"CacheControl": cache_control(key, live=live), "ContentType": content_type(key)}
        try:
            self._client.upload_file(str(path), self._bucket, key, ExtraArgs=extra)
        except Exception as error:  # botocore raises many kinds; all mean "not stored"
            raise StorageUnavailable(f"cannot upload {key}: {error}") from error

    def get_bytes(self, key: str) -> bytes:
        body: bytes = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return body

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=key)

    def list(self, prefix: str) -> list[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=prefix
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


class Spool:
    """Uploads handed over in order, retried with backoff while storage is down; the files
    wait in the spool directory, so nothing is lost and the caller never blocks."""

    def __init__(
        self,
        storage: Storage,
        directory: Path,
        *,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._storage = storage
        self._directory = directory
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s
        self._sleep = sleep
        self._queue: list[tuple[str, Path, bool]] = []
        self._lock = threading.Condition()
        self._stopped = False
        directory.mkdir(parents=True, exist_ok=True)
        self._queue = [entry for entry in map(_parse_held, sorted(directory.iterdir())) if entry]
        self._thread = threading.Thread(target=self._drain, name="sparc-spool", daemon=True)
        self._thread.start()

    def put(self, key: str, path: Path, *, live: bool = True) -> None:
        """Copy the file into the spool now; upload it when storage takes it."""
        mode = "L" if live else "V"
        held = self._directory / f"{time.time_ns():020d}-{mode}-{quote(key, safe='')}"
        temporary = held.with_name(f".{held.name}")
        shutil.copyfile(path, temporary)
        os.replace(temporary, held)
        with self._lock:
            self._queue.append((key, held, live))
            self._lock.notify()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def wait_empty(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.pending

    def close(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify()
        self._thread.join(5)

    def _drain(self) -> None:
        backoff = self._backoff_s
        while True:
            with self._lock:
                while not self._queue and not self._stopped:
                    self._lock.wait()
                if self._stopped:
                    return
                key, held, live = self._queue[0]
            try:
                self._storage.put_file(key, held, live=live)
            except StorageUnavailable as error:
                log.warning("storage unavailable (%s); %d uploads spooled", error, self.pending)
                self._sleep(backoff)
                backoff = min(backoff * 2, self._backoff_max_s)
                continue
            backoff = self._backoff_s
            held.unlink(missing_ok=True)
            with self._lock:
                self._queue.pop(0)


def _parse_held(path: Path) -> tuple[str, Path, bool] | None:
    """A file a previous process spooled: (key, file, live), in the order handed over."""
    parts = path.name.split("-", 2)
    if path.name.startswith(".") or len(parts) != 3:
        return None
    return unquote(parts[2]), path, parts[1] == "L"
