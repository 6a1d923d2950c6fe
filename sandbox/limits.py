"""Flood limits: a per-private-chat token bucket and sliding windows for groups and overall."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace


@dataclass
class Limits:
    """Every limit the sandbox enforces; all numbers are configurable."""

    rate_limits: bool = True
    private_burst: int = 3
    private_per_second: float = 1.0
    group_per_minute: int = 20
    group_edits_per_minute: int = 20
    group_window: float = 60.0  # seconds; shrink it in tests
    global_per_second: int = 30
    global_window: float = 1.0
    callback_answer_timeout: float = 15.0
    max_text: int = 4096
    max_caption: int = 1024
    max_answer_text: int = 200

    @classmethod
    def off(cls, **overrides: object) -> Limits:
        """Limits with every rate limit disabled (content limits stay)."""
        return replace(cls(), rate_limits=False, **overrides)  # type: ignore[arg-type]


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimiter:
    """Decides whether a message-producing call may go now, or how long to wait."""

    limits: Limits
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[int, _Bucket] = field(default_factory=dict)
    _group_sends: dict[int, deque[float]] = field(default_factory=dict)
    _group_edits: dict[int, deque[float]] = field(default_factory=dict)
    _global: deque[float] = field(default_factory=deque)

    def private_room(self, chat_id: int) -> float:
        """How many messages a private chat could take at once now (its bucket, refilled)."""
        lim = self.limits
        bucket = self._buckets.get(chat_id)
        if bucket is None:
            return float(lim.private_burst)
        return min(lim.private_burst,
                   bucket.tokens + (self.clock() - bucket.stamp) * lim.private_per_second)

    def acquire(self, chat_id: int, chat_type: str, edit: bool = False) -> int:
        """Consume capacity and return 0, or return retry_after seconds (≥1) consuming nothing."""
        lim = self.limits
        if not lim.rate_limits:
            return 0
        now = self.clock()
        waits = [_window_wait(self._global, lim.global_per_second, lim.global_window, now)]
        bucket: _Bucket | None = None
        window: deque[float] | None = None
        if chat_type == "private":
            if not edit:
                bucket = self._buckets.setdefault(chat_id, _Bucket(lim.private_burst, now))
                bucket.tokens = min(lim.private_burst, bucket.tokens
                                    + (now - bucket.stamp) * lim.private_per_second)
                bucket.stamp = now
                if bucket.tokens < 1:
                    waits.append((1 - bucket.tokens) / lim.private_per_second)
        else:
            store = self._group_edits if edit else self._group_sends
            window = store.setdefault(chat_id, deque())
            cap = lim.group_edits_per_minute if edit else lim.group_per_minute
            waits.append(_window_wait(window, cap, lim.group_window, now))
        wait = max(waits)
        if wait > 0:
            return max(1, math.ceil(wait))
        self._global.append(now)
        if bucket is not None:
            bucket.tokens -= 1
        if window is not None:
            window.append(now)
        return 0


def _window_wait(window: deque[float], cap: int, span: float, now: float) -> float:
    """Seconds until one more event fits in a sliding window of `span` seconds."""
    while window and window[0] <= now - span:
        window.popleft()
    if len(window) < cap:
        return 0.0
    return window[len(window) - cap] + span - now
