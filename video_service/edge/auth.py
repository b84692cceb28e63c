"""Who may publish: an ANNOUNCE for `/cam/{id}` is checked against that camera's stored HA1
(Digest or Basic). An unknown, pull-only or disabled camera gets 404, a wrong or missing
password 401 with a challenge; each refusal counts against the client's address, and is an
event (a missing password on the first try is not: that is how Digest starts) written as
`refusals` allows; an address that keeps guessing has its wrong answers held a while, a
right one never waits. A camera's record is looked up at most once a second per edge
(`CAMERA_TTL_S`), however many ask: a disabled camera or a new password counts from then."""

import asyncio
import re

from video_service.edge.digest import NonceIssuer, challenges, check_authorization
from video_service.edge.directory import CameraAuth, CameraDirectory
from video_service.edge.errors import Refused
from video_service.edge.refusals import GUESS_PAUSE_S, Refusals
from video_service.edge.rtsp import Message, response
from video_service.shared.ttl_cache import TtlCache

CAMERA_PATH = re.compile(r"^rtsp://[^/]+(/cam/([0-9a-f]{32}))(/.*)?$")
CAMERA_TTL_S = 1.0


class Authenticator:
    def __init__(self, directory: CameraDirectory, refusals: Refusals, realm: str) -> None:
        self._directory = directory
        self._refusals = refusals
        self._realm = realm
        self._nonces = NonceIssuer()
        self._cameras: TtlCache[CameraAuth | None] = TtlCache(CAMERA_TTL_S)

    async def authorize(self, request: Message, address: str) -> CameraAuth:
        """The camera an ANNOUNCE from `address` may publish, or Refused."""
        cseq = request.header("CSeq")
        match = CAMERA_PATH.match(request.url)
        camera = await self._camera(match.group(2)) if match else None
        if camera is None or not camera.push or not camera.enabled:
            reason = "unknown camera" if camera is None or not camera.push else "camera disabled"
            await self._refusals.refuse(address, camera, reason, url=request.url)
            raise Refused(response(404, "Not Found", cseq))
        authorization = request.header("Authorization")
        if authorization and self._accepts(camera, request, authorization):
            return camera
        if authorization:
            if self._refusals.guessing(address):  # held on its own connection, not others'
                await asyncio.sleep(GUESS_PAUSE_S)
            await self._refusals.refuse(address, camera, "wrong credentials")
        else:  # how Digest starts: every publisher's first ANNOUNCE
            self._refusals.challenged(address)
        challenge = challenges(self._realm, self._nonces.issue())
        raise Refused(response(401, "Unauthorized", cseq, *challenge))

    async def _camera(self, camera_id: str) -> CameraAuth | None:
        async def load() -> CameraAuth | None:
            return await asyncio.to_thread(self._directory.camera, camera_id)

        return await self._cameras.get(camera_id, load)

    def _accepts(self, camera: CameraAuth, request: Message, authorization: str) -> bool:
        return check_authorization(
            authorization,
            method=request.method,
            username=camera.username,
            ha1=camera.ha1,
            realm=self._realm,
            nonces=self._nonces,
        )
