"""One request (send, read the whole answer, check it) and the loops that send them.

Every answer is checked: HTTP 200, the request's uid, the decision the corpus
expects. The closed loop keeps a fixed number in flight; the open loop sends each
request when it is due, whatever happened to the earlier ones.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import msgspec

from benchmarks.webhook.load._schedule import OpenLoopSchedule
from benchmarks.webhook.load._shape import LoadShape

_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


_ERROR_SAMPLES = 5


_MAX_FAILURES = 1000


OVERLOAD_ERRORS = frozenset({"not_sent", "timeout"})
"""Error kinds that say the server did not keep up, not that it answered wrongly."""


class _CorpusReview(msgspec.Struct):
    allowed: bool
    body: msgspec.Raw


class _Corpus(msgspec.Struct):
    uid_placeholder: str
    reviews: list[_CorpusReview]


class _AnswerResponse(msgspec.Struct):
    uid: str
    allowed: bool


class _Answer(msgspec.Struct):
    response: _AnswerResponse


_ANSWER = msgspec.json.Decoder(_Answer)


@dataclass
class Item:
    head: bytes
    tail: bytes
    allowed: bool


@dataclass
class State:
    """Everything the requests of one run share and record."""

    items: list[Item]
    uid_prefix: str
    stopping: bool = False
    sent: int = 0
    outstanding: int = 0
    due: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    ended: list[float] = field(default_factory=list)
    reviews_sent: set[int] = field(default_factory=set)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    connections: int = 0

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < _ERROR_SAMPLES:
            self.error_samples.append(f"{kind}: {detail}"[:300])
        failures = self.errors.total() - sum(self.errors[k] for k in OVERLOAD_ERRORS)
        if failures >= _MAX_FAILURES:
            # A server that answers wrongly this often is broken; measuring it says nothing.
            self.stopping = True


def load_items(path: Path) -> list[Item]:
    """The corpus reviews, split around their uid placeholder."""
    corpus = msgspec.json.decode(path.read_bytes(), type=_Corpus)
    placeholder = corpus.uid_placeholder.encode()
    items = []
    for review in corpus.reviews:
        body = bytes(review.body)
        if body.count(placeholder) != 1:
            raise ValueError(f"a corpus review has not exactly one {placeholder!r}")
        head, _, tail = body.partition(placeholder)
        items.append(Item(head=head, tail=tail, allowed=review.allowed))
    if not items:
        raise ValueError(f"{path} holds no reviews")
    return items


async def _exchange(
    state: State, session: aiohttp.ClientSession, url: str, number: int, due: float
) -> None:
    """Send review ``number`` (due at ``due``), read the answer and check it."""
    review = number % len(state.items)
    item = state.items[review]
    uid = f"{state.uid_prefix}{number:012x}"
    body = item.head + uid.encode() + item.tail
    state.reviews_sent.add(review)
    sent_at = time.perf_counter()
    try:
        async with session.post(url, data=body, headers=_HEADERS) as response:
            payload = await response.read()
            status = response.status
    except TimeoutError as error:
        # aiohttp's own timeouts are TimeoutErrors too (and ClientErrors): catch them first.
        state.error("timeout", str(error) or type(error).__name__)
        return
    except (aiohttp.ClientError, OSError) as error:
        state.error(type(error).__name__, str(error))
        return
    state.ended.append(time.perf_counter())
    state.due.append(due)
    state.sent_at.append(sent_at)
    if status != 200:
        state.error(f"http_{status}", payload[:200].decode(errors="replace"))
        return
    try:
        answer = _ANSWER.decode(payload).response
    except msgspec.DecodeError as error:
        state.error("bad_answer", str(error))
        return
    if answer.uid != uid:
        state.error("wrong_uid", f"sent {uid}, got {answer.uid}")
    elif answer.allowed != item.allowed:
        state.error("wrong_decision", f"uid {uid}: allowed={answer.allowed}")


async def closed_loop(
    state: State, session: aiohttp.ClientSession, url: str, shape: LoadShape
) -> None:
    async def worker() -> None:
        while not state.stopping and state.sent < shape.max_requests:
            number = state.sent
            state.sent += 1
            await _exchange(state, session, url, number, time.perf_counter())

    workers = [
        asyncio.create_task(worker(), name=f"load-worker-{index}")
        for index in range(shape.concurrency)
    ]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


async def open_loop(
    state: State,
    session: aiohttp.ClientSession,
    url: str,
    shape: LoadShape,
    schedule: OpenLoopSchedule,
) -> None:
    in_flight: set[asyncio.Task[None]] = set()

    async def one(number: int, due: float) -> None:
        state.outstanding += 1
        try:
            await _exchange(state, session, url, number, due)
        finally:
            state.outstanding -= 1

    index = 0
    try:
        while index < schedule.total and not state.stopping:
            due_now = schedule.due_by(time.perf_counter())
            while index < due_now:
                if state.outstanding >= shape.max_outstanding:
                    state.error("not_sent", f"{state.outstanding} requests still unanswered")
                else:
                    state.sent += 1
                    task = asyncio.create_task(one(index, schedule.due_at(index)))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                index += 1
            if index < schedule.total:
                await asyncio.sleep(max(0.0, schedule.due_at(index) - time.perf_counter()))
        if in_flight:
            await asyncio.wait(in_flight)
    finally:
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)
