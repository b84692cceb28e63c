"""A viewer's video track for aiortc: the camera's own H.264 frames as `av.Packet`s (Annex B),
which aiortc packetizes as they are (no decoding, no encoding). Timestamps are the camera's
RTP timestamps, counted from the viewer's first frame, unwrapped past 2^32."""

from fractions import Fraction
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from video_service.edge.live_view.fanout import FeedEnded, Viewer

VIDEO_CLOCK = Fraction(1, 90_000)
_WRAP = 1 << 32


class RelayedVideo(MediaStreamTrack):
    kind = "video"

    def __init__(self, viewer: Viewer) -> None:
        super().__init__()
        self.viewer = viewer
        self._last: int | None = None
        self._pts = 0

    async def recv(self) -> "av.Packet[Any]":
        try:
            unit = await self.viewer.next()
        except FeedEnded:
            self.stop()
            raise MediaStreamError from None
        if self._last is not None:
            step = (unit.timestamp - self._last) % _WRAP
            if step < _WRAP // 2:  # never backwards (a camera's clock may jump)
                self._pts += step
        self._last = unit.timestamp
        packet = av.Packet(unit.annex_b())
        packet.pts = self._pts
        packet.time_base = VIDEO_CLOCK
        return packet


class RelayedAudio(MediaStreamTrack):
    """The camera's audio packets as they are (G.711, Opus), timed by the camera's clock."""

    kind = "audio"

    def __init__(self, viewer: Viewer, clock_rate: int) -> None:
        super().__init__()
        self.viewer = viewer
        self._clock = Fraction(1, clock_rate)
        self._last: int | None = None
        self._pts = 0

    async def recv(self) -> "av.Packet[Any]":
        try:
            timestamp, payload = await self.viewer.next_audio()
        except FeedEnded:
            self.stop()
            raise MediaStreamError from None
        if self._last is not None:
            step = (timestamp - self._last) % _WRAP
            if step < _WRAP // 2:
                self._pts += step
        self._last = timestamp
        packet = av.Packet(payload)
        packet.pts = self._pts
        packet.time_base = self._clock
        return packet
