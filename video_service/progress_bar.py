"""A terminal progress bar for transcodes: redrawn in place on a terminal, a line per tenth
elsewhere (logs, CI), so that progress is visible either way."""

from typing import TextIO

_WIDTH = 30


class ProgressBar:
    def __init__(self, stream: TextIO, label: str) -> None:
        self._stream = stream
        self._label = label
        self._tty = stream.isatty()
        self._last_tenth = -1
        self._note = ""

    def note(self, text: str) -> None:
        """A remark shown beside the bar (an attempt number, a retry)."""
        if text != self._note:
            self._note = text
            if not self._tty:
                self._stream.write(f"{self._label}: {text}\n")
                self._stream.flush()

    def update(self, percent: float | None, speed: float | None = None) -> None:
        line = render_progress(self._label, percent, speed, self._note)
        if self._tty:
            self._stream.write("\r" + line)
            self._stream.flush()
            return
        tenth = int((percent or 0) // 10)
        if tenth > self._last_tenth:
            self._last_tenth = tenth
            self._stream.write(line + "\n")
            self._stream.flush()

    def close(self) -> None:
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()


def render_progress(label: str, percent: float | None, speed: float | None, note: str = "") -> str:
    done = max(0.0, min(100.0, percent or 0.0))
    filled = int(_WIDTH * done / 100)
    bar = "#" * filled + "-" * (_WIDTH - filled)
    pace = f" {speed:.2f}x" if speed else ""
    extra = f" ({note})" if note else ""
    return f"{label} [{bar}] {done:5.1f}%{pace}{extra}"
