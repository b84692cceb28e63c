"""The web player's camera list in headless Chromium: every camera a key may see, 1,000 of
them over two pages, through the cached list route. (How fast: `bench/dashboard_bench.py`.)"""

import json
import subprocess
from pathlib import Path

from tests.api_harness import Api

DRIVER = Path(__file__).parent.parent / "browser" / "dashboard.mjs"


def test_the_player_lists_all_1000_cameras_of_a_key(sqlite_api: Api) -> None:
    admin = sqlite_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    for n in range(1000):
        assert admin.post("/api/cameras", json={"site_id": site, "name": f"c{n}"}).is_success
    key = admin.post("/api/keys", json={"name": "guard", "scope": "viewer",
                                        "site_ids": [site]}).json()["key"]  # fmt: skip
    driven = subprocess.run(["node", str(DRIVER), f"{sqlite_api.url}/player/", key],
                            capture_output=True, text=True, timeout=90)  # fmt: skip
    assert driven.returncode == 0, driven.stderr
    result = json.loads(driven.stdout.strip().splitlines()[-1])
    assert result.get("cameras") == 1000 and result["buttons"] == 1000, result
