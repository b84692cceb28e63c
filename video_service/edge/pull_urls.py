"""A pull camera's source URL, parsed and rebuilt, never passed through: the edge hands it to
FFmpeg (through its own relay, see `pull_relay`) and connects to what it names, so a URL is
refused unless it is a plain `rtsp://` or `rtsps://` URL of a host, a port and a path, with
no control or whitespace character anywhere (a CR/LF in a path would become a line of its
own in the RTSP request: a request to whatever service the host runs), and it names a
destination the operator allows.

Destinations: loopback, link-local, unspecified and multicast addresses, and the cluster's
service range (`SPARC_PULL_REFUSED_NETWORKS`, by default Kubernetes' 10.96.0.0/12) are
refused; `SPARC_PULL_ALLOWED_NETWORKS` opens a range anyway (a camera on 127.0.0.1 in a
test, say). Private ranges stay allowed: IP cameras live on LANs. A name is resolved and
every address it resolves to must be allowed; the edge checks again when it connects. An
IPv6 address that carries an IPv4 one (`::ffff:127.0.0.1`, NAT64, 6to4 ...) is judged as
both (`forms_of`).

Credentials are kept apart from the URL (`PullUrl.username`, `.password`) and are never
put in a URL handed to another process.
"""

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, unquote

from video_service.edge.errors import BadPullUrl
from workers.base.settings import Network

Resolve = Callable[[str, int], list[str]]

SCHEMES = {"rtsp": 554, "rtsps": 322}
ALWAYS_REFUSED: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in ("127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128",
              "224.0.0.0/4", "ff00::/8", "255.255.255.255/32")
)  # fmt: skip
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# IPv6 ranges whose last 32 bits are an IPv4 address that the host or a translator reaches.
_CARRY_LOW_32 = tuple(
    ipaddress.IPv6Network(n) for n in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48")
)
MAX_URL = 2048
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")
_URL = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://"
    r"(?:(?P<userinfo>[^@/?#]*)@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^:/?#\[\]@]+)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<path>/[^#]*)?$"
)
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_PATH = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*$")


@dataclass(frozen=True)
class PullUrl:
    scheme: str
    host: str  # a name, lowercase, or an address (IPv6 without brackets)
    port: int
    path: str  # from the first /, the query included
    username: str | None = None
    password: str | None = None

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def public(self) -> str:
        """The URL without its credentials: what is shown and what goes on a request line."""
        return f"{self.scheme}://{self.netloc}{self.path}"

    def with_credentials(self) -> str:
        """The URL with its credentials: for storage, encrypted (`secrets`), only."""
        if self.username is None:
            return self.public()
        userinfo = quote(self.username, safe="")
        if self.password is not None:
            userinfo += ":" + quote(self.password, safe="")
        return f"{self.scheme}://{userinfo}@{self.netloc}{self.path}"


def parse_pull_url(raw: str) -> PullUrl:
    if len(raw) > MAX_URL:
        raise BadPullUrl(f"the URL is longer than {MAX_URL} characters")
    if _FORBIDDEN.search(raw):
        raise BadPullUrl("the URL holds a control or whitespace character")
    match = _URL.match(raw)
    if match is None:
        raise BadPullUrl("not a URL of the form rtsp://[user[:password]@]host[:port]/path")
    scheme = match["scheme"].lower()
    if scheme not in SCHEMES:
        raise BadPullUrl("source_url must be an rtsp:// or rtsps:// URL")
    host = _host(match["host"])
    port = int(match["port"]) if match["port"] else SCHEMES[scheme]
    if not 1 <= port <= 65535:
        raise BadPullUrl(f"port {port} is out of range")
    path = match["path"] or "/"
    if not _PATH.match(path) or _has_bad_escape(path):
        raise BadPullUrl("the path holds characters that are not allowed (escape them)")
    username, password = _credentials(match["userinfo"])
    return PullUrl(scheme, host, port, path, username, password)


def _host(text: str) -> str:
    if text.startswith("["):
        try:
            return str(ipaddress.IPv6Address(text[1:-1]))
        except ValueError:
            raise BadPullUrl(f"{text} is not an IPv6 address") from None
    host = text.lower().rstrip(".")
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    if not _HOSTNAME.match(host) or host.replace(".", "").isdigit():
        raise BadPullUrl(f"{text!r} is not a host name or an address")
    return host


def _credentials(userinfo: str | None) -> tuple[str | None, str | None]:
    if userinfo is None:
        return None, None
    user, has_password, password = userinfo.partition(":")
    if _has_bad_escape(userinfo):
        raise BadPullUrl("the credentials hold a bad %-escape")
    username, secret = unquote(user), unquote(password) if has_password else None
    for value in (username, secret or ""):
        if _FORBIDDEN.search(value.replace(" ", "")) or len(value) > 256:
            raise BadPullUrl("the credentials hold a control character, or are too long")
    return username, secret


def _has_bad_escape(text: str) -> bool:
    """A % not followed by two hex digits, or one that escapes a control character."""
    for index in [i for i, c in enumerate(text) if c == "%"]:
        pair = text[index + 1 : index + 3]
        if len(pair) != 2 or not all(c in "0123456789abcdefABCDEF" for c in pair):
            return True
        if int(pair, 16) < 0x20 or int(pair, 16) == 0x7F:
            return True
    return False


def resolve_host(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_destination(
    url: PullUrl,
    *,
    refused: Sequence[Network],
    allowed: Sequence[Network],
    resolve: Resolve = resolve_host,
) -> list[str]:
    """The addresses the URL names, all allowed; else BadPullUrl saying which is not."""
    try:
        addresses = [str(ipaddress.ip_address(url.host))]
    except ValueError:
        try:
            addresses = resolve(url.host, url.port)
        except OSError as error:
            raise BadPullUrl(f"{url.host} does not resolve: {error}") from None
    for text in addresses:
        forms = forms_of(ipaddress.ip_address(text))
        if all(any(form in network for network in allowed) for form in forms):
            continue
        if any(form in network for form in forms for network in (*ALWAYS_REFUSED, *refused)):
            raise BadPullUrl(
                f"{url.host} is {text}, in a range pull cameras may not reach "
                "(loopback, link-local, multicast or the cluster's services); "
                "SPARC_PULL_ALLOWED_NETWORKS opens it"
            )
    return addresses


class PullNetworks(Protocol):
    @property
    def pull_refused_networks(self) -> Sequence[Network]: ...

    @property
    def pull_allowed_networks(self) -> Sequence[Network]: ...


def check_pull_destination(url: PullUrl, networks: PullNetworks) -> list[str]:
    """`check_destination` with the ranges the settings name."""
    return check_destination(
        url, refused=networks.pull_refused_networks, allowed=networks.pull_allowed_networks
    )


def forms_of(address: IPAddress) -> list[IPAddress]:
    """The address, and the IPv4 address an IPv6 one carries where a host or a translator on
    the way would reach that IPv4 address: mapped (`::ffff:a.b.c.d`), translated
    (`::ffff:0:a.b.c.d`), compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`),
    6to4 (`2002::/16`) and Teredo's client. A destination is judged by every form."""
    forms = [address]
    if isinstance(address, ipaddress.IPv6Address):
        value = int(address)
        if address.ipv4_mapped is not None:
            forms.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            forms.append(address.sixtofour)
        if address.teredo is not None:
            forms.extend(address.teredo)
        if any(address in network for network in _CARRY_LOW_32):
            forms.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return forms
