"""The RTSP edge: one TCP port for every camera, a path per camera (`/cam/{id}`).

The edge speaks RTSP itself up to authentication: OPTIONS, then ANNOUNCE checked with
Digest or Basic against the camera's stored HA1 (401 with a challenge, 404 for an unknown or
disabled camera, an event for every refusal). An accepted publisher is handed to its own
FFmpeg recorder listening on a loopback port: the edge forwards the ANNOUNCE, SETUP and
RECORD exchange (its own URL rewritten, the credentials removed), then relays the
interleaved RTP bytes as they are. FFmpeg depacketizes and remuxes; the edge only routes.

A second publisher for a camera that is live replaces the first: a camera that reconnects
after a network fault often does so before its old TCP connection has timed out, and
refusing it would lose video. Garbage, oversized heads and clients that never finish a
request are answered 400 or dropped; each connection is its own task, so none of that
reaches other cameras.
"""

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from video_service.db import session_scope
from video_service.digest import NonceIssuer, challenges, check_authorization
from video_service.events import record_event
from video_service.models import Camera, CameraMode, EventType
from video_service.recording import (
    SOURCE_PLAYLIST,
    Audio,
    audio_for_sdp,
    build_listen_input,
    build_pull_input,
    build_record_command,
)
from video_service.retention import sweep_media
from video_service.rtsp import MAX_HEAD, BadMessage, Message, read_message, response
from video_service.scheduler import LadderScheduler, NewSegment
from video_service.settings import ApiSettings
from workers.live_playlist import parse_source_window
from workers.ports import free_port
from workers.process import die_with_parent
from workers.storage import Spool, open_spool

log = logging.getLogger(__name__)

_PATH = re.compile(r"^rtsp://[^/]+(/cam/([0-9a-f]{32}))(/.*)?$")
_PUBLIC_METHODS = "OPTIONS, ANNOUNCE, SETUP, RECORD, TEARDOWN, GET_PARAMETER"
_RELAY_CHUNK = 64 * 1024


@dataclass(frozen=True)
class CameraAuth:
    id: str
    site_id: str
    username: str
    ha1: str
    enabled: bool
    push: bool
    tier: int = 1


@dataclass
class _Publish:
    camera_id: str
    writer: asyncio.StreamWriter
    recorder: asyncio.subprocess.Process
    done: asyncio.Event

    def stop(self) -> None:
        self.writer.close()
        if self.recorder.returncode is None:
            self.recorder.terminate()


class Edge:
    def __init__(
        self,
        settings: ApiSettings,
        sessions: "sessionmaker[Session]",
        scheduler: LadderScheduler | None = None,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._scheduler = scheduler
        self._nonces = NonceIssuer()
        self._live: dict[str, _Publish] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._seen: dict[str, set[str]] = {}
        self._spool = open_spool(
            settings.s3_bucket, settings.s3_endpoint_url, settings.state_dir, "edge"
        )
        self._uploaded: dict[str, set[str]] = {}

    @property
    def _watching(self) -> bool:
        """New segments matter to someone: the ladder's scheduler, or object storage."""
        return self._scheduler is not None or self._spool is not None

    @property
    def live_cameras(self) -> list[str]:
        return sorted(self._live)

    async def start(self, host: str | None = None, port: int | None = None) -> asyncio.Server:
        if self._scheduler is not None:
            self._spawn(self._drain_outcomes(self._scheduler))
        self._spawn(self._sweep_forever())
        self._spawn(self._pull_forever())
        return await asyncio.start_server(
            self._handle,
            host or self._settings.rtsp_host,
            self._settings.rtsp_port if port is None else port,
            limit=MAX_HEAD,
        )

    async def close(self) -> None:
        """Stop every publisher, recorder and puller, and wait until their processes exit."""
        for publish in list(self._live.values()):
            publish.stop()
        for publish in list(self._live.values()):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(publish.done.wait(), 20)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self._spool is not None:
            await asyncio.to_thread(self._spool.close)

    def source_dir(self, camera_id: str) -> Path:
        return self._settings.resolved_media_root / "live" / camera_id / "source"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._converse(reader, writer)
        except BadMessage as error:
            await _send(writer, response(400, "Bad Request", None, ("X-Reason", str(error))))
        except (TimeoutError, ConnectionError):
            pass  # a client that stalls or vanishes is simply dropped
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await asyncio.wait_for(read_message(reader), self._settings.request_timeout_s)
            if request is None:
                return
            if request.status:
                raise BadMessage("a client sent a response")
            cseq = request.header("CSeq")
            if request.method == "OPTIONS":
                await _send(writer, response(200, "OK", cseq, ("Public", _PUBLIC_METHODS)))
            elif request.method == "ANNOUNCE":
                camera = await self._authorize(request, writer)
                if camera is not None:
                    await self._publish(camera, request, reader, writer)
                    return
            elif request.method in ("DESCRIBE", "PLAY"):
                await _send(writer, response(405, "Method Not Allowed", cseq,
                                             ("Allow", _PUBLIC_METHODS)))  # fmt: skip
            else:
                await _send(writer, response(455, "Method Not Valid in This State", cseq))

    async def _authorize(self, request: Message, writer: asyncio.StreamWriter) -> CameraAuth | None:
        cseq = request.header("CSeq")
        match = _PATH.match(request.url)
        camera = await asyncio.to_thread(self._lookup, match.group(2)) if match else None
        if camera is None or not camera.push or not camera.enabled:
            reason = "unknown camera" if camera is None or not camera.push else "camera disabled"
            await self._event(EventType.PUBLISH_REFUSED, camera, reason=reason, url=request.url)
            await _send(writer, response(404, "Not Found", cseq))
            return None
        authorization = request.header("Authorization")
        accepted = check_authorization(
            authorization,
            method=request.method,
            username=camera.username,
            ha1=camera.ha1,
            realm=self._settings.rtsp_realm,
            nonces=self._nonces,
        )
        if accepted:
            return camera
        if authorization:
            await self._event(EventType.PUBLISH_REFUSED, camera, reason="wrong credentials")
        challenge = challenges(self._settings.rtsp_realm, self._nonces.issue())
        await _send(writer, response(401, "Unauthorized", cseq, *challenge))
        return None

    async def _publish(
        self,
        camera: CameraAuth,
        announce: Message,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        previous = self._live.get(camera.id)
        if previous is not None:
            log.info("camera %s publishes again: the new publisher replaces the old", camera.id)
            previous.stop()
            await previous.done.wait()
        port = free_port()
        outdir = self.source_dir(camera.id)
        await asyncio.to_thread(outdir.mkdir, parents=True, exist_ok=True)
        recorder = await self._start_recorder(camera, port, outdir, announce.body.decode())
        publish = _Publish(camera.id, writer, recorder, asyncio.Event())
        self._live[camera.id] = publish
        upstream_writer: asyncio.StreamWriter | None = None
        watcher = self._spawn(self._watch(camera, outdir)) if self._watching else None
        guard = self._spawn(self._cut_when_disabled(camera, publish))
        try:
            upstream_reader, upstream_writer = await _connect_when_listening(port, recorder)
            local = f"rtsp://127.0.0.1:{port}"
            rewrite = _url_rewriter(local)
            # FFmpeg's listener expects CSeq to start at 1; the publisher's started earlier
            # (OPTIONS, the 401 round), so sequence numbers are shifted both ways.
            shift = int(announce.header("CSeq") or "1") - 1
            message: Message | None = announce
            while message is not None:
                cseq = int(message.header("CSeq") or "0")
                forwarded = _for_recorder(message, rewrite)
                await _send(upstream_writer, forwarded.with_header("CSeq", str(cseq - shift)))
                answer = await asyncio.wait_for(read_message(upstream_reader), 10)
                if answer is None:
                    raise ConnectionError("the recorder closed the connection")
                await _send(writer, _for_publisher(answer).with_header("CSeq", str(cseq)))
                if message.method == "RECORD" and answer.status == 200:
                    break
                message = await asyncio.wait_for(
                    read_message(reader), self._settings.request_timeout_s
                )
            else:
                return
            await self._event(EventType.CAMERA_ONLINE, camera)
            await _relay(reader, writer, upstream_reader, upstream_writer)
        finally:
            if upstream_writer is not None:
                upstream_writer.close()
            await _finish(recorder)
            guard.cancel()
            if watcher is not None:
                watcher.cancel()
                await self._announce_segments(camera, outdir)  # the last, closed on exit
            if self._live.get(camera.id) is publish:
                del self._live[camera.id]
            await self._event(EventType.CAMERA_OFFLINE, camera)
            publish.done.set()

    async def _start_recorder(
        self, camera: CameraAuth, port: int, outdir: Path, sdp: str
    ) -> asyncio.subprocess.Process:
        listen = build_listen_input(f"rtsp://127.0.0.1:{port}/cam/{camera.id}")
        return await self.start_recording(listen, outdir, audio_for_sdp(sdp))

    async def start_recording(
        self, input_args: list[str], outdir: Path, audio: Audio
    ) -> asyncio.subprocess.Process:
        command = build_record_command(
            self._settings.ffmpeg,
            input_args,
            outdir,
            segment_s=self._settings.segment_seconds,
            window=self._settings.live_window,
            audio=audio,
        )
        # FFmpeg's own complaints go beside the recording, where an operator looks first.
        with (outdir / "recorder.log").open("ab") as log_file:
            return await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log_file,
                preexec_fn=die_with_parent,  # an edge that dies takes its recorders along
            )

    def _lookup(self, camera_id: str) -> CameraAuth | None:
        with session_scope(self._sessions) as session:
            camera = session.get(Camera, camera_id)
            return None if camera is None else _camera_auth(camera)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> "asyncio.Task[None]":
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _cut_when_disabled(self, camera: CameraAuth, publish: _Publish) -> None:
        """A camera disabled or deleted while it publishes is cut off within seconds."""
        while True:
            await asyncio.sleep(self._settings.enabled_check_s)
            current = await asyncio.to_thread(self._lookup, camera.id)
            if current is None or not current.enabled:
                reason = "camera deleted" if current is None else "camera disabled"
                await self._event(EventType.PUBLISH_REFUSED, camera, reason=reason)
                publish.stop()
                return

    async def _watch(self, camera: CameraAuth, outdir: Path) -> None:
        """Notice each segment the recorder closes, within a fifth of a second."""
        self._seen[camera.id] = _listed_segments(outdir)
        while True:
            await asyncio.sleep(0.2)
            await self._announce_segments(camera, outdir)

    async def _announce_segments(self, camera: CameraAuth, outdir: Path) -> None:
        seen = self._seen.setdefault(camera.id, set())
        fresh = await asyncio.to_thread(_new_segments, outdir, seen)
        if not fresh:
            return
        if self._spool is not None:
            uploaded = self._uploaded.setdefault(camera.id, set())
            await asyncio.to_thread(_store, self._spool, camera.id, outdir, uploaded)
        if self._scheduler is not None:
            scheduler = self._scheduler
            await asyncio.to_thread(
                scheduler.on_new_segments, camera.id, camera.site_id, camera.tier, fresh
            )

    async def _pull_forever(self) -> None:
        """Keep one puller running for each enabled pull camera, and none for the others."""
        running: dict[str, tuple[str, asyncio.Task[None]]] = {}
        while True:
            try:
                wanted = await asyncio.to_thread(self._pull_cameras)
            except (OSError, SQLAlchemyError) as error:
                log.warning("listing pull cameras failed: %s", error)
                wanted = {}
            for camera_id, (url, task) in list(running.items()):
                if camera_id not in wanted or wanted[camera_id][1] != url or task.done():
                    task.cancel()
                    del running[camera_id]
            for camera_id, (camera, url) in wanted.items():
                if camera_id not in running:
                    running[camera_id] = (url, self._spawn(self._pull(camera, url)))
            await asyncio.sleep(self._settings.pull_refresh_s)

    async def _pull(self, camera: CameraAuth, url: str) -> None:
        """Record a camera that is an RTSP server; reconnect with a growing wait."""
        outdir = self.source_dir(camera.id)
        await asyncio.to_thread(outdir.mkdir, parents=True, exist_ok=True)
        backoff = 1.0
        while True:
            recorder = await self.start_recording(build_pull_input(url), outdir, Audio.ANY)
            watcher = self._spawn(self._watch(camera, outdir)) if self._watching else None
            online = asyncio.create_task(self._online_when_recording(camera, outdir))
            try:
                await recorder.wait()
            finally:
                if recorder.returncode is None:
                    recorder.terminate()
                    await _finish(recorder)
                online.cancel()
                if watcher is not None:
                    watcher.cancel()
            came_online = online.done() and not online.cancelled() and online.result()
            if came_online:
                await self._event(EventType.CAMERA_OFFLINE, camera, reason="stream ended")
                backoff = 1.0
            else:
                await self._event(EventType.CAMERA_OFFLINE, camera, reason="cannot read it")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._settings.pull_backoff_max_s)

    async def _online_when_recording(self, camera: CameraAuth, outdir: Path) -> bool:
        before = await asyncio.to_thread(_listed_segments, outdir)
        while True:
            await asyncio.sleep(0.5)
            if await asyncio.to_thread(_listed_segments, outdir) - before:
                await self._event(EventType.CAMERA_ONLINE, camera, mode="pull")
                return True

    def _pull_cameras(self) -> dict[str, tuple[CameraAuth, str]]:
        with session_scope(self._sessions) as session:
            query = select(Camera).where(Camera.mode == CameraMode.PULL, Camera.enabled.is_(True))
            return {
                camera.id: (_camera_auth(camera), camera.source_url)
                for camera in session.scalars(query)
                if camera.source_url
            }

    async def _sweep_forever(self) -> None:
        settings = self._settings
        live_keep_s = settings.segment_seconds * (settings.live_window + 3)
        while True:
            deleted = await asyncio.to_thread(
                sweep_media,
                settings.resolved_media_root,
                now=time.time(),
                retention_s=settings.recording_retention_s,
                live_keep_s=live_keep_s,
            )
            if deleted:
                log.info("retention: deleted %d aged-out segments", len(deleted))
            if self._spool is not None:
                for key in deleted:  # and from object storage, after what was put before
                    self._spool.delete(key)
            await asyncio.sleep(settings.sweep_every_s)

    async def _drain_outcomes(self, scheduler: LadderScheduler) -> None:
        while True:
            try:
                await asyncio.to_thread(scheduler.drain_outcomes, 500)
            except (OSError, redis.RedisError) as error:
                log.warning("reading ladder outcomes failed: %s; retrying", error)
                await asyncio.sleep(1)

    async def _event(self, type_: EventType, camera: CameraAuth | None, **detail: object) -> None:
        def write() -> None:
            with session_scope(self._sessions) as session:
                record_event(
                    session,
                    type_,
                    camera_id=camera.id if camera else None,
                    site_id=camera.site_id if camera else None,
                    **detail,
                )

        await asyncio.to_thread(write)


def _store(spool: Spool, camera_id: str, outdir: Path, uploaded: set[str]) -> None:
    """Every segment a snapshot of the playlist names and storage lacks, then that snapshot:
    in that order, through the spool, so storage never lists a segment it does not hold."""
    prefix = f"live/{camera_id}/source"
    text = (outdir / SOURCE_PLAYLIST).read_text()
    named = [entry.uri for entry in parse_source_window(text).entries]
    for uri in named:
        if uri not in uploaded:
            spool.put(f"{prefix}/{uri}", outdir / uri)
            uploaded.add(uri)
    snapshot = outdir / f".{SOURCE_PLAYLIST}.upload"
    snapshot.write_text(text)
    spool.put(f"{prefix}/{SOURCE_PLAYLIST}", snapshot)
    uploaded.intersection_update(named)


def _camera_auth(camera: Camera) -> CameraAuth:
    return CameraAuth(
        camera.id,
        camera.site_id,
        camera.rtsp_username,
        camera.digest_ha1,
        camera.enabled,
        CameraMode(camera.mode) is CameraMode.PUSH,
        camera.site.tier,
    )


def _listed_segments(outdir: Path) -> set[str]:
    playlist = outdir / SOURCE_PLAYLIST
    if not playlist.exists():
        return set()
    return {entry.uri for entry in parse_source_window(playlist.read_text()).entries}


def _new_segments(outdir: Path, seen: set[str]) -> list[NewSegment]:
    """Segments the source playlist lists that were not seen before: when each was closed
    (its file's last write) and when the playlist first listed it (the playlist's)."""
    playlist = outdir / SOURCE_PLAYLIST
    try:
        listed_at = playlist.stat().st_mtime
        window = parse_source_window(playlist.read_text())
    except FileNotFoundError:
        return []
    fresh = []
    for entry in window.entries:
        if entry.uri in seen:
            continue
        try:
            closed_at = (outdir / entry.uri).stat().st_mtime
        except FileNotFoundError:
            continue
        seen.add(entry.uri)
        fresh.append(NewSegment(entry.uri, closed_at, listed_at))
    current = {entry.uri for entry in window.entries}
    seen.intersection_update(current | {f.uri for f in fresh})
    return fresh


_MODE = re.compile(r'mode="?(record|receive)"?', re.IGNORECASE)


def _for_recorder(message: Message, rewrite: Callable[[str], str]) -> Message:
    """The request as the recorder should see it: its own URL, no credentials, and the
    Transport dialect FFmpeg parses (GStreamer quotes the mode: mode="RECORD")."""
    forwarded = message.without("Authorization").with_url(rewrite(message.url))
    transport = forwarded.header("Transport")
    if transport is not None:
        forwarded = forwarded.with_header("Transport", _MODE.sub("mode=record", transport))
    return forwarded


def _for_publisher(answer: Message) -> Message:
    """FFmpeg's listener answers mode=receive (an old alias); publishers expect RECORD."""
    transport = answer.header("Transport")
    if transport is None:
        return answer
    return answer.with_header("Transport", _MODE.sub("mode=record", transport))


def _url_rewriter(local: str) -> Callable[[str], str]:
    def rewrite(url: str) -> str:
        match = _PATH.match(url)
        return f"{local}{match.group(1)}{match.group(3) or ''}" if match else url

    return rewrite


async def _send(writer: asyncio.StreamWriter, message: Message) -> None:
    writer.write(message.encode())
    await writer.drain()


async def _relay(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
) -> None:
    """Copy bytes both ways until either side closes."""

    async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await source.read(_RELAY_CHUNK):
                sink.write(chunk)
                await sink.drain()

    tasks = [
        asyncio.create_task(pump(client_reader, upstream_writer)),
        asyncio.create_task(pump(upstream_reader, client_writer)),
    ]
    _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def _connect_when_listening(
    port: int, recorder: asyncio.subprocess.Process
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    for _ in range(200):
        if recorder.returncode is not None:
            raise ConnectionError("the recorder exited before it listened")
        try:
            return await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            await asyncio.sleep(0.025)
    raise ConnectionError("the recorder did not listen within 5 s")


async def _finish(recorder: asyncio.subprocess.Process) -> None:
    """Let FFmpeg close its last segment; stop it if it does not."""
    try:
        await asyncio.wait_for(recorder.wait(), 10)
    except TimeoutError:
        recorder.terminate()
        try:
            await asyncio.wait_for(recorder.wait(), 5)
        except TimeoutError:
            recorder.kill()
            await recorder.wait()
