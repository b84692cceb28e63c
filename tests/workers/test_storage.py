"""The storage contract on both backends (a local directory, and S3 over the wire to a real
S3 protocol server), and the spool through an outage."""

import time
from pathlib import Path

import boto3
import pytest

from tests.moto_harness import CREDENTIALS, MotoServer
from workers.base.errors import StorageRefused, StorageUnavailable
from workers.base.ports import free_port
from workers.base.spool import Spool
from workers.base.storage import LocalStorage, S3Storage, Storage


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "store")
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3Storage.connect(endpoint, "media", **CREDENTIALS)


def files(tmp_path: Path) -> tuple[Path, Path]:
    segment = tmp_path / "seg_000001.ts"
    segment.write_bytes(b"\x47" * 188 * 10)
    playlist = tmp_path / "index.m3u8"
    playlist.write_text("#EXTM3U\n#EXTINF:6.0,\nseg_000001.ts\n")
    return segment, playlist


def test_the_storage_contract(storage: Storage, tmp_path: Path) -> None:
    segment, playlist = files(tmp_path)
    storage.put_file("live/cam1/source/seg_000001.ts", segment)
    storage.put_file("live/cam1/source/index.m3u8", playlist)
    assert storage.get_bytes("live/cam1/source/seg_000001.ts") == segment.read_bytes()
    assert storage.list("live/cam1/") == [
        "live/cam1/source/index.m3u8", "live/cam1/source/seg_000001.ts",
    ]  # fmt: skip
    playlist.write_text("#EXTM3U\n")
    storage.put_file("live/cam1/source/index.m3u8", playlist)
    assert storage.get_bytes("live/cam1/source/index.m3u8") == b"#EXTM3U\n", "replaced whole"
    written = storage.stat("live/cam1/source/index.m3u8")
    assert written is not None and abs(written.modified_at - time.time()) < 60
    storage.put_bytes("live/cam1/source/index.m3u8", b"#EXTM3U\n#EXT-X-VERSION:6\n")
    rewritten = storage.stat("live/cam1/source/index.m3u8")
    assert rewritten is not None and rewritten.version != written.version
    storage.delete("live/cam1/source/seg_000001.ts")
    assert storage.list("live/cam1/") == ["live/cam1/source/index.m3u8"]
    with pytest.raises(KeyError):
        storage.get_bytes("live/cam1/source/seg_000001.ts")
    assert storage.stat("live/cam1/source/seg_000001.ts") is None
    storage.delete("live/cam1/source/seg_000001.ts")  # deleting what is gone is no error


def test_s3_objects_carry_their_cache_lifetimes(s3_endpoint: str, tmp_path: Path) -> None:
    storage = S3Storage.connect(s3_endpoint, "media", **CREDENTIALS)
    segment, playlist = files(tmp_path)
    storage.put_file("vod/a/seg_000001.ts", segment, live=False)
    storage.put_file("vod/a/index.m3u8", playlist, live=False)
    storage.put_file("live/a/index.m3u8", playlist)
    client = boto3.client("s3", endpoint_url=s3_endpoint, **CREDENTIALS)

    def head(key: str) -> tuple[str, str]:
        found = client.head_object(Bucket="media", Key=key)
        return found["CacheControl"], found["ContentType"]

    assert head("vod/a/seg_000001.ts") == ("public, max-age=31536000, immutable", "video/mp2t")
    assert head("vod/a/index.m3u8") == ("public, max-age=300", "application/vnd.apple.mpegurl")
    assert head("live/a/index.m3u8")[0] == "public, max-age=1"


def test_a_key_cannot_leave_the_local_root(tmp_path: Path) -> None:
    for key in ("../../etc/passwd", "live//x", "live/./x", "live/a\x00b"):
        with pytest.raises(ValueError, match="not a plain relative path"):
            LocalStorage(tmp_path / "store").get_bytes(key)


def test_a_file_already_in_the_local_store_is_stored_in_place(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "store")
    segment = tmp_path / "store" / "live" / "cam1" / "source" / "seg_000001.ts"
    segment.parent.mkdir(parents=True)
    segment.write_bytes(b"\x47" * 188)
    before = segment.stat().st_ino
    store.put_file("live/cam1/source/seg_000001.ts", segment)
    assert segment.stat().st_ino == before, "not copied over itself"
    assert store.local_file("live/cam1/source/seg_000001.ts") == segment
    with pytest.raises(KeyError):
        store.local_file("live/cam1/source/seg_000002.ts")


def test_a_bucket_that_refuses_is_not_transient_and_the_spool_keeps_what_it_refused(
    s3_endpoint: str, tmp_path: Path
) -> None:
    missing = S3Storage.connect(s3_endpoint, "no-such-bucket", **CREDENTIALS)
    segment, _ = files(tmp_path)
    with pytest.raises(StorageRefused, match="NoSuchBucket"):
        missing.put_file("live/cam1/source/seg_000001.ts", segment)
    spool = Spool(missing, tmp_path / "spool", backoff_s=0.05, backoff_max_s=0.1)
    spool.put("live/cam1/source/seg_000001.ts", segment)
    assert not spool.wait_empty(0.5), "refused, and kept"
    boto3.client("s3", endpoint_url=s3_endpoint, **CREDENTIALS).create_bucket(
        Bucket="no-such-bucket"
    )
    assert spool.wait_empty(5), "delivered once the bucket exists"
    spool.close()
    assert missing.get_bytes("live/cam1/source/seg_000001.ts") == segment.read_bytes()


def test_unreachable_s3_is_a_transient_error(tmp_path: Path) -> None:
    storage = S3Storage.connect(f"http://127.0.0.1:{free_port()}", "media", **CREDENTIALS)
    segment, _ = files(tmp_path)
    with pytest.raises(StorageUnavailable, match="cannot upload"):
        storage.put_file("x/seg.ts", segment)


def test_an_outage_spools_uploads_and_they_drain_in_order_when_storage_returns(
    tmp_path: Path,
) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    storage = S3Storage.connect(endpoint, "media", **CREDENTIALS)
    options = {"backoff_s": 0.1, "backoff_max_s": 0.3}
    spool = Spool.claim(storage, tmp_path / "spool", "edge", **options)
    other = Spool.claim(storage, tmp_path / "spool", "edge", **options)
    assert other.pending == 0, "a second process gets a spool of its own"
    other.close()
    segment, playlist = files(tmp_path)
    spool.put("live/cam1/source/seg_000001.ts", segment)  # storage is down: it waits
    spool.put("live/cam1/source/index.m3u8", playlist)
    spool.put("live/cam1/source/seg_000000.ts", segment)
    spool.delete("live/cam1/source/seg_000000.ts")  # expired: after the put before it
    assert not spool.wait_empty(1.0) and spool.pending == 4
    spool.close()
    # A new process starts with what the old one spooled, and storage comes back.
    server = MotoServer(port)
    server.start()
    try:
        server.make_bucket("media")
        uploaded: list[str] = []

        class Recording(S3Storage):
            def put_file(self, key: str, path: Path, *, live: bool = True) -> None:
                super().put_file(key, path, live=live)
                uploaded.append(key)

            def delete(self, key: str) -> None:
                super().delete(key)
                uploaded.append(f"delete {key}")

        recording = Recording.connect(endpoint, "media", **CREDENTIALS)
        resumed = Spool.claim(recording, tmp_path / "spool", "edge", **options)
        assert resumed.wait_empty(10)
        resumed.close()
        assert uploaded == [
            "live/cam1/source/seg_000001.ts",
            "live/cam1/source/index.m3u8",
            "live/cam1/source/seg_000000.ts",
            "delete live/cam1/source/seg_000000.ts",
        ]
        assert storage.get_bytes("live/cam1/source/seg_000001.ts") == segment.read_bytes()
        assert storage.list("live/cam1/") == [
            "live/cam1/source/index.m3u8", "live/cam1/source/seg_000001.ts",
        ]  # fmt: skip
        assert [p for p in (tmp_path / "spool" / "edge-0").iterdir()] == [], "nothing left"
    finally:
        server.stop()
