from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import m3u8

from cdn.rewrite import RewriteCache, rewrite_playlist
from cdn.signing import OriginSigner, StreamGrant
from workers.base.settings import WorkerSettings
from workers.engine.file_job import run_transcode

MEDIA = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:41
#EXT-X-MAP:URI="init.mp4"
#EXT-X-KEY:METHOD=AES-128,URI="../keys/k1.bin",IV=0x1
#EXT-X-CONTENT-STEERING:SERVER-URI="/api/steering/cam-1",PATHWAY-ID="fastly"
#EXTINF:6.000,
seg_00041.ts
#EXT-X-DISCONTINUITY
#EXTINF:6.000,
seg_00042.ts?v=2
"""


def echo_path(path: str) -> str:
    return f"t={path}"


def test_every_uri_and_uri_attribute_carries_its_own_token() -> None:
    assert rewrite_playlist(MEDIA, "/live/cam-1/240p/index.m3u8", echo_path) == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:7\n"
        "#EXT-X-TARGETDURATION:6\n"
        "#EXT-X-MEDIA-SEQUENCE:41\n"
        '#EXT-X-MAP:URI="init.mp4?t=/live/cam-1/240p/init.mp4"\n'
        '#EXT-X-KEY:METHOD=AES-128,URI="../keys/k1.bin?t=/live/cam-1/keys/k1.bin",IV=0x1\n'
        '#EXT-X-CONTENT-STEERING:SERVER-URI="/api/steering/cam-1",PATHWAY-ID="fastly"\n'
        "#EXTINF:6.000,\n"
        "seg_00041.ts?t=/live/cam-1/240p/seg_00041.ts\n"
        "#EXT-X-DISCONTINUITY\n"
        "#EXTINF:6.000,\n"
        "seg_00042.ts?v=2&t=/live/cam-1/240p/seg_00042.ts\n"
    )


def test_a_real_ladder_rewritten_with_origin_tokens_verifies_everywhere(
    source_small: Path, settings: WorkerSettings, tmp_path: Path
) -> None:
    run_transcode(str(source_small), tmp_path / "cam-1", settings)
    signer = OriginSigner("s3cret")
    grant = StreamGrant("/vod/cam-1/", 2_000_000_000)

    def query(path: str) -> str:
        return signer.query(path, grant)

    master_text = (tmp_path / "cam-1" / "master.m3u8").read_text()
    master = m3u8.loads(rewrite_playlist(master_text, "/vod/cam-1/master.m3u8", query))
    for variant in master.playlists:
        uri = urlsplit(variant.uri)
        token = parse_qs(uri.query)["token"][0]
        assert signer.verify(f"/vod/cam-1/{uri.path}", token, now=1_900_000_000) == grant
        media_text = (tmp_path / "cam-1" / uri.path).read_text()
        media_path = f"/vod/cam-1/{uri.path}"
        media = m3u8.loads(rewrite_playlist(media_text, media_path, query))
        assert media.segments
        for segment in media.segments:
            parts = urlsplit(segment.uri)
            full = f"/vod/cam-1/{uri.path.rsplit('/', 1)[0]}/{parts.path}"
            assert signer.verify(full, parse_qs(parts.query)["token"][0], now=1_900_000_000)


def test_the_cache_serves_an_unchanged_playlist_without_rewriting() -> None:
    cache = RewriteCache(max_entries=2)
    calls: list[str] = []

    def build() -> str:
        calls.append("built")
        return "rewritten"

    key = ("cam-1", "fastly", 1_900_000_000, "/live/cam-1/240p/index.m3u8")
    assert cache.get(key, MEDIA, build) == "rewritten"
    assert cache.get(key, MEDIA, build) == "rewritten"
    assert calls == ["built"]
    cache.get(key, MEDIA + "#EXTINF:6.000,\nseg_00043.ts\n", build)
    assert calls == ["built", "built"], "a new segment is a new playlist"
    cache.get(("other",), MEDIA, build)
    assert len(cache) == 2
