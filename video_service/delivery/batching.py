"""Group commit for calls made from the event loop: the calls that arrive while a batch is in
flight wait together and go in the next one, a single round trip (a Redis pipeline) for all
of them. A call's answer still comes after its own work is done; under load the cost of a
round trip is shared, and at rest a batch holds one call."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
RunBatch = Callable[[Sequence[Item]], Awaitable[Sequence[Result]]]


class GroupedCalls(Generic[Item, Result]):
    def __init__(self, run_batch: "RunBatch[Item, Result]") -> None:
        self._run_batch = run_batch
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._running = False

    async def call(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if not self._running:
            self._running = True
            asyncio.get_running_loop().create_task(self._run_all())
        return await future

    async def _run_all(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    results = await self._run_batch([item for item, _ in batch])
                except Exception as error:  # every call of the batch gets it, to handle
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._running = False
