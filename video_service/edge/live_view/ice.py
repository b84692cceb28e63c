"""Where live view's media arrives: host candidates on one configured interface (or address)
and in one UDP port range, so that a firewall, a NetworkPolicy or a `hostPort` range can
open exactly those.

aioice, under aiortc, binds an ephemeral port on every interface and has no option for
either. A WHEP session's ICE connections are adopted before they gather
(`PinnedConnection`): they bind their host candidates here, on the plan's addresses and a
free port of its range, and leave server-reflexive (STUN) and relayed (TURN) candidates to
aioice as before. A range with no free port left refuses the viewer (`NoFreePort`: the
WHEP server answers 503) rather than falling back to a port the firewall would drop.

Anyone who reaches those ports may send them anything, and aioice takes it all: any datagram
that is not STUN goes to its connection's queue (unbounded, unread until DTLS starts), from
whatever address, and before the handshake aiortc's DTLS reads it as the viewer's (one plain
alert ended the session). `guard_stun` stands at each socket: a datagram longer than WebRTC
sends (1,500 bytes) is dropped; one that is not STUN only passes from an address ICE pairs
with (a candidate of the viewer's offer, or one that sent a request signed with the
session's ICE password); STUN must look like STUN (a first byte of 0-3, the magic cookie,
at most 548 bytes and 32 attributes, one FINGERPRINT at most: aioice's parser checks each
over all the bytes before it), and what aioice's parser cannot read is dropped (an
attribute shorter than its type raised `struct.error`, which the event loop logged as an
error with its traceback, one a datagram; what fails with a ValueError aioice queued as
data).
"""

import asyncio
import errno
import ipaddress
import logging
import random
import re
import socket
import struct
from dataclasses import dataclass
from typing import Any

import ifaddr
from aioice import Candidate
from aioice import ice as aioice_ice
from aioice import turn as aioice_turn
from aioice.candidate import candidate_foundation, candidate_priority
from aiortc import RTCPeerConnection

from video_service.edge.errors import NoFreePort

log = logging.getLogger(__name__)
_GUARDED = "_sparc_guarded"
LONGEST_DATAGRAM = 1500  # bytes: WebRTC keeps under a path's MTU
LONGEST_STUN = 548  # bytes: RFC 8489's bound for STUN over UDP where the MTU is not known
MOST_STUN_ATTRIBUTES = 32
_MAGIC_COOKIE = b"\x21\x12\xa4\x42"
_FINGERPRINT = 0x8028
_ATTRIBUTE = struct.Struct("!HH")  # an attribute's type and length

MIN_PORT = 1024
MAX_PORT = 65535
_PORT_RANGE = re.compile(r"(?P<first>[0-9]{1,5})(?:-(?P<last>[0-9]{1,5}))?")


@dataclass(frozen=True)
class HostPlan:
    """The addresses host candidates are on (none: every interface, aioice's choice) and
    the ports they bind (None: ephemeral)."""

    addresses: tuple[str, ...] = ()
    ports: range | None = None

    @property
    def pinned(self) -> bool:
        return bool(self.addresses) or self.ports is not None


ANY_HOST = HostPlan()  # aioice's own way: every interface, ephemeral ports


def parse_port_range(text: str) -> range:
    """`40000-40199` (or one port, `40000`) as the range of ports it names."""
    matched = _PORT_RANGE.fullmatch(text.strip())
    if matched is None:
        raise ValueError(f"a UDP port range is FIRST-LAST (40000-40199), not {text!r}")
    first = int(matched["first"])
    last = int(matched["last"] or first)
    if not MIN_PORT <= first <= last <= MAX_PORT:
        raise ValueError(
            f"a UDP port range lies within {MIN_PORT}-{MAX_PORT}, first <= last: {text!r}"
        )
    return range(first, last + 1)


def interface_addresses(interface: str) -> tuple[str, ...]:
    """The addresses of a network interface named `eth0`, or an address given as it is.
    IPv6 link-local addresses are left out (a candidate cannot name their scope)."""
    try:
        return (str(ipaddress.ip_address(interface)),)
    except ValueError:
        pass
    adapters = {adapter.name: adapter for adapter in ifaddr.get_adapters()}
    adapter = adapters.get(interface)
    if adapter is None:
        known = ", ".join(sorted(adapters)) or "none"
        raise ValueError(f"no network interface {interface!r} here (there are: {known})")
    addresses = []
    for ip in adapter.ips:
        if isinstance(ip.ip, str):
            addresses.append(ip.ip)
        elif not ipaddress.ip_address(ip.ip[0]).is_link_local:
            addresses.append(ip.ip[0])
    if not addresses:
        raise ValueError(f"the network interface {interface!r} has no address")
    return tuple(addresses)


def host_plan(interface: str | None, ports: str | None) -> HostPlan:
    """The plan the edge's settings name (SPARC_WEBRTC_INTERFACE, SPARC_WEBRTC_UDP_PORTS)."""
    return HostPlan(
        addresses=interface_addresses(interface) if interface else (),
        ports=parse_port_range(ports) if ports else None,
    )


def adopt(connection: RTCPeerConnection, plan: HostPlan) -> None:
    """Make the ICE connections of `connection` gather by `plan`. Call it after the remote
    description is applied (bundling has dropped the transports it replaced) and before
    the local one (which gathers)."""
    if not plan.pinned:
        return
    for transceiver in connection.getTransceivers():
        gatherer = transceiver.sender.transport.transport.iceGatherer
        ice = gatherer._connection
        if not isinstance(ice, PinnedConnection):
            ice.__class__ = PinnedConnection
        ice.plan = plan  # type: ignore[attr-defined]


def guard_stun(connection: RTCPeerConnection) -> None:
    """The datagrams that reach the host candidates of `connection`, sifted as the module
    says. Call it once it has gathered (its local description set), before the answer
    leaves: its sockets are bound then (what arrives while it gathers passes as before)."""
    for transceiver in connection.getTransceivers():
        ice = transceiver.sender.transport.transport.iceGatherer._connection  # aioice's
        if _GUARDED not in vars(ice):  # (BUNDLE: one connection for all)
            ice.data_received = _not_stun(ice)  # type: ignore[method-assign]
            setattr(ice, _GUARDED, True)
        for protocol in ice._protocols:  # its host candidates'
            if type(protocol) is aioice_ice.StunProtocol and _GUARDED not in vars(protocol):
                protocol.datagram_received = _sifted(protocol, ice)  # type: ignore[method-assign]
                setattr(protocol, _GUARDED, True)


def _sifted(protocol: aioice_ice.StunProtocol, ice: Any) -> Any:
    received = protocol.datagram_received

    def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
        if not data or len(data) > LONGEST_DATAGRAM:
            return
        if data[0] < 4:  # STUN (RFC 7983)
            if len(data) > LONGEST_STUN or data[4:8] != _MAGIC_COOKIE or not _plain(data):
                return
        elif not _paired(ice, protocol, addr):  # DTLS, SRTP: from the viewer only
            return
        try:
            received(data, addr)
        except Exception as error:  # unauthenticated input aioice could not read
            log.debug("live view: a datagram from %s dropped: %r", addr, error)

    return datagram_received


def _plain(data: bytes) -> bool:
    """Its attributes, walked by their lengths, are few (a viewer's checks carry about ten)
    with one FINGERPRINT at most, which aioice's parser checks over all the bytes before
    each: the cost of a message of many is the square of its length."""
    at, count, fingerprints = 20, 0, 0
    while at + 4 <= len(data):
        kind, length = _ATTRIBUTE.unpack_from(data, at)
        at += 4 + length + (-length % 4)
        count += 1
        fingerprints += kind == _FINGERPRINT
        if count > MOST_STUN_ATTRIBUTES or fingerprints > 1:
            return False
    return True


def _not_stun(connection: Any) -> Any:
    """aioice's connection's `data_received`, but for what begins as STUN does (a first byte of
    0-3) and its parser could not read: it would queue it as data, for no one."""
    delivered = connection.data_received

    def data_received(data: bytes, component: int) -> None:
        if data and data[0] >= 4:
            delivered(data, component)

    return data_received


def _paired(ice: Any, protocol: aioice_ice.StunProtocol, addr: tuple[Any, ...]) -> bool:
    """ICE pairs this socket with `addr`: a candidate the viewer's offer (or a trickle)
    gave, or one that sent a request signed with the session's password (aioice pairs
    those too)."""
    host, port = addr[0], addr[1]
    return any(
        pair.protocol is protocol and pair.remote_addr == (host, port) for pair in ice._check_list
    )


class PinnedConnection(aioice_ice.Connection):
    """aioice's connection, with host candidates on the plan's addresses and ports."""

    plan: HostPlan

    async def get_component_candidates(
        self, component: int, addresses: list[str], timeout: int = 5
    ) -> list[Candidate]:
        addresses = list(self.plan.addresses) or addresses
        ports = self.plan.ports
        if ports is None:
            return await super().get_component_candidates(component, addresses, timeout)
        hosts = [await self._bind(component, address, ports) for address in addresses]
        reflexive = [
            aioice_ice.server_reflexive_candidate(protocol, self.stun_server)
            for protocol in hosts
            if self.stun_server and ipaddress.ip_address(protocol.local_candidate.host).version == 4
        ]
        # With no addresses aioice gathers only what the TURN server relays.
        relayed, *found = await asyncio.gather(
            super().get_component_candidates(component, [], timeout),
            *(asyncio.wait_for(query, timeout) for query in reflexive),
            return_exceptions=True,
        )
        candidates = [protocol.local_candidate for protocol in hosts]
        candidates += [result[0] for result in found if isinstance(result, tuple)]
        if isinstance(relayed, list):
            candidates += relayed
        return candidates

    async def _bind(self, component: int, address: str, ports: range) -> aioice_ice.StunProtocol:
        """A host candidate on `address` and the first free port of `ports`, tried from a
        random place in the range (sessions opening together rarely try the same port)."""
        loop = asyncio.get_running_loop()
        start = random.randrange(len(ports))
        for offset in range(len(ports)):
            port = ports[(start + offset) % len(ports)]
            try:
                transport, protocol = await loop.create_datagram_endpoint(
                    lambda: aioice_ice.StunProtocol(self), local_addr=(address, port)
                )
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    continue
                raise
            sock = transport.get_extra_info("socket")
            if sock is not None:
                buffer = aioice_turn.UDP_SOCKET_BUFFER_SIZE
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer)
            protocol.local_candidate = Candidate(
                foundation=candidate_foundation("host", "udp", address),
                component=component,
                transport="udp",
                priority=candidate_priority(component, "host"),
                host=address,
                port=port,
                type="host",
            )
            self._protocols.append(protocol)
            return protocol
        raise NoFreePort(
            errno.EADDRINUSE,
            f"every UDP port of {ports.start}-{ports.stop - 1} on {address} is taken",
        )
