"""Hand an accepted publisher to its recorder and relay its bytes.

The edge forwards the ANNOUNCE, SETUP and RECORD exchange to the recorder listening on a
loopback port (its own URL in place of the edge's, the credentials removed, CSeq shifted to
start at 1 as FFmpeg's listener expects, the Transport dialects of FFmpeg and GStreamer
reconciled), then copies the interleaved RTP bytes both ways until either side closes.
"""

import asyncio
import contextlib
import re
from collections.abc import Callable

from video_service.edge.auth import CAMERA_PATH
from video_service.edge.metrics import edge_metrics
from video_service.edge.rtsp import Message, read_message

RELAY_CHUNK = 64 * 1024


class ByteCount:
    """Bytes received from cameras: a total this process reads for its ingest rate, and the
    metric. Both relays (pushed and pulled cameras) count through `add`."""

    def __init__(self) -> None:
        self.total = 0

    def add(self, count: int) -> None:
        self.total += count
        edge_metrics().ingest_bytes.inc(count)


INGESTED = ByteCount()  # bytes from cameras through this process's relays (its ingest rate)
RECORDER_ANSWER_S = 10.0
_MODE = re.compile(r'mode="?(record|receive)"?', re.IGNORECASE)


async def hand_over(
    announce: Message,
    publisher: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    recorder: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    local_url: str,
    request_timeout_s: float,
    seen: Callable[[Message], None] | None = None,
) -> bool:
    """Forward requests until RECORD is accepted (True) or the publisher leaves (False);
    `seen` is shown each request as the publisher sent it."""
    reader, writer = publisher
    upstream_reader, upstream_writer = recorder
    rewrite = url_rewriter(local_url)
    # FFmpeg's listener expects CSeq to start at 1; the publisher's started earlier
    # (OPTIONS, the 401 round), so sequence numbers are shifted both ways.
    shift = int(announce.header("CSeq") or "1") - 1
    message: Message | None = announce
    while message is not None:
        cseq = int(message.header("CSeq") or "0")
        if seen is not None:
            seen(message)
        forwarded = for_recorder(message, rewrite)
        await send(upstream_writer, forwarded.with_header("CSeq", str(cseq - shift)))
        answer = await asyncio.wait_for(read_message(upstream_reader), RECORDER_ANSWER_S)
        if answer is None:
            raise ConnectionError("the recorder closed the connection")
        await send(writer, for_publisher(answer).with_header("CSeq", str(cseq)))
        if message.method == "RECORD" and answer.status == 200:
            return True
        message = await asyncio.wait_for(read_message(reader), request_timeout_s)
    return False


def for_recorder(message: Message, rewrite: Callable[[str], str]) -> Message:
    """The request as the recorder should see it: its own URL, no credentials, and the
    Transport dialect FFmpeg parses (GStreamer quotes the mode: mode="RECORD")."""
    forwarded = message.without("Authorization").with_url(rewrite(message.url))
    transport = forwarded.header("Transport")
    if transport is not None:
        forwarded = forwarded.with_header("Transport", _MODE.sub("mode=record", transport))
    return forwarded


def for_publisher(answer: Message) -> Message:
    """FFmpeg's listener answers mode=receive (an old alias); publishers expect RECORD."""
    transport = answer.header("Transport")
    if transport is None:
        return answer
    return answer.with_header("Transport", _MODE.sub("mode=record", transport))


def url_rewriter(local: str) -> Callable[[str], str]:
    def rewrite(url: str) -> str:
        match = CAMERA_PATH.match(url)
        return f"{local}{match.group(1)}{match.group(3) or ''}" if match else url

    return rewrite


async def send(writer: asyncio.StreamWriter, message: Message) -> None:
    writer.write(message.encode())
    await writer.drain()


async def relay(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
    tap: Callable[[bytes], None] | None = None,
) -> None:
    """Copy bytes both ways until either side closes; what the camera sends is counted as
    ingest (`INGESTED` and the metric) and shown to `tap` once forwarded."""

    async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, ingest: bool) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await source.read(RELAY_CHUNK):
                sink.write(chunk)
                if ingest:
                    INGESTED.add(len(chunk))
                    if tap is not None:
                        tap(chunk)
                await sink.drain()

    tasks = [
        asyncio.create_task(pump(client_reader, upstream_writer, True)),
        asyncio.create_task(pump(upstream_reader, client_writer, False)),
    ]
    _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def connect_when_listening(
    port: int, recorder: asyncio.subprocess.Process, timeout_s: float = 5.0
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if recorder.returncode is not None:
            raise ConnectionError("the recorder exited before it listened")
        try:
            return await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            await asyncio.sleep(0.025)
    raise ConnectionError(f"the recorder did not listen within {timeout_s:.0f} s")
