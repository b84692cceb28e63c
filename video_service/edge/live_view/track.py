"""A viewer's tracks for aiortc. Sound: the camera's own audio packets as `av.Packet`s, which
aiortc sends as they are (no decoding, no encoding). Video: the camera's H.264 goes by the
feed's broadcast (broadcast.py), which takes over the track's sender; the track names the
viewer's place in the feed. Timestamps are the camera's RTP timestamps, counted from the
viewer's first frame, unwrapped past 2^32."""

from fractions import Fraction
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from video_service.edge.errors import FeedEnded
from video_service.edge.live_view.fanout import Viewer

VIDEO_CLOCK = Fraction(1, 90_000)
_WRAP = 1 << 32


class Timeline:
    """A camera's RTP timestamps as a viewer's pts: counted from its first packet, unwrapped
    past 2^32, never backwards (a camera's clock may jump)."""

    def __init__(self) -> None:
        self._last: int | None = None
        self.pts = 0

    def at(self, timestamp: int) -> int:
        if self._last is not None:
            step = (timestamp - self._last) % _WRAP
            if step < _WRAP // 2:
                self.pts += step
        self._last = timestamp
        return self.pts


def _packet(data: bytes, pts: int, time_base: Fraction) -> "av.Packet[Any]":
    packet = av.Packet(data)
    packet.pts = pts
    packet.time_base = time_base
    return packet


class RelayedVideo(MediaStreamTrack):
    """The viewer's video: its sender is fed by the feed's broadcast, never by `recv`."""

    kind = "video"

    def __init__(self, viewer: Viewer) -> None:
        super().__init__()
        self.viewer = viewer

    async def recv(self) -> "av.Packet[Any]":
        self.stop()  # a sender the broadcast did not take over: the session ends, visibly
        raise MediaStreamError("live view's video is sent by its feed's broadcast")


class RelayedAudio(MediaStreamTrack):
    """The camera's audio packets as they are (G.711, Opus), timed by the camera's clock."""

    kind = "audio"

    def __init__(self, viewer: Viewer, clock_rate: int) -> None:
        super().__init__()
        self.viewer = viewer
        self._clock = Fraction(1, clock_rate)
        self._timeline = Timeline()

    async def recv(self) -> "av.Packet[Any]":
        try:
            timestamp, payload = await self.viewer.next_audio()
        except FeedEnded:
            self.stop()
            raise MediaStreamError from None
        return _packet(payload, self._timeline.at(timestamp), self._clock)
