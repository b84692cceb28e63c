"""How the edge hands what it wrote to storage (`Uploads`).

With a bucket it is a `Spool`: uploads (and deletes) kept on local disk and sent in the order
handed over, retried with backoff while storage is down, so that a segment always reaches
storage before any playlist that names it and nothing is lost in an outage. Without one it is
`InPlace`: the media root *is* the store, so what was written there is stored already.
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

from workers.base.errors import StorageRefused, StorageUnavailable
from workers.base.storage import S3Storage, Storage

log = logging.getLogger(__name__)


class Uploads(Protocol):
    """How what a process wrote locally reaches storage, in the order handed over."""

    def put(self, key: str, path: Path, *, live: bool = True) -> None: ...

    def put_text(self, key: str, text: str, *, live: bool = True) -> None:
        """A playlist as it was when read (the file may have moved on since)."""
        ...

    def delete(self, key: str) -> None:
        """Delete the object once everything handed over before has reached storage."""
        ...

    @property
    def pending(self) -> int: ...

    def close(self) -> None: ...


class InPlace:
    """No bucket: the media root is the store, so what the edge and the workers wrote there
    is stored already, and what the sweep deleted there is gone from it."""

    def put(self, key: str, path: Path, *, live: bool = True) -> None:
        pass

    def put_text(self, key: str, text: str, *, live: bool = True) -> None:
        pass

    def delete(self, key: str) -> None:
        pass

    @property
    def pending(self) -> int:
        return 0

    def close(self) -> None:
        pass


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
        backoff_max_s: float = 10.0,  # storage back is noticed within 10 s
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._storage = storage
        self._directory = directory
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s
        self._sleep = sleep
        self._lock = threading.Condition()
        self._stopped = False
        self._claim: IO[str] | None = None
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._queue = [entry for entry in map(_parse_held, sorted(directory.iterdir())) if entry]
        self._thread = threading.Thread(target=self._drain, name="sparc-spool", daemon=True)
        self._thread.start()

    @classmethod
    def claim(cls, storage: Storage, base: Path, role: str, **options: Any) -> "Spool":
        """A spool in the first `base/{role}-{n}` no running process holds: what a process
        that stopped left there is drained by the next one to claim it."""
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
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

    def put_text(self, key: str, text: str, *, live: bool = True) -> None:
        mode = PUT_LIVE if live else PUT_VOD
        held = self._hold(key, mode)
        temporary = held.with_name(f".{held.name}")
        temporary.write_text(text)
        os.replace(temporary, held)
        self._enqueue(key, held, mode)

    def delete(self, key: str) -> None:
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
                self._send(key, held, mode)
            except (StorageUnavailable, StorageRefused) as error:
                # Unreachable: it comes back. Refused: a configuration someone will fix.
                # Either way the upload waits here; nothing is dropped.
                log.warning("storage did not take %s (%s); %d waiting", key, error, self.pending)
                self._sleep(backoff)
                backoff = min(backoff * 2, self._backoff_max_s)
                continue
            backoff = self._backoff_s
            held.unlink(missing_ok=True)
            with self._lock:
                self._queue.pop(0)

    def _send(self, key: str, held: Path, mode: str) -> None:
        if mode == DELETE:
            self._storage.delete(key)
        else:
            self._storage.put_file(key, held, live=mode == PUT_LIVE)


def open_uploads(
    bucket: str | None, endpoint_url: str | None, state_dir: Path, role: str
) -> Uploads:
    """This process's way to storage: a spool (`state_dir/spool/{role}-N`) to the bucket,
    or, with no bucket, in place."""
    if not bucket:
        return InPlace()
    return Spool.claim(S3Storage.connect(endpoint_url, bucket), state_dir / "spool", role)


def spool_backlog(state_dir: Path, role: str) -> tuple[int, float | None]:
    """How many uploads and deletes wait in the spools of `role` under `state_dir`, and when
    the oldest was handed over (read from the disk: any process may ask, the metrics' too)."""
    count, oldest = 0, None
    for folder in (state_dir / "spool").glob(f"{role}-*"):
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            for entry in folder.iterdir():
                if entry.name.startswith("."):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    held = entry.stat().st_mtime
                    count += 1
                    oldest = held if oldest is None else min(oldest, held)
    return count, oldest


def _parse_held(path: Path) -> tuple[str, Path, str] | None:
    """A file a previous process spooled: (key, file, mode), in the order handed over."""
    parts = path.name.split("-", 2)
    if path.name.startswith(".") or len(parts) != 3 or parts[1] not in _MODES:
        return None
    return unquote(parts[2]), path, parts[1]
