"""A pull camera read through the edge: the recorder (FFmpeg) connects to a loopback relay
with no credentials (`rtsp://127.0.0.1:PORT/pull/{camera}`); the relay connects to the
camera itself, answers its challenge (Digest or Basic, `digest.Credentials`), and passes the
RTSP exchange and then the interleaved RTP through. So a camera's password is never on a
command line (`ps` shows every process's), nor in FFmpeg's log, nor in anything FFmpeg
prints: it never leaves this process.

URLs are mapped both ways: the recorder's requests name the relay and go out naming the
camera; the camera's answers (Content-Base, the SDP's control URLs, RTP-Info) name the
camera and come back naming the relay. After PLAY, requests the recorder still sends
(keep-alives, TEARDOWN) are found between the interleaved frames ($, channel, length) and
get their URL and authorization too.
"""

import asyncio
import contextlib
import ssl
from collections.abc import Callable

from video_service.edge.digest import Credentials
from video_service.edge.pull_urls import PullUrl
from video_service.edge.relay import INGESTED
from video_service.edge.rtsp import MAX_HEAD, BadMessage, Message, read_message

ANSWER_S = 10.0
CHUNK = 64 * 1024
INTERLEAVED = b"$"


class PullRelay:
    """One pull session's relay: `start` listens; the recorder connects once."""

    def __init__(self, camera_id: str, url: PullUrl, address: str) -> None:
        """`address`: where to connect (resolved and checked by the caller: the name is not
        resolved again, so it cannot change between the check and the connection)."""
        self._url = url
        self._address = address
        self._camera_id = camera_id
        self._credentials = (
            Credentials(url.username, url.password or "") if url.username is not None else None
        )
        self._server: asyncio.Server | None = None
        self.port = 0
        self.failure: str | None = None

    @property
    def local_url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/pull/{self._camera_id}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=MAX_HEAD)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        camera: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            camera = await self._connect()
            await _converse(reader, writer, *camera, self._rewriters(), self._credentials)
        except (OSError, TimeoutError, BadMessage) as error:
            self.failure = f"{type(error).__name__}: {error}"
        finally:
            for side in (writer, camera[1] if camera else None):
                if side is not None:
                    side.close()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        url = self._url
        context = ssl.create_default_context() if url.scheme == "rtsps" else None
        hostname = url.host if context is not None else None
        return await asyncio.wait_for(
            asyncio.open_connection(self._address, url.port, ssl=context,
                                    server_hostname=hostname, limit=MAX_HEAD),
            ANSWER_S,
        )  # fmt: skip

    def _rewriters(self) -> tuple[Callable[[str], str], Callable[[str], str]]:
        local = f"rtsp://127.0.0.1:{self.port}/pull/{self._camera_id}"
        remote = self._url.public()
        remote_base = f"{self._url.scheme}://{self._url.netloc}"

        def outward(text: str) -> str:
            if text.startswith(local):
                return remote + text[len(local) :]
            return text

        def inward(text: str) -> str:
            # The camera names itself by its URL (often with a trailing / or track ids).
            return text.replace(remote, local).replace(remote_base + "/", local + "/")

        return outward, inward


async def _converse(
    recorder_reader: asyncio.StreamReader,
    recorder_writer: asyncio.StreamWriter,
    camera_reader: asyncio.StreamReader,
    camera_writer: asyncio.StreamWriter,
    rewriters: tuple[Callable[[str], str], Callable[[str], str]],
    credentials: Credentials | None,
) -> None:
    """The exchange up to PLAY, one request and its answer at a time; then both ways at once."""
    outward, inward = rewriters
    while True:
        request = await asyncio.wait_for(read_message(recorder_reader), ANSWER_S)
        if request is None:
            return
        answer = await _ask(request, camera_reader, camera_writer, outward, credentials)
        recorder_writer.write(_inward_answer(answer, inward).encode())
        await recorder_writer.drain()
        if request.method == "PLAY" and answer.status == 200:
            break
    await _both_ways(recorder_reader, recorder_writer, camera_reader, camera_writer, outward,
                     credentials)  # fmt: skip


async def _ask(
    request: Message,
    camera_reader: asyncio.StreamReader,
    camera_writer: asyncio.StreamWriter,
    outward: Callable[[str], str],
    credentials: Credentials | None,
) -> Message:
    """Send the request on to the camera; on a 401 with credentials to give, once more."""
    answer = await _send_and_read(request, camera_reader, camera_writer, outward, credentials)
    if answer.status != 401 or credentials is None:
        return answer
    if not credentials.accept_challenge(answer.headers_named("WWW-Authenticate")):
        return answer
    return await _send_and_read(request, camera_reader, camera_writer, outward, credentials)


async def _send_and_read(
    request: Message,
    camera_reader: asyncio.StreamReader,
    camera_writer: asyncio.StreamWriter,
    outward: Callable[[str], str],
    credentials: Credentials | None,
) -> Message:
    camera_writer.write(_outward_request(request, outward, credentials).encode())
    await camera_writer.drain()
    answer = await asyncio.wait_for(read_message(camera_reader), ANSWER_S)
    if answer is None:
        raise ConnectionError("the camera closed the connection")
    return answer


def _outward_request(
    request: Message, outward: Callable[[str], str], credentials: Credentials | None
) -> Message:
    sent = request.with_url(outward(request.url)) if request.url else request
    if credentials is not None and credentials.ready:
        sent = sent.with_header("Authorization", credentials.authorization(sent.method, sent.url))
    return sent


def _inward_answer(answer: Message, inward: Callable[[str], str]) -> Message:
    headers = [(name, inward(value)) for name, value in answer.headers]
    body = inward(answer.body.decode("utf-8", "replace")).encode() if answer.body else b""
    return Message(answer.start_line, headers, body)


async def _both_ways(
    recorder_reader: asyncio.StreamReader,
    recorder_writer: asyncio.StreamWriter,
    camera_reader: asyncio.StreamReader,
    camera_writer: asyncio.StreamWriter,
    outward: Callable[[str], str],
    credentials: Credentials | None,
) -> None:
    async def from_camera() -> None:
        while chunk := await camera_reader.read(CHUNK):
            recorder_writer.write(chunk)
            INGESTED.add(len(chunk))
            await recorder_writer.drain()

    async def from_recorder() -> None:
        while True:
            first = await recorder_reader.read(1)
            if not first:
                return
            if first == INTERLEAVED:  # RTCP: $, channel, length, data
                head = await recorder_reader.readexactly(3)
                data = await recorder_reader.readexactly(int.from_bytes(head[1:], "big"))
                camera_writer.write(first + head + data)
            else:
                request = await read_message(recorder_reader, already=first)
                if request is None:
                    return
                camera_writer.write(_outward_request(request, outward, credentials).encode())
            await camera_writer.drain()

    tasks = [asyncio.create_task(from_camera()), asyncio.create_task(from_recorder())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BadMessage | asyncio.IncompleteReadError):
            raise BadMessage(f"the relay lost the stream: {result}")
