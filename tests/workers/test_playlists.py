from workers.engine.playlists import (
    Rendition,
    build_aac_codec,
    build_avc_codec,
    build_master_playlist,
    mark_unusable_segments,
)


def test_master_states_every_attribute_lowest_first() -> None:
    renditions = [
        Rendition("1080p", 1920, 1080, 30.0, 5_600_000, 4_900_000, "avc1.640028,mp4a.40.2", 3),
        Rendition("240p", 426, 240, 29.97, 450_000, 410_000, "avc1.640015,mp4a.40.2", 3),
    ]
    assert build_master_playlist(renditions) == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:6\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=450000,AVERAGE-BANDWIDTH=410000,RESOLUTION=426x240,"
        'CODECS="avc1.640015,mp4a.40.2",FRAME-RATE=29.970\n'
        "240p/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=5600000,AVERAGE-BANDWIDTH=4900000,RESOLUTION=1920x1080,"
        'CODECS="avc1.640028,mp4a.40.2",FRAME-RATE=30.000\n'
        "1080p/index.m3u8\n"
    )


def test_codec_strings() -> None:
    assert build_avc_codec("High", 40) == "avc1.640028"
    assert build_avc_codec("Main", 31) == "avc1.4d401f"
    assert build_avc_codec("Constrained Baseline", 30) == "avc1.42e01e"
    assert build_aac_codec("LC") == "mp4a.40.2"
    assert build_aac_codec("HE-AAC") == "mp4a.40.5"


def test_segments_that_are_empty_or_missing_are_marked_as_gaps() -> None:
    text = (
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:4\n"
        "#EXTINF:6.000000,\nseg_000004.ts\n#EXTINF:6.000000,\nseg_000005.ts\n"
        "#EXTINF:6.000000,\n#EXT-X-GAP\nseg_000006.ts\n#EXTINF:6.000000,\nseg_000007.ts\n"
    )
    whole = {"seg_000004.ts", "seg_000007.ts"}
    assert mark_unusable_segments(text, whole.__contains__) == (
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:4\n"
        "#EXTINF:6.000000,\nseg_000004.ts\n#EXTINF:6.000000,\n#EXT-X-GAP\nseg_000005.ts\n"
        "#EXTINF:6.000000,\n#EXT-X-GAP\nseg_000006.ts\n#EXTINF:6.000000,\nseg_000007.ts\n"
    )
