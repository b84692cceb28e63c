"""One accepted publisher, from its recorder's start to its end: the recorder listening on a
loopback port, the hand-over of the signalling, the byte relay, and the recorder's finish
(FFmpeg closes its last segment when its input ends)."""

import asyncio
import secrets
from collections.abc import Awaitable, Callable

from video_service.edge.directory import CameraAuth
from video_service.edge.live_view.fanout import LiveFeed
from video_service.edge.live_view.tap import CameraTap
from video_service.edge.recorder import audio_for_sdp, build_listen_input, start_recorder
from video_service.edge.relay import connect_when_listening, hand_over, relay
from video_service.edge.rtsp import Message
from video_service.edge.settings import EdgeSettings
from workers.base.layout import MediaLayout
from workers.base.ports import free_port
from workers.base.process import stop_child

# How long a recorder may take to close its last segment before it is stopped.
RECORDER_FINISH_S = 10.0


class PublishSession:
    def __init__(
        self,
        settings: EdgeSettings,
        camera: CameraAuth,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        feed: LiveFeed | None = None,
    ) -> None:
        """`feed`: where the camera's frames go for live view (None: no live view)."""
        self.camera = camera
        self.feed = feed
        self.id = secrets.token_hex(8)
        self.tap: CameraTap | None = None  # once the publisher's ANNOUNCE is read
        self.done = asyncio.Event()
        # Cut off because another edge took the camera: what it records next is not stored.
        self.taken_over = False
        self._settings = settings
        self._reader = reader
        self._writer = writer
        self._recorder: asyncio.subprocess.Process | None = None

    def cut_off_taken(self) -> None:
        """Another edge took the camera: cut off, and nothing recorded from here is stored."""
        self.taken_over = True
        self.stop()

    def stop(self) -> None:
        """Cut the publisher off; `run` then ends and `done` is set."""
        self._writer.close()
        if self._recorder is not None and self._recorder.returncode is None:
            self._recorder.terminate()

    async def run(self, announce: Message, on_recording: Callable[[], Awaitable[None]]) -> None:
        """Record until either side closes; `on_recording` once RECORD is accepted. Whoever
        runs it sets `done` once everything that follows the end is done too."""
        port = free_port()
        outdir = MediaLayout(self._settings.media_root).source_dir(self.camera.id)
        await asyncio.to_thread(outdir.mkdir, parents=True, exist_ok=True)
        listen = build_listen_input(f"rtsp://127.0.0.1:{port}/cam/{self.camera.id}")
        sdp = announce.body.decode(errors="replace")
        audio = audio_for_sdp(sdp)
        self.tap = tap = CameraTap(sdp, self.feed) if self.feed is not None else None
        self._recorder = recorder = await start_recorder(self._settings, listen, outdir, audio)
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            upstream = await connect_when_listening(port, recorder)
            upstream_writer = upstream[1]
            publisher = (self._reader, self._writer)
            local = f"rtsp://127.0.0.1:{port}"
            timeout_s = self._settings.request_timeout_s
            seen = None if tap is None else _setups(tap)
            if await hand_over(announce, publisher, upstream, local, timeout_s, seen):
                await on_recording()
                await relay(self._reader, self._writer, *upstream, tap=tap)
        finally:
            if upstream_writer is not None:
                upstream_writer.close()
            await stop_child(recorder, wait_s=RECORDER_FINISH_S)


def _setups(tap: CameraTap) -> Callable[[Message], None]:
    def seen(message: Message) -> None:
        if message.method == "SETUP":
            tap.note_setup(message)

    return seen
