"""CDN health shared through Redis by several API processes (here: three Delivery objects,
as three server processes hold them): one probes, however many there are; an ejection the
prober decides is every process's within a round or two; when the prober goes, another
takes over with the published state."""

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis

from cdn.providers import GLOBAL, Provider, Scheme
from tests.environment import TEST_REDIS_URL
from video_service.delivery.playback import Delivery
from video_service.delivery.settings import DeliverySettings
from workers.base import redis_keys
from workers.base.ports import free_port

EVERY_S = 0.1


class Counted(ThreadingHTTPServer):
    hits = 0
    failing = False


class Handler(BaseHTTPRequestHandler):
    server: Counted

    def do_GET(self) -> None:
        self.server.hits += 1
        self.send_response(503 if self.server.failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[Counted]:
    server = Counted(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def delivery(tmp_path: Path, server: Counted) -> Delivery:
    url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
    providers = (
        Provider(name="alpha", weight=0.5, regions=(GLOBAL,), scheme=Scheme.ORIGIN,
                 base_url="http://127.0.0.1:1/media", health_url=url),
        Provider(name="beta", weight=0.5, regions=(GLOBAL,), scheme=Scheme.ORIGIN,
                 base_url="http://127.0.0.1:2/media"),
    )  # fmt: skip
    settings = DeliverySettings(
        state_dir=tmp_path, cdn_providers=providers, cdn_probe_every_s=EVERY_S,
        cdn_failure_threshold=2, cdn_ejection_s=30.0,
    )  # fmt: skip
    return Delivery(settings)


async def until(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until `condition` holds, polled on the event loop; fails past `timeout`."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not condition():
        assert loop.time() - started < timeout, f"not within {timeout:g} s"
        await asyncio.sleep(EVERY_S / 5)
    return loop.time() - started


def test_one_process_probes_for_all_and_every_process_sees_its_ejections(
    tmp_path: Path, health_server: Counted, redis_client: redis.Redis
) -> None:
    redis_client.delete(redis_keys.CDN_HEALTH, redis_keys.CDN_PROBER)
    processes = [delivery(tmp_path, health_server) for _ in range(3)]

    async def scenario() -> None:
        shared = [redis.Redis.from_url(TEST_REDIS_URL) for _ in processes]
        loops = [asyncio.create_task(d.watch_health(c)) for d, c in zip(processes, shared,
                                                                          strict=True)]  # fmt: skip
        try:
            # One prober: about one probe a round, not three.
            took = await until(lambda: health_server.hits >= 20, 20 / 0.5 * EVERY_S)
            assert took >= 20 / 1.5 * EVERY_S, f"20 probes in {took:.2f} s"
            assert not any(d.selector.is_ejected("alpha") for d in processes)

            health_server.failing = True
            await until(lambda: all(d.selector.is_ejected("alpha") for d in processes), 5)
            assert all(not d.selector.is_ejected("beta") for d in processes)
            assert {d.selector.choose("viewer-1", "eu").name for d in processes} == {"beta"}

            # The prober goes: another takes over, with the ejection it published.
            leaders = [i for i, d in enumerate(processes) if d.shared_health.leading]
            assert len(leaders) == 1, leaders
            index = leaders[0]
            loops[index].cancel()
            health_server.failing = False
            hits = health_server.hits
            await until(lambda: health_server.hits > hits + 2, 5)  # somebody took over
            left = [d for i, d in enumerate(processes) if i != index]
            assert all(d.selector.ejection_state("alpha")[1] == 1 for d in left)
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            for client in shared:
                with contextlib.suppress(Exception):
                    client.close()

    asyncio.run(scenario())
