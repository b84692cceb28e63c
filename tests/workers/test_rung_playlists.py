from datetime import UTC, datetime

from workers.engine.playlists import build_rung_playlist, media_sequence_of, parse_source_window

SOURCE = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:40
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:6.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-27T10:00:00.000+0000
seg_000040.ts
#EXTINF:6.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-27T10:00:06.000+0000
seg_000041.ts
#EXT-X-DISCONTINUITY
#EXTINF:6.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-27T10:00:30.000+0000
seg_000042.ts
#EXTINF:6.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-27T10:00:36.000+0000
seg_000043.ts
"""
T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC).timestamp()
HEAD = (
    "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:40\n"
    "#EXT-X-INDEPENDENT-SEGMENTS\n"
)


def entry(pdt: str, uri: str, gap: bool = False, discontinuity: bool = False) -> str:
    return (
        ("#EXT-X-DISCONTINUITY\n" if discontinuity else "")
        + f"#EXT-X-PROGRAM-DATE-TIME:2026-11-27T10:00:{pdt}.000+00:00\n#EXTINF:6.000000,\n"
        + ("#EXT-X-GAP\n" if gap else "")
        + f"{uri}\n"
    )


def test_a_rung_lists_what_it_has_and_stops_at_work_in_progress() -> None:
    window = parse_source_window(SOURCE)
    text = build_rung_playlist(
        window, {"seg_000040.ts", "seg_000041.ts", "seg_000043.ts"}, now=T0 + 40, deadline_s=18
    )
    assert text == HEAD + entry("00", "seg_000040.ts") + entry("06", "seg_000041.ts")


def test_past_the_deadline_a_missing_segment_becomes_a_gap_and_the_list_goes_on() -> None:
    window = parse_source_window(SOURCE)
    text = build_rung_playlist(
        window, {"seg_000040.ts", "seg_000043.ts"}, now=T0 + 36 + 18.5, deadline_s=18
    )
    assert text == (
        HEAD
        + entry("00", "seg_000040.ts")
        + entry("06", "seg_000041.ts", gap=True)
        + entry("30", "seg_000042.ts", gap=True, discontinuity=True)
        + entry("36", "seg_000043.ts")
    )


def test_a_ladder_that_starts_late_begins_at_its_first_segment() -> None:
    window = parse_source_window(SOURCE)
    text = build_rung_playlist(window, {"seg_000042.ts"}, now=T0 + 40, deadline_s=18)
    assert text == HEAD.replace("SEQUENCE:40", "SEQUENCE:42") + entry(
        "30", "seg_000042.ts", discontinuity=True
    )


def test_the_media_sequence_never_goes_back() -> None:
    window = parse_source_window(SOURCE)
    text = build_rung_playlist(
        window, {"seg_000040.ts", "seg_000043.ts"}, now=T0 + 40, deadline_s=18, floor=43
    )
    assert text == HEAD.replace("SEQUENCE:40", "SEQUENCE:43") + entry("36", "seg_000043.ts")
    assert media_sequence_of(text) == 43
    assert media_sequence_of("") == 0
