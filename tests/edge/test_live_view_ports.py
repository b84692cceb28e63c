"""Live view's media on one configured interface and UDP port range (SPARC_WEBRTC_INTERFACE,
SPARC_WEBRTC_UDP_PORTS): the edge's answers offer host candidates there only, viewers
connect and receive frames through them, a range with every port taken refuses the next
viewer with 503 (not a port the firewall drops), and a port comes back when its session
ends. Bad settings fail at start, saying what is wrong."""

import asyncio
import queue
import random
import socket
import subprocess
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import aiortc.rtcrtpreceiver
import httpx
import ifaddr
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from pydantic import ValidationError

from tests.api_harness import Api
from tests.edge_harness import RunningEdge, publisher, start_edge
from tests.processes import Children
from tests.waiting import eventually
from video_service.edge.live_view.ice import interface_addresses, parse_port_range
from video_service.edge.settings import EdgeSettings

T = TypeVar("T")


def _interface() -> tuple[str, str]:
    """A network interface other than loopback, and its IPv4 address."""
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ip.ip.startswith("127."):
                return adapter.name, ip.ip
    pytest.fail("this machine has no IPv4 interface but loopback")


def _free_ports(addresses: tuple[str, ...], count: int) -> range:
    """`count` consecutive UDP ports free on every one of `addresses` (now)."""
    for _ in range(100):
        first = random.randrange(40000, 60000)
        sockets = [
            socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
            for address in addresses
            for _ in range(count)
        ]
        try:
            for index, sock in enumerate(sockets):
                sock.bind((addresses[index // count], first + index % count))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return range(first, first + count)
    pytest.fail("no free UDP ports")


def _host_candidates(sdp: str) -> list[tuple[str, int]]:
    """The (address, port) of each host candidate in an SDP answer."""
    found = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split()
            if fields[7] == "host":
                found.append((fields[4], int(fields[5])))
    return found


class _Viewers:
    """aiortc viewers receiving (without decoding) in a loop of their own."""

    def __init__(self, patch: pytest.MonkeyPatch) -> None:
        self.frames = 0

        def counting(_loop: object, input_q: queue.Queue[object], *_: object) -> None:
            while input_q.get() is not None:
                self.frames += 1

        patch.setattr(aiortc.rtcrtpreceiver, "decoder_worker", counting)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.connections: list[RTCPeerConnection] = []

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(60)

    def open(self, url: str) -> httpx.Response:
        async def offer() -> httpx.Response:
            connection = RTCPeerConnection()
            connection.addTransceiver("video", direction="recvonly")
            await connection.setLocalDescription(await connection.createOffer())
            async with httpx.AsyncClient(timeout=20) as client:
                answer = await client.post(url, content=connection.localDescription.sdp,
                                           headers={"Content-Type": "application/sdp"})  # fmt: skip
            if answer.status_code == 201:
                await connection.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
                self.connections.append(connection)
            else:
                await connection.close()
            return answer

        return self._run(offer())

    def connected(self) -> int:
        return sum(c.connectionState == "connected" for c in self.connections)

    def close(self) -> None:
        async def settle() -> None:
            for connection in self.connections:
                await connection.close()
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        self._run(settle())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@dataclass
class Pinned:
    edge: RunningEdge
    addresses: tuple[str, ...]
    ports: range


@pytest.fixture
def pinned(live_api: Api, whep_port: int) -> Iterator[Pinned]:
    """An edge whose live view is on one interface (by name) and two UDP ports."""
    name, _ = _interface()
    addresses = interface_addresses(name)  # its IPv6 ones too
    ports = _free_ports(addresses, 2)
    settings = {"webrtc_interface": name, "webrtc_udp_ports": f"{ports.start}-{ports.stop - 1}"}
    for running in start_edge(live_api, **settings):
        serving = running.edge.serve_live_view("127.0.0.1", whep_port)
        assert asyncio.run_coroutine_threadsafe(serving, running.loop).result(10) == whep_port
        yield Pinned(running, addresses, ports)


def test_live_view_media_arrives_on_the_configured_interface_and_ports(
    live_api: Api,
    pinned: Pinned,
    monkeypatch: pytest.MonkeyPatch,
    children: Children,
) -> None:
    running, addresses, ports = pinned.edge, pinned.addresses, pinned.ports
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()
    camera = admin.post("/api/cameras", json={"site_id": site["id"], "name": "Gate"}).json()
    url = f"/api/cameras/{camera['id']}/playback"
    camera_publisher = children.popen(
        publisher(running.url(camera), 60, audio="pcm_mulaw"), stderr=subprocess.DEVNULL
    )
    viewers = _Viewers(monkeypatch)
    whep = httpx.Client(timeout=20)
    try:
        eventually(lambda: "webrtc" in admin.get(url).json(), 20)
        webrtc = admin.get(url).json()["webrtc"]
        first, second = viewers.open(webrtc), viewers.open(webrtc)
        for answer in (first, second):
            assert answer.status_code == 201, answer.text
            hosts = _host_candidates(answer.text)
            assert {host for host, _ in hosts} == set(addresses), hosts
            assert all(port in ports for _, port in hosts), hosts
        # Two viewers, two ports on each address: each its own.
        taken = set(_host_candidates(first.text)) | set(_host_candidates(second.text))
        assert len(taken) == 2 * len(addresses), taken
        eventually(lambda: viewers.connected() == 2 and viewers.frames > 20, 20)

        # The range is used up: the next viewer is told so, and to come back.
        third = viewers.open(webrtc)
        assert third.status_code == 503, third.text
        assert "no UDP port free" in third.text and third.headers["retry-after"] == "5"
        # A session ends: its port is free for the next viewer.
        assert whep.delete(httpx.URL(webrtc).join(first.headers["location"])).status_code == 200
        fourth = viewers.open(webrtc)
        assert fourth.status_code == 201, fourth.text
        assert set(_host_candidates(fourth.text)) == set(_host_candidates(first.text))
    finally:
        whep.close()
        viewers.close()
        camera_publisher.terminate()
        camera_publisher.wait(30)


def test_bad_interface_and_port_settings_fail_saying_what_is_wrong() -> None:
    assert parse_port_range("40000-40199") == range(40000, 40200)
    assert parse_port_range(" 40000 ") == range(40000, 40001)
    for bad in ("40199-40000", "0-10", "65535-65536", "9" * 30, "a-b", "-", "40000-x",
                "40000\r\n-40001", "..-..", ""):  # fmt: skip
        with pytest.raises(ValueError, match="UDP port range"):
            parse_port_range(bad)
    with pytest.raises(ValidationError, match="UDP port range"):
        EdgeSettings(webrtc_udp_ports="2000-1000")
    assert EdgeSettings(webrtc_udp_ports="40000-40001").webrtc_udp_ports == "40000-40001"
    with pytest.raises(ValueError, match=r"no network interface 'eth9\\n' here .*lo"):
        interface_addresses("eth9\n")
    with pytest.raises(ValueError, match=r"no network interface '\.\./lo'"):
        interface_addresses("../lo")
    assert "127.0.0.1" in interface_addresses("lo")
    assert interface_addresses("::1") == ("::1",)
    assert interface_addresses("192.0.2.7") == ("192.0.2.7",)
