"""Where a ladder is written: a staging directory beside the output, published by rename.

A VOD ladder is built in `.NAME.staging-TOKEN` next to OUTDIR and renamed into place only when
complete, so no reader ever sees a half-written segment or a playlist naming a missing one,
and a job killed half-way and run again leaves exactly one complete output.
"""

import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from workers.base.errors import StorageUnavailable
from workers.engine.errors import BadOutputError

_UNREACHABLE = (errno.ENOENT, errno.EACCES, errno.EROFS, errno.ENOSPC, errno.EIO, errno.EDQUOT)


def check_output_location(outdir: Path) -> Path:
    outdir = outdir.expanduser().absolute()
    if outdir.exists() and not outdir.is_dir():
        raise BadOutputError(f"output {outdir} exists and is not a directory")
    if not outdir.parent.is_dir():
        raise StorageUnavailable(f"output location {outdir.parent} is not reachable (missing)")
    return outdir


def open_staging(outdir: Path) -> Path:
    remove_stale_staging(outdir)
    staging = outdir.parent / f".{outdir.name}.staging-{uuid.uuid4().hex[:12]}"
    with _storage_errors(f"cannot write to {outdir.parent}"):
        staging.mkdir()
    return staging


def remove_stale_staging(outdir: Path) -> None:
    """Remove what earlier, killed attempts left. Callers hold the job's lease."""
    for leftover in outdir.parent.glob(f".{outdir.name}.staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in outdir.parent.glob(f".{outdir.name}.old-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def discard_staging(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


def publish_staging(staging: Path, outdir: Path) -> None:
    """Put a complete ladder in place; a previous one is replaced as a whole."""
    retired = outdir.parent / f".{outdir.name}.old-{uuid.uuid4().hex[:12]}"
    with _storage_errors(f"cannot publish to {outdir}"):
        if outdir.exists():
            os.rename(outdir, retired)
        os.rename(staging, outdir)
    shutil.rmtree(retired, ignore_errors=True)


def replace_text(path: Path, text: str) -> None:
    """Replace a playlist whole: write a hidden temporary file beside it, then rename."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def make_rung_dirs(outdir: Path, names: list[str]) -> None:
    with _storage_errors(f"cannot write to {outdir}"):
        for name in names:
            (outdir / name).mkdir(parents=True, exist_ok=True)


@contextmanager
def _storage_errors(message: str) -> Iterator[None]:
    try:
        yield
    except OSError as error:
        if error.errno in _UNREACHABLE:
            raise StorageUnavailable(f"{message}: {error.strerror}") from error
        raise
