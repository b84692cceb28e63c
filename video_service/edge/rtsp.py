"""RTSP/1.0 messages: read a request or response from a stream, with limits, and write one.

Limits keep a hostile client from hurting others: a head larger than MAX_HEAD or a body
larger than MAX_BODY is refused, and callers put a timeout around each read.
"""

import asyncio
import re
from dataclasses import dataclass, field

from video_service.edge.errors import BadMessage

MAX_HEAD = 16 * 1024
_DIGITS = re.compile(r"^[0-9]{1,9}$")  # ASCII only: '²'.isdigit() is true
MAX_BODY = 64 * 1024


@dataclass
class Message:
    start_line: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    def headers_named(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    def without(self, name: str) -> "Message":
        lowered = name.lower()
        kept = [(k, v) for k, v in self.headers if k.lower() != lowered]
        return Message(self.start_line, kept, self.body)

    def with_header(self, name: str, value: str) -> "Message":
        lowered = name.lower()
        headers = [(k, value if k.lower() == lowered else v) for k, v in self.headers]
        if not any(k.lower() == lowered for k, _ in self.headers):
            headers.append((name, value))
        return Message(self.start_line, headers, self.body)

    @property
    def method(self) -> str:
        return self.start_line.split(" ", 1)[0]

    @property
    def url(self) -> str:
        parts = self.start_line.split(" ")
        return parts[1] if len(parts) == 3 else ""

    @property
    def status(self) -> int:
        parts = self.start_line.split(" ", 2)
        return int(parts[1]) if len(parts) >= 2 and _DIGITS.match(parts[1]) else 0

    def with_url(self, url: str) -> "Message":
        method, _, version = self.start_line.split(" ")
        return Message(f"{method} {url} {version}", list(self.headers), self.body)

    def encode(self) -> bytes:
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        if self.body:
            headers.append(("Content-Length", str(len(self.body))))
        lines = [self.start_line, *(f"{k}: {v}" for k, v in headers), "", ""]
        return "\r\n".join(lines).encode() + self.body


async def read_message(reader: asyncio.StreamReader, already: bytes = b"") -> Message | None:
    """The next message, or None when the peer closed the connection cleanly. `already`:
    its first bytes, read by a caller that had to look (interleaved data or a message?)."""
    try:
        head = already + await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if not (already + error.partial).strip():
            return None
        raise BadMessage("the connection closed in the middle of a message") from error
    except asyncio.LimitOverrunError as error:
        raise BadMessage("the message head is too large") from error
    if len(head) > MAX_HEAD:
        raise BadMessage("the message head is too large")
    message = parse_head(head)
    length = message.header("Content-Length")
    if length:
        if not _DIGITS.match(length) or int(length) > MAX_BODY:
            raise BadMessage("bad or too large Content-Length")
        try:
            message.body = await reader.readexactly(int(length))
        except asyncio.IncompleteReadError as error:
            raise BadMessage("the connection closed in the middle of a body") from error
    return message


def parse_head(head: bytes) -> Message:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadMessage("the message head is not text") from error
    lines = text.split("\r\n")
    start = lines[0]
    parts = start.split(" ")
    is_request = len(parts) == 3 and parts[2].startswith("RTSP/1.")
    is_response = start.startswith("RTSP/1.") and len(parts) >= 2
    if not (is_request or is_response):
        raise BadMessage("not an RTSP message")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise BadMessage(f"malformed header line {line[:40]!r}")
        headers.append((name.strip(), value.strip()))
    return Message(start, headers)


def response(status: int, reason: str, cseq: str | None, *extra: tuple[str, str]) -> Message:
    """An answer, its CSeq the request's where that is a number (else 0: nothing a client
    sent goes back into an answer's head unchecked)."""
    number = cseq if cseq is not None and _DIGITS.match(cseq) else "0"
    headers = [("CSeq", number), ("Server", "sparc-video-edge"), *extra]
    return Message(f"RTSP/1.0 {status} {reason}", headers)
