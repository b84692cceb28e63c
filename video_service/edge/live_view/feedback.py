"""What a viewer sends back, read without aiortc's round trip for the part nobody uses.

Every viewer sends a receiver report about once a second (browsers and aiortc alike), for as
long as it watches. aiortc takes each through its ICE connection's queue, wakes the viewer's
DTLS task for it, unprotects it, parses it into objects, routes it to the sender, which
estimates a round trip and keeps a statistics object that only `getStats` would read; the
edge never asks. Measured (bench/README.md, `--only connected`): of what a connected viewer
cost the edge while the camera sent nothing, about two thirds was its receiver reports.

Here the datagram is looked at where aioice hands it over: SRTCP is unprotected at once (it
must be, to see past its first packet, and so is authenticated as aiortc would), and a
compound of receiver reports, source descriptions and bitrate estimates (REMB) ends there.
Anything else (a NACK, a picture-loss or full-intra request, a BYE) goes on to aiortc's own
handling, already unprotected; DTLS, STUN and RTP take aiortc's path as before, and an empty
datagram, which aiortc could not read (its DTLS task fails on it, ending the session), is
dropped, as is an SRTP or SRTCP datagram longer than pylibsrtp's buffer (on which aiortc's
task fails the same way). The reports cost the viewer nothing: its RTCP goes on as before,
NACKs are still answered; what is lost is what only `getStats` shows: aiortc's round-trip
estimate and its DTLS transport's count of the packets received (it no longer counts
SRTCP)."""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pylibsrtp
from aiortc import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtp import is_rtcp

log = logging.getLogger(__name__)

_RECEIVER_REPORT, _SOURCE_DESCRIPTION, _PAYLOAD_FEEDBACK = 201, 202, 206
_REMB = 15  # a payload-specific feedback of format 15 (APP): the receiver's bitrate estimate
# pylibsrtp's buffer: a longer SRTP or SRTCP datagram gets its ValueError, which in aiortc's
# DTLS task ends the session. No viewer sends one (a recvonly viewer's RTCP is a few dozen
# bytes); anyone may.
LONGEST = 1500
_TAKEN = "_sparc_feedback"  # set on a DTLS transport whose connection is already read here


def only_reports(compound: bytes) -> bool:
    """The (unprotected) compound RTCP packet holds only receiver reports, source
    descriptions and bitrate estimates, walked by its headers (RFC 3550 6.1: version 2,
    each packet's length in 32-bit words less one); False for anything else, or where the
    lengths do not add up."""
    offset, end = 0, len(compound)
    while offset + 4 <= end:
        first, kind = compound[offset], compound[offset + 1]
        if first >> 6 != 2:
            return False
        estimate = kind == _PAYLOAD_FEEDBACK and first & 0x1F == _REMB
        if kind != _RECEIVER_REPORT and kind != _SOURCE_DESCRIPTION and not estimate:
            return False
        offset += 4 * (int.from_bytes(compound[offset + 2 : offset + 4], "big") + 1)
    return offset == end and end > 0


def read_feedback_here(dtls: RTCDtlsTransport) -> None:
    """From now on, the viewer's SRTCP is read as the module says: on the ICE connection
    under `dtls`, once (the video and sound of a viewer share it once BUNDLE is
    negotiated: call it for the transport each sender has then)."""
    if getattr(dtls, _TAKEN, False):
        return
    connection: Any = dtls.transport._connection  # aioice's
    delivered: Callable[[bytes, int], None] = connection.data_received
    handling: set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    def data_received(data: bytes, component: int) -> None:
        if not data:  # anyone may send one; aiortc's DTLS task, reading its first byte,
            return  # would fail on it and end the viewer's session
        media = 127 < data[0] < 192  # SRTP or SRTCP (RFC 7983), as aiortc tells them
        if media and len(data) > LONGEST:
            return
        srtp = dtls._rx_srtp
        if srtp is None or not media or not is_rtcp(data):
            delivered(data, component)  # DTLS, RTP, or SRTCP before the keys are known
            return
        if dtls._state is not DtlsState.CONNECTED:
            return  # closing: nothing to answer with
        try:
            compound = srtp.unprotect_rtcp(data)
        except pylibsrtp.Error as error:  # forged, replayed or damaged: aiortc drops it too
            log.debug("live view: a viewer's RTCP dropped: %s", error)
            return
        if not only_reports(compound):
            task = asyncio.ensure_future(dtls._handle_rtcp_data(compound))
            handling.add(task)
            task.add_done_callback(handling.discard)
            task.add_done_callback(_failed)

    connection.data_received = data_received
    setattr(dtls, _TAKEN, True)


def _failed(task: "asyncio.Future[None]") -> None:
    if task.cancelled() or task.exception() is None:
        return
    if isinstance(task.exception(), ConnectionError):  # a NACK answered as the viewer left
        log.debug("live view: a viewer's RTCP not answered: %s", task.exception())
    else:
        log.error("live view: a viewer's RTCP failed", exc_info=task.exception())
