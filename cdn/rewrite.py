"""Put a token on every URI of a playlist: URI lines and `URI="..."` attributes alike.

A relative URI drops the query string of the playlist it came from, so a token on the
playlist URL alone does not reach its segments: each URI must carry its own. Queries are
computed from the URI's absolute path, so per-path schemes (Fastly) work as well as
wildcard ones (CloudFront, Akamai, the origin).
"""

import hashlib
import posixpath
import re
from collections import OrderedDict
from collections.abc import Callable, Hashable
from urllib.parse import urlsplit

QueryFor = Callable[[str], str]

# URI="..." but not SERVER-URI="..." (the steering server authenticates viewers itself).
_URI_ATTRIBUTE = re.compile(r'(?<![A-Z-])URI="([^"]*)"')


def rewrite_playlist(text: str, playlist_path: str, query_for: QueryFor) -> str:
    base = posixpath.dirname(playlist_path)
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            lines.append(_with_token(stripped, base, query_for))
        elif stripped.startswith("#EXT") and 'URI="' in stripped:
            lines.append(
                _URI_ATTRIBUTE.sub(
                    lambda m: f'URI="{_with_token(m.group(1), base, query_for)}"', stripped
                )
            )
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def _with_token(uri: str, base: str, query_for: QueryFor) -> str:
    parts = urlsplit(uri)
    if parts.scheme or uri.startswith("/"):
        path = parts.path
    else:
        path = posixpath.normpath(posixpath.join(base, parts.path))
    separator = "&" if "?" in uri else "?"
    return f"{uri}{separator}{query_for(path)}"


class RewriteCache:
    """Rewritten playlists by (stream, provider, token window, source version): a player's
    poll of an unchanged playlist within a window is a dictionary look-up. The version is
    the source text's hash (`get`) or anything that changes with it, such as a file's
    mtime and size (`lookup`)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._entries: OrderedDict[Hashable, str] = OrderedDict()
        self._max = max_entries

    def get(self, key: Hashable, text: str, build: Callable[[], str]) -> str:
        return self.lookup((key, hashlib.blake2b(text.encode(), digest_size=16).digest()), build)

    def find(self, key: Hashable) -> str | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def lookup(self, key: Hashable, build: Callable[[], str]) -> str:
        found = self.find(key)
        if found is not None:
            return found
        value = build()
        self._entries[key] = value
        if len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)
