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
import socket
import ssl
from collections.abc import Callable

from video_service.edge.digest import Credentials
from video_service.edge.errors import BadMessage
from video_service.edge.pull_urls import PullUrl
from video_service.edge.relay import INGESTED
from video_service.edge.rtsp import MAX_HEAD, Message, read_message

ANSWER_S = 10.0
CHUNK = 64 * 1024
INTERLEAVED = b"$"


async def accept_one(listener: socket.socket) -> socket.socket:
    """Wait for a connection on a non-blocking listening socket and accept it here, so that
    it is in the caller's hands the moment it exists (`loop.sock_accept` accepts in a
    callback: a cancellation that comes after would drop the socket unclosed)."""
    loop = asyncio.get_running_loop()
    fd = listener.fileno()
    while True:
        readable = loop.create_future()
        loop.add_reader(fd, _set_once, readable)
        try:
            await readable
        finally:
            if listener.fileno() == fd:  # else closed, its reader removed by who closed it
                loop.remove_reader(fd)
        try:
            connection, _ = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            continue
        connection.setblocking(False)
        return connection


def _set_once(future: "asyncio.Future[None]") -> None:
    if not future.done():
        future.set_result(None)


class PullRelay:
    """One pull session's relay: `start` listens; the recorder connects once.

    Nothing of it outlives `close`, whenever that comes (the edge drops a camera while its
    recorder is connecting; the edge shuts down): the one connection is accepted in the
    relay's own task, so a cancellation finds it in that task's hands and closes it, where
    asyncio's servers accept in callbacks and leave a socket behind if the task that would
    serve it is cancelled before it starts."""

    def __init__(self, camera_id: str, url: PullUrl, address: str) -> None:
        """`address`: where to connect (resolved and checked by the caller: the name is not
        resolved again, so it cannot change between the check and the connection)."""
        self._url = url
        self._address = address
        self._camera_id = camera_id
        self._credentials = (
            Credentials(url.username, url.password or "") if url.username is not None else None
        )
        self._listener: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0
        self.failure: str | None = None

    @property
    def local_url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/pull/{self._camera_id}"

    def start(self) -> None:
        """Listen on a free loopback port (from a running event loop). Nothing is awaited:
        no cancellation can come between the socket's making and its keeping."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        self.port = int(listener.getsockname()[1])
        self._task = asyncio.get_running_loop().create_task(self._relay(listener))

    def close(self) -> None:
        """Stop listening and end the conversation, at once (nothing awaited: a task
        cancelled twice while it stops still closes everything)."""
        self._stop_listening()
        if self._task is not None:
            self._task.cancel()

    def _stop_listening(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            asyncio.get_running_loop().remove_reader(listener.fileno())
            listener.close()

    async def _relay(self, listener: socket.socket) -> None:
        try:
            connection = await accept_one(listener)
        except OSError as error:
            self.failure = f"the recorder could not connect: {error}"
            return
        self._stop_listening()  # one recorder per session
        try:
            reader, writer = await asyncio.open_connection(sock=connection, limit=MAX_HEAD)
        except BaseException as error:
            connection.close()
            if not isinstance(error, OSError):
                raise
            self.failure = f"the recorder's connection failed: {error}"
            return
        await self._serve(reader, writer)

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
