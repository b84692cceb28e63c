"""This edge's part of still pictures (`video_service.shared.stills`): every `EVERY_S`, for
each camera asked about in the last minute that publishes here, the next keyframe of its
sub-stream where it sends one, else of its main stream, is decoded alone, scaled to at most
640 wide and kept as a JPEG with its time. One picture per camera per interval however many
ask; a camera nobody asks about costs nothing (its frames are not even rebuilt); with a
keyframe at least every `KEYFRAME_WAIT_S`, a live camera's picture is at most
`EVERY_S + KEYFRAME_WAIT_S` old.
"""

import asyncio
import contextlib
import logging
import time

import redis

from video_service.edge.errors import LiveViewRefused
from video_service.edge.faults import TRANSIENT
from video_service.edge.live_view.fanout import LiveFeed, LiveFeeds
from video_service.edge.live_view.still import still_jpeg
from video_service.shared.stills import asked_cameras, write_still
from video_service.shared.streams import sub_stream_id

log = logging.getLogger(__name__)
EVERY_S = 5.0
KEYFRAME_WAIT_S = 5.0


class Stills:
    def __init__(self, client: redis.Redis, feeds: LiveFeeds) -> None:
        self._client = client
        self._feeds = feeds

    async def make_forever(self) -> None:
        while True:
            with contextlib.suppress(*TRANSIENT):
                await self.make_once()
            await asyncio.sleep(EVERY_S)

    async def make_once(self) -> int:
        """The pictures of the asked-about cameras publishing here; how many were made."""
        asked = await asyncio.to_thread(asked_cameras, self._client)
        here = [(camera, feed) for camera in asked if (feed := self._feed(camera)) is not None]
        made = await asyncio.gather(*(self._make(camera, feed) for camera, feed in here))
        return sum(made)

    def _feed(self, camera_id: str) -> LiveFeed | None:
        """The sub-stream's feed where it can give pictures, else the main stream's."""
        for feed_id in (sub_stream_id(camera_id), camera_id):
            feed = self._feeds.get(feed_id)
            if feed is not None and feed.refusal is None and not feed.closed:
                return feed
        return None

    async def _make(self, camera_id: str, feed: LiveFeed) -> bool:
        try:
            unit = await feed.next_keyframe(KEYFRAME_WAIT_S)
        except (TimeoutError, LiveViewRefused):
            return False
        taken_at = time.time()
        jpeg = await asyncio.to_thread(still_jpeg, unit.annex_b())
        if jpeg is None:
            log.info("camera %s: its keyframe did not decode into a still picture", camera_id)
            return False
        await asyncio.to_thread(write_still, self._client, camera_id, jpeg, taken_at)
        return True
