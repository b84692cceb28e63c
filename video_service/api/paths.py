"""Paths the API serves ahead of FastAPI's routing (`hot_paths`), each declared once: the
template its FastAPI declaration documents, and the matcher the hot path and the request
metrics use."""

import re
from dataclasses import dataclass, field

MEDIA_PREFIX = "/media/"
MEDIA_TEMPLATE = "/media/{path}"


@dataclass(frozen=True)
class PathTemplate:
    template: str  # "/api/cameras/{camera_id}/playback": each {name} one path segment
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = re.split(r"\{(\w+)\}", self.template)
        literal = [re.escape(part) for part in parts[::2]]
        names = [f"(?P<{name}>[^/]+)" for name in parts[1::2]]
        pattern = "".join(p for pair in zip(literal, [*names, ""], strict=True) for p in pair)
        object.__setattr__(self, "_pattern", re.compile(f"^{pattern}$"))

    def match(self, path: str) -> dict[str, str] | None:
        """The path's parameters, or None if it is not this template's."""
        found = self._pattern.match(path)
        return found.groupdict() if found is not None else None


PLAYBACK = PathTemplate("/api/cameras/{camera_id}/playback")
