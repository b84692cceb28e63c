"""Errors of the edge.

BadMessage        the peer sent something that is not RTSP, or too much of it (400)
Refused           a publisher that may not publish; carries the RTSP answer
BadPullUrl        a pull camera's URL the edge may not dial; the API answers 422
BadPacket         an RTP packet the live-view depacketizer cannot read (dropped)
LiveViewRefused   a camera's stream cannot be relayed live (the API's 409)
FeedEnded         a live viewer's feed ended (the camera left, the viewer was cut off)
NoFreePort        every UDP port of live view's range is taken (503)
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rtsp.py raises BadMessage from here
    from video_service.edge.rtsp import Message


class BadPullUrl(ValueError):
    """The URL is not one the edge may pull; the message says why."""


class NoFreePort(OSError):
    """Every port of the configured range is taken (a viewer per port and address)."""


class LiveViewRefused(Exception):
    """The camera's stream cannot be relayed live; the message says why."""


class FeedEnded(Exception):
    """The viewer's feed ended (the camera left, the viewer was cut off); says why."""


class BadPacket(ValueError):
    pass


class Refused(Exception):
    """The publisher may not publish; `answer` says so in RTSP."""

    def __init__(self, answer: "Message") -> None:
        super().__init__(answer.start_line)
        self.answer = answer


class BadMessage(Exception):
    """The peer sent something that is not RTSP, or too much of it."""
