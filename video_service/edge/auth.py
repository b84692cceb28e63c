"""Who may publish: an ANNOUNCE for `/cam/{id}` is checked against that camera's stored HA1
(Digest or Basic). An unknown, pull-only or disabled camera gets 404, a wrong or missing
password 401 with a challenge; each refusal is an event (a missing password on the first
try is not: that is how Digest starts)."""

import asyncio
import re

from video_service.edge.digest import NonceIssuer, challenges, check_authorization
from video_service.edge.directory import CameraAuth, CameraDirectory
from video_service.edge.events import EventSink, EventType, report
from video_service.edge.rtsp import Message, response

CAMERA_PATH = re.compile(r"^rtsp://[^/]+(/cam/([0-9a-f]{32}))(/.*)?$")


class Refused(Exception):
    """The publisher may not publish; `answer` says so in RTSP."""

    def __init__(self, answer: Message) -> None:
        super().__init__(answer.start_line)
        self.answer = answer


class Authenticator:
    def __init__(self, directory: CameraDirectory, events: EventSink, realm: str) -> None:
        self._directory = directory
        self._events = events
        self._realm = realm
        self._nonces = NonceIssuer()

    async def authorize(self, request: Message) -> CameraAuth:
        """The camera an ANNOUNCE may publish, or Refused."""
        cseq = request.header("CSeq")
        match = CAMERA_PATH.match(request.url)
        camera = await asyncio.to_thread(self._directory.camera, match.group(2)) if match else None
        if camera is None or not camera.push or not camera.enabled:
            reason = "unknown camera" if camera is None or not camera.push else "camera disabled"
            await report(self._events, EventType.PUBLISH_REFUSED, camera, reason=reason,
                         url=request.url)  # fmt: skip
            raise Refused(response(404, "Not Found", cseq))
        authorization = request.header("Authorization")
        accepted = check_authorization(
            authorization,
            method=request.method,
            username=camera.username,
            ha1=camera.ha1,
            realm=self._realm,
            nonces=self._nonces,
        )
        if accepted:
            return camera
        if authorization:
            await report(self._events, EventType.PUBLISH_REFUSED, camera,
                         reason="wrong credentials")  # fmt: skip
        challenge = challenges(self._realm, self._nonces.issue())
        raise Refused(response(401, "Unauthorized", cseq, *challenge))
