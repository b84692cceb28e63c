from cdn.signing import OriginSigner, StreamGrant
from cdn.steering import build_steered_master, build_steering_response
from tests.cdn.example_providers import EXAMPLE_PROVIDERS

MASTER = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=450000,AVERAGE-BANDWIDTH=410000,RESOLUTION=426x240,CODECS="avc1.640015,mp4a.40.2",FRAME-RATE=30.000
240p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=5600000,AVERAGE-BANDWIDTH=4900000,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2",FRAME-RATE=30.000
1080p/index.m3u8
"""


class Tagged:
    def __init__(self, name: str) -> None:
        self.name = name

    def query(self, path: str, grant: StreamGrant) -> str:
        return f"by={self.name}"


def test_every_rung_once_per_provider_with_pathway_and_stable_variant() -> None:
    grant = StreamGrant("/live/cam-1/", 1_900_000_000)
    fastly, akamai = EXAMPLE_PROVIDERS[1], EXAMPLE_PROVIDERS[2]
    text = build_steered_master(
        MASTER, grant, [fastly, akamai], {"fastly": Tagged("f"), "akamai": Tagged("a")},
        steering_uri="/api/steering/cam-1?session=abc", first="fastly",
    )  # fmt: skip
    inf240 = (
        "#EXT-X-STREAM-INF:BANDWIDTH=450000,AVERAGE-BANDWIDTH=410000,RESOLUTION=426x240,"
        'CODECS="avc1.640015,mp4a.40.2",FRAME-RATE=30.000'
    )
    inf1080 = (
        "#EXT-X-STREAM-INF:BANDWIDTH=5600000,AVERAGE-BANDWIDTH=4900000,RESOLUTION=1920x1080,"
        'CODECS="avc1.640028,mp4a.40.2",FRAME-RATE=30.000'
    )
    assert text == "\n".join([
        "#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-CONTENT-STEERING:SERVER-URI="/api/steering/cam-1?session=abc",'
        'PATHWAY-ID="fastly"',
        f'{inf240},PATHWAY-ID="fastly",STABLE-VARIANT-ID="240p"',
        "https://sparc.global.ssl.fastly.net/live/cam-1/240p/index.m3u8?by=f",
        f'{inf1080},PATHWAY-ID="fastly",STABLE-VARIANT-ID="1080p"',
        "https://sparc.global.ssl.fastly.net/live/cam-1/1080p/index.m3u8?by=f",
        f'{inf240},PATHWAY-ID="akamai",STABLE-VARIANT-ID="240p"',
        "https://sparc.akamaized.net/live/cam-1/240p/index.m3u8?by=a",
        f'{inf1080},PATHWAY-ID="akamai",STABLE-VARIANT-ID="1080p"',
        "https://sparc.akamaized.net/live/cam-1/1080p/index.m3u8?by=a",
    ]) + "\n"  # fmt: skip


def test_origin_tokens_in_a_steered_master_verify() -> None:
    grant = StreamGrant("/live/cam-1/", 1_900_000_000)
    signer = OriginSigner("k")
    text = build_steered_master(
        MASTER, grant, [EXAMPLE_PROVIDERS[2]], {"akamai": signer},
        steering_uri="/s", first="akamai",
    )  # fmt: skip
    uris = [line for line in text.splitlines() if line.startswith("https://")]
    assert len(uris) == 2
    for uri in uris:
        path, _, query = uri.removeprefix("https://sparc.akamaized.net").partition("?")
        assert signer.verify(path, query.removeprefix("token="), now=1_800_000_000) == grant


def test_steering_answer_orders_pathways_with_a_ttl() -> None:
    assert build_steering_response(["fastly", "akamai"], 30) == {
        "VERSION": 1, "TTL": 30, "PATHWAY-PRIORITY": ["fastly", "akamai"],
    }  # fmt: skip
