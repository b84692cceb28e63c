"""Object storage shared by the edge and the workers: a local directory (the default) or an
S3-compatible bucket (MinIO, AWS S3), and a spool that keeps uploads when storage is down.

Keys are paths like `live/{camera}/source/seg_000042.ts`. Segments are immutable and cached
long; playlists are replaced whole and cached for a second (VOD ones longer). The spool
writes a segment before any playlist that names it, in the order they were handed over.
"""

import contextlib
import fcntl
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol
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
    def get_bytes(self, key: str) -> bytes:
        """The object's bytes; KeyError when there is none."""
        ...

    def modified_at(self, key: str) -> float | None:
        """When the object was last written (epoch seconds); None when there is none."""
        ...

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
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None

    def modified_at(self, key: str) -> float | None:
        try:
            return self._path(key).stat().st_mtime
        except (FileNotFoundError, NotADirectoryError):
            return None

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            self._path(key).unlink()

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
        try:
            body: bytes = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except self._client.exceptions.NoSuchKey:
            raise KeyError(key) from None
        except Exception as error:
            raise StorageUnavailable(f"cannot read {key}: {error}") from error
        return body

    def modified_at(self, key: str) -> float | None:
        from botocore.exceptions import ClientError

        try:
            head = self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageUnavailable(f"cannot read {key}: {error}") from error
        except Exception as error:
            raise StorageUnavailable(f"cannot read {key}: {error}") from error
        return float(head["LastModified"].timestamp())

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self._bucket, Key=key)
        except Exception as error:
            raise StorageUnavailable(f"cannot delete {key}: {error}") from error

    def list(self, prefix: str) -> list[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=prefix
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


PUT_LIVE, PUT_VOD, DELETE = "L", "V", "D"
_MODES = {PUT_LIVE, PUT_VOD, DELETE}


class Spool:
    """Uploads (and deletes) handed over in order, retried with backoff while storage is
    down; the files wait in the spool directory, so nothing is lost and the caller never
    blocks. One process drains a directory at a time: `claim` finds one for a role."""

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
        self._queue: list[tuple[str, Path, str]] = []
        self._lock = threading.Condition()
        self._stopped = False
        self._claim: IO[str] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        self._queue = [entry for entry in map(_parse_held, sorted(directory.iterdir())) if entry]
        self._thread = threading.Thread(target=self._drain, name="sparc-spool", daemon=True)
        self._thread.start()

    @classmethod
    def claim(cls, storage: Storage, base: Path, role: str, **options: Any) -> "Spool":
        """A spool in the first `base/{role}-{n}` no running process holds: what a process
        that stopped left there is drained by the next one to claim it."""
        base.mkdir(parents=True, exist_ok=True)
        for slot in range(1024):
            handle = (base / f".{role}-{slot}.lock").open("a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            spool = cls(storage, base / f"{role}-{slot}", **options)
            spool._claim = handle  # held (and the slot with it) for the process's life
            return spool
        raise RuntimeError(f"no free spool slot under {base}")

    def put(self, key: str, path: Path, *, live: bool = True) -> None:
        """Copy the file into the spool now; upload it when storage takes it."""
        mode = PUT_LIVE if live else PUT_VOD
        held = self._hold(key, mode)
        temporary = held.with_name(f".{held.name}")
        shutil.copyfile(path, temporary)
        os.replace(temporary, held)
        self._enqueue(key, held, mode)

    def delete(self, key: str) -> None:
        """Delete the object once everything handed over before has reached storage."""
        held = self._hold(key, DELETE)
        held.touch()
        self._enqueue(key, held, DELETE)

    def _hold(self, key: str, mode: str) -> Path:
        return self._directory / f"{time.time_ns():020d}-{mode}-{quote(key, safe='')}"

    def _enqueue(self, key: str, held: Path, mode: str) -> None:
        with self._lock:
            self._queue.append((key, held, mode))
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
        if self._claim is not None:
            self._claim.close()  # the slot is free for the next process

    def _drain(self) -> None:
        backoff = self._backoff_s
        while True:
            with self._lock:
                while not self._queue and not self._stopped:
                    self._lock.wait()
                if self._stopped:
                    return
                key, held, mode = self._queue[0]
            try:
                if mode == DELETE:
                    self._storage.delete(key)
                else:
                    self._storage.put_file(key, held, live=mode == PUT_LIVE)
            except StorageUnavailable as error:
                log.warning("storage unavailable (%s); %d uploads spooled", error, self.pending)
                self._sleep(backoff)
                backoff = min(backoff * 2, self._backoff_max_s)
                continue
            backoff = self._backoff_s
            held.unlink(missing_ok=True)
            with self._lock:
                self._queue.pop(0)


def open_spool(
    bucket: str | None, endpoint_url: str | None, state_dir: Path, role: str
) -> "Spool | None":
    """This process's upload spool (`state_dir/spool/{role}-N`) when a bucket is configured;
    None when the local media directory is the only store."""
    if not bucket:
        return None
    return Spool.claim(S3Storage.connect(endpoint_url, bucket), state_dir / "spool", role)


def _parse_held(path: Path) -> tuple[str, Path, str] | None:
    """A file a previous process spooled: (key, file, mode), in the order handed over."""
    parts = path.name.split("-", 2)
    if path.name.startswith(".") or len(parts) != 3 or parts[1] not in _MODES:
        return None
    return unquote(parts[2]), path, parts[1]
