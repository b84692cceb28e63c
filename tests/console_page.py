"""The console's camera page in headless Chromium (tests/browser/console_camera.mjs), signed in
as a user the test made: what a viewer of one camera saw."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.api_harness import PASSWORD

DRIVER = Path(__file__).parent / "browser" / "console_camera.mjs"


def camera_page_command(base_url: str, username: str, address: str, seconds: float,
                        mode: str = "") -> list[str]:  # fmt: skip
    """The driver's command line: it prints one JSON line when done."""
    return ["node", str(DRIVER), base_url, username, address, str(seconds), mode]


def browser_env() -> dict[str, str]:
    """The driver's environment: the password of the tests' users."""
    return {**os.environ, "CONSOLE_PASSWORD": PASSWORD}


def seen_by_driver(stdout: str) -> dict[str, Any]:
    return dict(json.loads(stdout.strip().splitlines()[-1]))


def watch_camera(base_url: str, username: str, address: str, seconds: float,
                 mode: str = "") -> dict[str, Any]:  # fmt: skip
    """Opens `address` (`/cameras/ID`, `...?at=ISO`, `...?transport=hls`), signs in, waits for
    the video, watches it `seconds`; `mode` is the driver's (`clock`, `samples`)."""
    driven = subprocess.run(
        camera_page_command(base_url, username, address, seconds, mode),
        capture_output=True, text=True, timeout=120 + seconds, env=browser_env(),
    )  # fmt: skip
    assert driven.returncode == 0, driven.stderr
    seen = seen_by_driver(driven.stdout)
    assert "failure" not in seen, seen
    return seen
