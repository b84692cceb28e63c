"""Parse FFmpeg's `-progress` output: blocks of key=value lines, each ended by `progress=`."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    out_time_s: float
    speed: float | None
    frame: int
    ended: bool

    def percent_of(self, duration_s: float | None) -> float | None:
        if not duration_s or duration_s <= 0:
            return None
        if self.ended:
            return 100.0
        return max(0.0, min(99.9, 100.0 * self.out_time_s / duration_s))


def parse_progress(lines: Iterable[str]) -> Iterator[Progress]:
    block: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.strip().partition("=")
        if not sep:
            continue
        block[key] = value.strip()
        if key == "progress":
            yield _to_progress(block)
            block = {}


def _to_progress(block: dict[str, str]) -> Progress:
    return Progress(
        out_time_s=_parse_microseconds(block.get("out_time_us") or block.get("out_time_ms")),
        speed=_parse_speed(block.get("speed")),
        frame=_parse_int(block.get("frame")),
        ended=block.get("progress") == "end",
    )


def _parse_microseconds(value: str | None) -> float:
    # out_time_ms is, despite its name, microseconds too.
    try:
        return max(0.0, int(value or "0") / 1_000_000)
    except ValueError:
        return 0.0


def _parse_speed(value: str | None) -> float | None:
    try:
        return float((value or "").rstrip("x"))
    except ValueError:
        return None


def _parse_int(value: str | None) -> int:
    try:
        return int(value or "0")
    except ValueError:
        return 0
