"""The cameras this edge owns (`video_service.shared.ownership`): taken when a publisher is
accepted or a pull starts, renewed while it lasts, released when it ends; another edge's
take, heard at once or found at a renewal, cuts this edge's publisher off.

A take by another edge heard while this edge's own take is on its way (in a thread) is kept
until that take returns: whichever token is larger wins. Without `Ownership` (one edge
alone) every call does nothing and every camera is this edge's.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable

from video_service.edge.faults import TRANSIENT
from video_service.shared.ownership import Owner, Ownership, owner_of

log = logging.getLogger(__name__)
CutOff = Callable[[], None]


class CameraLeases:
    def __init__(self, ownership: Ownership | None) -> None:
        self.ownership = ownership
        self._held: dict[str, Owner] = {}
        self._overtaken: dict[str, int] = {}  # camera -> a larger token heard while taking

    async def take(self, camera_id: str) -> Owner | None:
        """The camera is this edge's now. None: no lease (alone, or Redis away: recording
        goes on without one)."""
        if self.ownership is None:
            return None
        try:
            return await asyncio.to_thread(self.ownership.take, camera_id)
        except TRANSIENT as error:
            log.warning("camera %s records without an ownership lease: %s", camera_id, error)
            return None

    def keep(self, owned: Owner) -> bool:
        """Hold what `take` gave, until `release`; False if another edge's take with a
        larger token was heard while this one was on its way (then the camera is theirs)."""
        self._held[owned.camera_id] = owned
        return self._overtaken.pop(owned.camera_id, 0) <= owned.token

    async def hold(self, owned: Owner, cut_off: CutOff) -> None:
        """Renew the lease every third of its time to live while this runs (cancel it to
        stop); lapsed (Redis restarted empty, or away past the lease), take it again; taken
        by another edge, call `cut_off` and return."""
        ownership = self.ownership
        assert ownership is not None
        while True:
            await asyncio.sleep(ownership.ttl_s / 3)
            try:
                if await asyncio.to_thread(ownership.renew, owned):
                    continue
                now = await asyncio.to_thread(owner_of, ownership.client, owned.camera_id)
                if now is None:
                    owned = await asyncio.to_thread(ownership.take, owned.camera_id)
                    self._held[owned.camera_id] = owned
                    continue
            except TRANSIENT:
                continue  # Redis away a moment: recording goes on
            log.warning("camera %s was taken over by edge %s: its publisher here is cut off",
                        owned.camera_id, now.edge)  # fmt: skip
            cut_off()
            return

    async def release(self, camera_id: str) -> None:
        """The camera is free at once (unless another edge has it); Redis away: it lapses."""
        owned = self._held.pop(camera_id, None)
        if owned is not None and self.ownership is not None:
            with contextlib.suppress(*TRANSIENT):
                await asyncio.to_thread(self.ownership.release, owned)

    def heard_taken(self, owner: Owner, cut_off: CutOff) -> None:
        """Another edge took a camera this edge records: cut it off, unless what this edge
        holds is newer; with this edge's own take on its way, settled when it returns."""
        held = self._held.get(owner.camera_id)
        if held is None:
            heard = self._overtaken.get(owner.camera_id, 0)
            self._overtaken[owner.camera_id] = max(heard, owner.token)
        elif owner.token > held.token:
            log.warning("camera %s was taken over by edge %s: its publisher here is cut off",
                        owner.camera_id, owner.edge)  # fmt: skip
            cut_off()

    def is_other_edge(self, owner: Owner) -> bool:
        return self.ownership is not None and owner.edge != self.ownership.edge
