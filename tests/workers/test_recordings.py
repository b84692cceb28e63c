"""The recording index's packing and arithmetic, and its database form on SQLite and
PostgreSQL: a range is found in the hours it covers, a retried add writes nothing twice,
forgetting removes exactly what retention deleted."""

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from video_service.api.db import create_database
from video_service.api.models import RecordingHour
from video_service.api.recording_store import DatabaseRecordings
from video_service.shared.recording_index import (
    HOUR_S,
    Recorded,
    Span,
    gaps_between,
    last_start,
    pack,
    spans_of,
    unpack,
)
from workers.base.errors import BadMediaPath
from workers.base.layout import parse_media_path

CAMERA = "c" * 32
T0 = 1_790_000_000.0  # 2026-09-21


def run(start: float, count: int, number: int = 0, step: float = 6.0) -> list[Recorded]:
    return [
        Recorded(start + i * step, step, 1000 + i, number + i, discontinuity=(i == 0))
        for i in range(count)
    ]


def test_entries_survive_packing_to_the_millisecond() -> None:
    hour = int(T0 // HOUR_S)
    entries = [Recorded(hour * HOUR_S + 0.001, 6.006, 2**32 - 1, 2**40, True),
               Recorded(hour * HOUR_S + 3599.999, 0.5, 0, 7, False)]  # fmt: skip
    blob = pack(hour, entries)
    assert unpack(hour, blob) == entries
    assert last_start(hour, blob) == entries[-1].start
    assert last_start(hour, b"") is None


def test_spans_join_what_touches_and_gaps_fill_the_rest() -> None:
    entries = [*run(T0, 3), *run(T0 + 18.5, 2, 3), *run(T0 + 60, 2, 5)]
    spans = spans_of(entries)
    assert spans == [Span(T0, T0 + 30.5), Span(T0 + 60, T0 + 72)]
    assert gaps_between(spans, T0 - 10, T0 + 100) == [
        Span(T0 - 10, T0), Span(T0 + 30.5, T0 + 60), Span(T0 + 72, T0 + 100)
    ]  # fmt: skip
    assert spans_of([]) == [] and gaps_between([], 1, 2) == [Span(1, 2)]


def test_a_recording_playlist_path_is_parsed_and_nothing_else_passes() -> None:
    camera = "a" * 32
    assert parse_media_path(f"/live/{camera}/source/vod_1000_7000.m3u8").vod_range == (1000, 7000)
    assert parse_media_path(f"/live/{camera}/source/seg_000001.ts").vod_range is None
    for name in [
        "360p/vod_1_2.m3u8",
        "source/vod_-1_2.m3u8",
        "source/vod_1_2.m3u8%00",
        "source/vod_1_2\x01.m3u8",
        "source/../vod_1_2.m3u8",
        "source/vod_1_2.ts",
        f"source/vod_{'9' * 16}_1.m3u8",
        "source/vod_1_2_3.m3u8",
        "source/vod__.m3u8",
    ]:
        with pytest.raises(BadMediaPath):
            parse_media_path(f"/live/{camera}/{name}")


@pytest.fixture
def sessions(database_url: str) -> Iterator["sessionmaker[Session]"]:
    made = create_database(database_url)
    yield made
    made.kw["bind"].dispose()


def test_the_index_finds_a_range_across_hours_and_forgets_what_retention_took(
    sessions: "sessionmaker[Session]",
) -> None:
    index = DatabaseRecordings(sessions)
    entries = run(T0, 1300)  # 2 h 10 min: three hours' rows
    for start in range(0, 1300, 100):
        index.add(CAMERA, entries[start : start + 100])
    index.add(CAMERA, entries[1200:1300])  # a retried add: nothing twice
    index.add("d" * 32, run(T0, 5))
    assert index.find(CAMERA, T0, T0 + 1300 * 6) == entries
    middle = index.find(CAMERA, T0 + 3000, T0 + 3600)
    assert middle[0].start <= T0 + 3000 < middle[0].end and middle[-1].start < T0 + 3600
    assert [e.number for e in middle] == list(range(500, 600))
    assert index.find(CAMERA, T0 - 100, T0) == [] and index.find(CAMERA, T0 + 9, T0 + 9) == []

    # Spans, from the per-row cache: the same as from the entries, and fresh after a write.
    for lo, hi in [
        (T0, T0 + 7800),
        (T0 + 3000, T0 + 3600),
        (T0 - 500, T0 + 10),
        (T0 + 7000, T0 + 9000),
    ]:
        assert index.spans(CAMERA, lo, hi) == [
            Span(max(s.start, lo), min(s.end, hi)) for s in spans_of(index.find(CAMERA, lo, hi))
        ]
    assert index.spans(CAMERA, T0, T0 + 9000) == [Span(T0, T0 + 7800)]
    index.add(CAMERA, run(T0 + 7900, 2, 5000))  # after a 100 s gap
    assert index.spans(CAMERA, T0, T0 + 9000) == [Span(T0, T0 + 7800), Span(T0 + 7900, T0 + 7912)]

    dropped = index.forget(CAMERA, range(0, 700), before=T0 + 700 * 6)
    assert dropped == 700
    left = index.find(CAMERA, T0, T0 + 1300 * 6 - 1)
    assert [e.number for e in left] == list(range(700, 1300))
    assert index.spans(CAMERA, T0, T0 + 7800) == [Span(T0 + 700 * 6, T0 + 7800)]
    with sessions() as session:
        rows = session.scalar(select(func.count()).select_from(RecordingHour))
    first_hour = int(T0 // HOUR_S)
    assert rows == len({int(e.start // HOUR_S) for e in left}) + 1, first_hour  # + camera d
    assert index.forget(CAMERA, [], before=T0 + 99999) == 0
