"""A viewer's tracks for aiortc: what its transceivers name (the stream's kind, its id in
the SDP). What they carry, the camera's own H.264 and sound, goes by the feed's broadcast
(broadcast.py), which takes over their senders; nothing reads them."""

from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError


class _Relayed(MediaStreamTrack):
    async def recv(self) -> "av.Packet[Any]":
        self.stop()  # a sender the broadcast did not take over: the session ends, visibly
        raise MediaStreamError("live view's streams are sent by their feed's broadcast")


class RelayedVideo(_Relayed):
    kind = "video"


class RelayedAudio(_Relayed):
    kind = "audio"
