"""Notices between processes, over Redis pub/sub, for what must take effect at once on every
node: a camera taken by an edge (`redis_keys.CAMERA_TAKEN`, published by the camera ownership
lease's take: the edge that had it cuts its publisher off), and a camera changed in the control
plane (`redis_keys.CAMERA_CHANGED`: disabled, deleted or given another source; each edge that
records it checks it again now, rather than at its next look in the database). A notice missed
while Redis was away is made up for by those periodic looks."""

import logging
import threading
from collections.abc import Callable, Iterable, Mapping

import redis

from workers.base import redis_keys

log = logging.getLogger(__name__)


def announce_changed(client: redis.Redis, camera_ids: Iterable[str]) -> None:
    for camera_id in camera_ids:
        client.publish(redis_keys.CAMERA_CHANGED, camera_id)


def hear(
    client: redis.Redis, handlers: Mapping[str, Callable[[str], object]], stop: threading.Event
) -> None:
    """Call each channel's handler with each message on it, until `stop` is set; Redis away:
    listened to again once it is back. Blocks (run it in a thread)."""
    while not stop.is_set():
        try:
            # redis-py types pubsub() from 8.x on; earlier releases need the ignore.
            with client.pubsub(  # type: ignore[no-untyped-call,unused-ignore]
                ignore_subscribe_messages=True
            ) as pubsub:
                pubsub.subscribe(*handlers)
                while not stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is None or not isinstance(message.get("data"), bytes):
                        continue
                    channel = message["channel"]
                    name = channel.decode() if isinstance(channel, bytes) else str(channel)
                    if name in handlers:
                        handlers[name](message["data"].decode(errors="replace"))
        except redis.RedisError as error:
            log.warning("not hearing notices (%s); again in 1 s", error)
            stop.wait(1.0)


class Listener:
    """`hear` in a daemon thread of its own, from `start` until `close`."""

    def __init__(
        self, client: redis.Redis, handlers: Mapping[str, Callable[[str], object]]
    ) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=hear, args=(client, handlers, self._stop), name="sparc-notices", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop hearing, and wait for the thread (it looks every half second)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
