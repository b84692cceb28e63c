"""The console in a real browser: an operator made with the CLI opens the wall, is sent to
sign in, signs in through the form and sees every tile of a wall of 4 publishing cameras play
live video over WebRTC (from the sub-streams where there are, at their size); the tab hidden,
the edge's viewers drop to 0, and come back when it is shown. The page's
Content-Security-Policy names the edge, the cookie is HttpOnly and SameSite=Strict, nothing
is kept in the browser's storage. And the server: each console route serves the page, an
asset is kept a year, a path that climbs out of the assets is a 404."""

import gzip
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.api_harness import Api, api_user, cli_user
from tests.console_page import browser_env, seen_by_driver
from tests.edge_harness import RunningEdge, publisher
from tests.processes import Children
from tests.waiting import eventually
from video_service.api.routes import console as console_routes

DRIVER = Path(__file__).parent.parent / "browser" / "console_wall.mjs"
TILES = 4
HOSTILE = "<img src=x onerror=alert(1)>"  # a name or a detail that must stay text


def test_each_console_route_is_the_page_under_a_strict_policy(live_api: Api) -> None:
    for path in ("/", "/sign-in", "/wall?site=x&layout=4", "/cameras/abc", "/events", "/admin"):
        page = httpx.get(live_api.url + path)
        assert page.status_code == 200 and '<div id="root">' in page.text, path
        policy = page.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy, policy
        assert "<script>" not in page.text and "style=" not in page.text
    asset = page.text.split('src="/assets/')[1].split('"')[0]
    script = httpx.get(f"{live_api.url}/assets/{asset}")
    assert script.status_code == 200 and "immutable" in script.headers["cache-control"]
    for hostile in ("..%2F..%2Fpyproject.toml", "%2e%2e", "a%00b.js", "nope.js"):
        assert httpx.get(f"{live_api.url}/assets/{hostile}").status_code == 404, hostile
    worker = httpx.get(f"{live_api.url}/sw.js")
    assert worker.status_code == 200 and "javascript" in worker.headers["content-type"]


@pytest.mark.long
def test_an_operator_signs_in_and_watches_a_wall_of_four_live_cameras(
    live_api: Api, owning_edge: RunningEdge, children: Children, whep_port: int
) -> None:
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    names = [HOSTILE, *(f"Cam {n}" for n in range(1, TILES))]
    cameras = [admin.post("/api/cameras", json={"site_id": site, "name": name}).json()
               for name in names]  # fmt: skip
    cli_user(live_api, "olga", "operator", site)
    for n, camera in enumerate(cameras):
        main = owning_edge.url(camera)
        # One camera has sound the browser could play (G.711): a muted tile asks for none.
        sound = "pcm_mulaw" if n == 1 else "aac"
        command = publisher(main, 90, size="320x180", gop_s=1, audio=sound)
        children.popen(command, stderr=subprocess.DEVNULL)
        if n == 0:  # one camera sends a sub-stream too: its tile plays that
            sub = publisher(main + "/sub", 90, size="192x108", gop_s=1)
            children.popen(sub, stderr=subprocess.DEVNULL)
    feeds = owning_edge.edge.live_feeds
    eventually(lambda: all(feeds.get(c["id"]) is not None for c in cameras), 30,
               what="every camera publishing")  # fmt: skip

    env = browser_env()
    driver = children.popen(
        ["node", str(DRIVER), live_api.url, "olga", site, str(TILES)], env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert driver.stdout is not None and driver.stdin is not None

    def step() -> dict[str, object]:
        line = driver.stdout.readline()  # type: ignore[union-attr]
        assert line, "the driver ended early"
        said = json.loads(line)
        assert said["step"] != "error", said
        return dict(said)

    playing = step()
    assert playing["step"] == "playing", playing
    assert all(moved > 1.0 for moved in playing["advanced"]), playing  # type: ignore[attr-defined]
    assert [192, 108] in playing["sizes"], "the sub-stream's tile plays the sub-stream"  # type: ignore[operator]
    assert playing["stored"] == 0, "nothing in localStorage or sessionStorage"
    assert HOSTILE in playing["names"] and playing["dialogs"] == [], "names are text"  # type: ignore[operator]
    (cookie,) = playing["cookies"]  # type: ignore[misc]
    assert cookie == {"name": "sparc_session", "httpOnly": True, "sameSite": "Strict",
                      "secure": False}, cookie  # fmt: skip
    assert f"http://127.0.0.1:{whep_port}" in str(playing["policy"]), "the edge may be reached"
    assert feeds.viewer_count() >= TILES
    whep = owning_edge.edge.whep
    assert whep is not None
    heard = [s.audio for s in list(whep.sessions.values()) if s.camera_id == cameras[1]["id"]]
    assert heard and all(a == "none: the offer has no audio/PCMU" for a in heard), heard

    assert step()["step"] == "hidden"
    eventually(lambda: feeds.viewer_count() == 0, 15, what="every stream stopped")
    driver.stdin.write("show\n")
    driver.stdin.flush()
    shown = step()
    assert shown["step"] == "shown" and not shown["violations"], shown
    assert shown["fromServiceWorker"], "a second visit's shell comes from the service worker"
    assert feeds.viewer_count() >= TILES  # every camera streams to the wall again
    driver.stdin.write("close\n")  # the driver closes the page only now
    driver.stdin.flush()
    assert driver.wait(30) == 0


BUILT = Path(__file__).parents[2] / "video_service" / "console" / "dist"
BUDGET = 120 * 1024  # the initial route's JavaScript, gzip


def test_the_wall_loads_at_most_120_kb_of_javascript_and_hls_js_only_when_used() -> None:
    """What a first visit to the wall fetches (the entry, the wall's page and what each
    imports statically, as Vite's manifest says), gzip: within the budget; hls.js and the
    administration page are chunks of their own, loaded only when used."""
    manifest = json.loads((BUILT / ".vite" / "manifest.json").read_text())
    loaded: set[str] = set()

    def load(key: str) -> None:
        if key not in loaded:
            loaded.add(key)
            for imported in manifest[key].get("imports", []):
                load(imported)

    load("index.html")
    if "src/pages/Wall.tsx" in manifest:  # a chunk of its own, else in the entry
        load("src/pages/Wall.tsx")
    files = {manifest[key]["file"] for key in loaded}
    size = sum(len(gzip.compress((BUILT / name).read_bytes(), 9)) for name in files)
    assert size <= BUDGET, f"{size / 1024:.1f} KB gzip: {sorted(files)}"
    lazy = [key for key in manifest if "hls.js" in key or key == "src/pages/Admin.tsx"]
    assert len(lazy) == 2 and not set(lazy) & loaded, lazy


SHELL_DRIVER = Path(__file__).parent.parent / "browser" / "console_shell.mjs"


def test_after_a_deploy_the_service_worker_keeps_only_what_the_new_shell_names(
    live_api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, children: Children
) -> None:
    """The worker keeps the shell and its assets; once a new deploy's shell is fetched, the
    assets it does not name are deleted from its cache (here the sign-in page's chunk,
    which only the entry loads), and the page opens as before."""
    built = tmp_path / "dist"
    shutil.copytree(BUILT, built)
    monkeypatch.setattr(console_routes, "CONSOLE", built)
    driver = children.popen(["node", str(SHELL_DRIVER), live_api.url], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert driver.stdout is not None and driver.stdin is not None
    kept = json.loads(driver.stdout.readline())
    assert kept["step"] == "kept", kept
    page = (built / "index.html").read_text()
    named = set(re.findall(r"/assets/[A-Za-z0-9._-]+", page))
    sign_in = [path for path in kept["assets"] if re.fullmatch(r"/assets/SignIn-.+\.js", path)]
    assert named and named <= set(kept["assets"]) and sign_in, kept
    assert not set(sign_in) & named  # a lazy chunk: not in the shell
    # A deploy: a shell that differs (a real build differs in its assets' names too).
    marked = page.replace("<head>", '<head><meta name="build" content="deployed-2">', 1)
    assert marked != page
    (built / "index.html").write_text(marked)
    driver.stdin.write("deployed\n")
    driver.stdin.flush()
    done = json.loads(driver.stdout.readline())
    assert done["step"] == "deployed", done
    pruned = set(done["pruned"])
    assert named <= pruned and "/index.html" in pruned, done
    assert not set(sign_in) & pruned, done  # not named by the new shell: gone
    assert driver.wait(30) == 0


EVENTS_DRIVER = Path(__file__).parent.parent / "browser" / "console_events.mjs"


def test_an_event_posted_with_a_key_appears_in_the_feed_as_text_within_a_second(
    live_api: Api, children: Children
) -> None:
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    camera = admin.post("/api/cameras", json={"site_id": site, "name": HOSTILE}).json()["id"]
    api_user(live_api, "omar", "operator", site)
    env = browser_env()
    driver = children.popen(
        ["node", str(EVENTS_DRIVER), live_api.url, "omar", "door.forced"], env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert driver.stdout is not None and driver.stdin is not None
    live = json.loads(driver.stdout.readline())
    assert live["step"] == "live", live
    at = datetime.now(UTC).isoformat()
    batch = [{"camera_id": camera, "type": "door.forced", "at": at, "detail": {"note": HOSTILE}}]
    driver.stdin.write("posted\n")
    driver.stdin.flush()
    assert admin.post("/api/events", json={"events": batch}).status_code == 201
    shown = json.loads(driver.stdout.readline())
    assert shown["step"] == "shown", shown
    assert shown["ms"] < 1000, shown
    assert HOSTILE in shown["text"] and shown["dialogs"] == [], "shown as text, never run"
    assert all("/still.jpg" in src for src in shown["images"]), "no image from the data"
    assert driver.wait(30) == 0


ADMIN_DRIVER = Path(__file__).parent.parent / "browser" / "console_admin.mjs"


@pytest.mark.long
def test_a_camera_added_in_the_admin_pages_publishes_with_the_password_shown_once(
    live_api: Api, owning_edge: RunningEdge, children: Children
) -> None:
    """And a refused source URL is shown next to its field; no page has a serious or
    critical accessibility violation (axe-core)."""
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    other = admin.post("/api/cameras", json={"site_id": site, "name": "Gate"}).json()["id"]
    api_user(live_api, "ada", "admin")
    env = browser_env()
    driven = subprocess.run(["node", str(ADMIN_DRIVER), live_api.url, "ada", site, other],
                            env=env, capture_output=True, text=True, timeout=240)  # fmt: skip
    result = seen_by_driver(driven.stdout)
    why = f"{result.get('error')} {driven.stderr[-2000:]}"
    assert driven.returncode == 0 and "error" not in result, why
    secret = result["secret"]
    assert secret["RTSP password"] and secret["Publish URL"].startswith("rtsp://")
    assert "may not reach" in result["refusal"], result["refusal"]
    assert all(found == [] for found in result["axe"].values()), result["axe"]
    made = [c for c in admin.get("/api/cameras").json()["data"] if c["name"] == "Loading bay"]
    assert len(made) == 1 and "rtsp_password" not in made[0], "shown once, then never"
    camera = made[0]
    assert secret["RTSP username"] == camera["rtsp_username"]
    url = owning_edge.url(camera, password=secret["RTSP password"])
    children.popen(publisher(url, 30, size="320x180"), stderr=subprocess.DEVNULL)
    eventually(lambda: camera["id"] in owning_edge.edge.live_cameras, 20,
               what="the camera publishing with the password shown")  # fmt: skip
