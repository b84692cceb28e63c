"""Live view's cost per viewer: WebRTC viewers of one camera on the edge, beside HLS viewers of
the same camera on the origin, measured in one run on this machine.

    .venv/bin/python bench/live_view_bench.py [--counts 10,20] [--seconds 20] [--woken]

One camera publishes 720p25 at 2 Mb/s (libx264, no B-frames, GOP 1 s; a pre-encoded clip
looped and copied) to a `sparc-video edge` that serves WHEP, beside `sparc-video serve`. For
each N: N WebRTC viewers (aiortc clients in this process, receiving without decoding: their
own cost is not what is measured) for `seconds`, the edge's CPU measured; then N HLS viewers
(following the live source playlist and fetching every new segment, as a player does), the
API's CPU measured. The WebRTC viewers receive on a 5 ms tick (`_TickSelector` says why);
`--woken` for viewers woken by each packet. Each is printed against its baseline with no
viewer, measured in the same run: the added CPU per viewer in % of a core, viewers per
core, and frames each WebRTC viewer received (every viewer is fed: no one is starved).
"""

import argparse
import asyncio
import queue
import selectors
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiortc.rtcrtpreceiver
import httpx
import m3u8
from aiortc import RTCPeerConnection, RTCSessionDescription
from live_bench import Stack, proc_cpu, publisher

from workers.base.ports import free_port

FRAMES = {"count": 0}


def _counting_worker(
    loop: asyncio.AbstractEventLoop, input_q: queue.Queue[Any], output_q: Any, error: Any
) -> None:
    """In place of aiortc's decoder thread: count whole frames received, decode none."""
    while input_q.get() is not None:
        FRAMES["count"] += 1


aiortc.rtcrtpreceiver.decoder_worker = _counting_worker  # type: ignore[assignment]

TICK_S = 0.005


class _TickSelector(selectors.EpollSelector):
    """Waits on a 5 ms tick, then takes what has arrived, rather than sleeping in epoll until
    a packet wakes it. On loopback the edge's `sendto` delivers the packet itself, and where
    the receiving thread sleeps it wakes it (a wakeup of another CPU, charged to the edge):
    across a network none of that is the edge's. Measured in the edge (2026-12-05): the
    first packet of a viewer's frame cost it 20 us (a sub-stream) and 11.5 us (a 720p main)
    with viewers woken, 7-9 us and 6.5-7 us on the tick; the packets after it about 3 us
    either way. The sub-stream's viewers, with less to receive, sleep more and were woken
    more: the old way was biased against them."""

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None or timeout > 0:
            time.sleep(TICK_S if timeout is None else min(timeout, TICK_S))
        return super().select(0)


def viewers_loop(woken: bool = False) -> asyncio.AbstractEventLoop:
    """The event loop the WebRTC viewers run in, in a thread of its own: on the tick
    (`_TickSelector`), or woken by each packet as a plain loop is (`woken`: the benches'
    way until 2026-12-05)."""
    loop = asyncio.new_event_loop() if woken else asyncio.SelectorEventLoop(_TickSelector())
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return loop


def make_clip(path: Path) -> Path:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25,noise=alls=6:allf=t",
         "-t", "12", "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
         "-b:v", "2000k", "-maxrate", "2000k", "-bufsize", "2000k", "-g", "25", "-bf", "0",
         "-pix_fmt", "yuv420p", "-f", "mp4", str(path)],
        check=True,
    )  # fmt: skip
    return path


async def webrtc_viewers(url: str, count: int, seconds: float) -> list[RTCPeerConnection]:
    connections = []
    async with httpx.AsyncClient(timeout=20) as client:
        for _ in range(count):
            connection = RTCPeerConnection()
            connection.addTransceiver("video", direction="recvonly")
            await connection.setLocalDescription(await connection.createOffer())
            answer = await client.post(url, content=connection.localDescription.sdp,
                                       headers={"Content-Type": "application/sdp"})  # fmt: skip
            if answer.status_code != 201:
                raise RuntimeError(f"WHEP refused: {answer.status_code} {answer.text}")
            await connection.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
            connections.append(connection)
    return connections


def measure(pid: int, seconds: float) -> float:
    before, started = proc_cpu_all(pid), time.monotonic()
    time.sleep(seconds)
    return (proc_cpu_all(pid) - before) / (time.monotonic() - started)


def proc_cpu_all(pid: int) -> float:
    """The process's CPU and its live children's (the edge's FFmpeg recorder)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(p) for p in children.read_text().split()] if children.exists() else []
    return proc_cpu(pid) + sum(proc_cpu(k) for k in kids if Path(f"/proc/{k}").exists())


def hls_viewer(playlist_url: str, stop: threading.Event, fetched: list[int]) -> None:
    seen: set[str] = set()
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            text = client.get(playlist_url).text
            for segment in m3u8.loads(text).segments:
                if segment.uri not in seen:
                    seen.add(segment.uri)
                    fetched.append(len(client.get(urljoin(playlist_url, segment.uri)).content))
            stop.wait(1.0)  # a player polls about every half segment


def with_hls_viewers(url: str, count: int, run: Callable[[], float]) -> tuple[float, int]:
    stop = threading.Event()
    fetched: list[int] = []
    threads = [threading.Thread(target=hls_viewer, args=(url, stop, fetched), daemon=True)
               for _ in range(count)]  # fmt: skip
    for thread in threads:
        thread.start()
    time.sleep(3)
    cpu = run()
    stop.set()
    for thread in threads:
        thread.join(15)
    return cpu, len(fetched)


def report(
    count: int, edge: tuple[float, float], api: tuple[float, float], frames: float, segments: int
) -> None:
    per_webrtc = (edge[0] - edge[1]) / count
    per_hls = (api[0] - api[1]) / count

    def per_core(share: float) -> str:
        return f"~{1 / share:.0f}" if share > 0 else "unmeasurably many"

    ratio = f"{per_webrtc / per_hls:.1f}x" if per_hls > 0 else "n/a"
    print(f"N={count:3d}  WebRTC: edge {100 * edge[0]:5.1f}% -> {100 * per_webrtc:5.2f}% of a "
          f"core per viewer ({per_core(per_webrtc)} viewers/core), {frames:4.1f} frames/s each "
          f"(camera 25)  |  HLS: API {100 * api[0]:5.1f}% -> {100 * per_hls:5.2f}% per viewer "
          f"({per_core(per_hls)} viewers/core), {segments} segments fetched  |  "
          f"WebRTC/HLS per viewer {ratio}", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="10,20")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--woken", action="store_true", help="viewers woken by each packet (see _TickSelector)"
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.counts.split(",")]
    work = Path(tempfile.mkdtemp(prefix="sparc-live-view-bench-"))
    whep_port = free_port()
    stack = Stack(work, {"SPARC_WHEP_PORT": str(whep_port), "SPARC_SEGMENT_SECONDS": "2",
                         "SPARC_WHEP_URL": f"http://127.0.0.1:{whep_port}"})  # fmt: skip
    clip = make_clip(work / "clip.mp4")
    camera_id, rtsp_url = stack.camera("watched")
    seconds_total = int((args.seconds + 10) * (2 * len(counts) + 2) + 60)
    camera = subprocess.Popen(publisher(clip, rtsp_url, seconds_total), stderr=subprocess.DEVNULL)
    loop = viewers_loop(args.woken)
    try:
        playback: dict[str, Any] = {}
        deadline = time.monotonic() + 30
        while "webrtc" not in playback or not playback["webrtc"]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no live playback: {playback}")
            time.sleep(1)
            answer = stack.http.get(f"/api/cameras/{camera_id}/playback")
            playback = answer.json() if answer.status_code == 200 else {}
        # The origin's URL, on the port this run's API listens on.
        path = playback["url"].split("/media/", 1)[1].replace("master.m3u8", "source/index.m3u8")
        source = f"{str(stack.http.base_url).rstrip('/')}/media/{path}"
        edge_idle = measure(stack.edge.pid, args.seconds)
        api_idle = measure(stack.api.pid, args.seconds)
        print(f"baseline, no viewer: edge {100 * edge_idle:5.1f}% of a core (recording one "
              f"camera), API {100 * api_idle:5.1f}%", flush=True)  # fmt: skip
        for count in counts:
            FRAMES["count"] = 0
            opened = asyncio.run_coroutine_threadsafe(
                webrtc_viewers(playback["webrtc"], count, args.seconds), loop
            ).result(120)
            time.sleep(3)
            frames_before = FRAMES["count"]
            edge = measure(stack.edge.pid, args.seconds)
            frames = (FRAMES["count"] - frames_before) / count / args.seconds
            for connection in opened:
                asyncio.run_coroutine_threadsafe(connection.close(), loop).result(20)
            api, segments = with_hls_viewers(
                source, count, lambda: measure(stack.api.pid, args.seconds)
            )
            if segments == 0 or frames == 0:
                raise RuntimeError("a viewer got nothing: the measure would mean nothing")
            report(count, (edge, edge_idle), (api, api_idle), frames, segments)
    finally:
        camera.terminate()
        camera.wait(20)
        stack.close()
        loop.call_soon_threadsafe(loop.stop)


if __name__ == "__main__":
    main()
