"""Pull URLs are parsed and rebuilt, and their destinations allowed, before anything dials
them: injection through a URL, hidden credentials, and ranges the edge must not reach."""

import ipaddress

import pytest

from video_service.edge.errors import BadPullUrl
from video_service.edge.pull_urls import check_destination, parse_pull_url

REFUSED = (ipaddress.ip_network("10.96.0.0/12"),)


@pytest.mark.parametrize(
    "raw",
    [
        "rtsp://cam/stream\r\nSET pwned 1",  # a second request line
        "rtsp://cam/stream\nx",
        "rtsp://cam/str eam",
        "rtsp://cam/stream%0d%0aSET",  # escaped CR/LF
        "rtsp://user:pa\x00ss@cam/",
        "http://cam/stream",
        "file:///etc/passwd",
        "rtsp://cam:99999/",
        "rtsp:/cam",
        "rtsp://[::1/",
        "rtsp://-cam-/x",
        "rtsp://" + "a" * 3000,
    ],
)
def test_urls_that_are_not_plain_rtsp_are_refused(raw: str) -> None:
    with pytest.raises(BadPullUrl):
        parse_pull_url(raw)


def test_a_url_is_rebuilt_with_its_credentials_apart() -> None:
    url = parse_pull_url("RTSP://Admin:p%40ss%3Aword@Camera.Example.com/Streaming/101?x=1")
    assert (url.scheme, url.host, url.port) == ("rtsp", "camera.example.com", 554)
    assert (url.username, url.password) == ("Admin", "p@ss:word")
    assert url.public() == "rtsp://camera.example.com:554/Streaming/101?x=1"
    assert (
        url.with_credentials()
        == "rtsp://Admin:p%40ss%3Aword@camera.example.com:554/Streaming/101?x=1"
    )
    six = parse_pull_url("rtsps://[2001:db8::7]:8322/live")
    assert six.public() == "rtsps://[2001:db8::7]:8322/live"


@pytest.mark.parametrize(
    "raw",
    [
        "rtsp://127.0.0.1/x",
        "rtsp://127.9.9.9:6379/x",
        "rtsp://[::1]/x",
        "rtsp://169.254.169.254/latest",  # the cloud's metadata service
        "rtsp://[fe80::1]/x",
        "rtsp://0.0.0.0/x",
        "rtsp://10.96.0.10/x",  # the cluster's DNS service
        "rtsp://224.0.0.1/x",
        # IPv6 forms of those: each is reached as the IPv4 address it carries
        "rtsp://[::ffff:127.0.0.1]:29600/x",  # mapped
        "rtsps://[::ffff:169.254.169.254]/x",
        "rtsp://[::ffff:10.96.0.1]/x",
        "rtsp://[::ffff:0:7f00:1]/x",  # translated (SIIT)
        "rtsp://[::127.0.0.1]/x",  # compatible
        "rtsp://[64:ff9b::7f00:1]/x",  # NAT64, well-known prefix
        "rtsp://[64:ff9b:1::a9fe:a9fe]/x",  # NAT64, local-use prefix
        "rtsp://[2002:7f00:1::1]/x",  # 6to4
        "rtsp://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x",  # Teredo, client 127.0.0.1
    ],
)
def test_destinations_outside_the_cameras_networks_are_refused(raw: str) -> None:
    with pytest.raises(BadPullUrl, match="may not reach"):
        check_destination(parse_pull_url(raw), refused=REFUSED, allowed=())


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    url = parse_pull_url("rtsp://camera.lan/x")
    to = {"camera.lan": ["192.168.1.20", "127.0.0.1"]}
    with pytest.raises(BadPullUrl, match=r"127\.0\.0\.1"):
        check_destination(url, refused=REFUSED, allowed=(), resolve=lambda h, p: to[h])
    assert check_destination(
        url, refused=REFUSED, allowed=(), resolve=lambda h, p: ["192.168.1.20"]
    ) == ["192.168.1.20"]


def test_an_operator_opens_a_range_and_lan_cameras_are_allowed() -> None:
    loopback = parse_pull_url("rtsp://127.0.0.1:8554/x")
    allowed = (ipaddress.ip_network("127.0.0.1/32"),)
    assert check_destination(loopback, refused=REFUSED, allowed=allowed) == ["127.0.0.1"]
    for lan in ("rtsp://192.168.1.64/x", "rtsp://10.0.0.5/x", "rtsp://203.0.113.9/x"):
        assert check_destination(parse_pull_url(lan), refused=REFUSED, allowed=())


def test_an_ipv6_lan_or_public_camera_is_allowed_and_an_opened_range_opens_its_ipv6_form() -> None:
    for raw in ("rtsp://[2001:db8::7]/x", "rtsp://[::ffff:192.168.1.64]/x"):
        url = parse_pull_url(raw)
        assert check_destination(url, refused=REFUSED, allowed=()) == [url.host]
    mapped = parse_pull_url("rtsp://[::ffff:127.0.0.1]:8554/x")
    allowed = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::ffff:0:0/96"))
    assert check_destination(mapped, refused=REFUSED, allowed=allowed) == [mapped.host]
