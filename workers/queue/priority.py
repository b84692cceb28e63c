"""Viewer score to broker priority: the one place the mapping lives.

score = min(viewers x tier, 1000); a higher score must run first on every broker. Kombu's
Redis transport emulates priorities with one list per step and serves step 0 first, while
RabbitMQ serves the highest `x-max-priority` value first: the two count in opposite
directions, so the direction is decided here and nowhere else.
"""

MAX_SCORE = 1000
PRIORITY_LEVELS = 10  # kombu's Redis priority_steps 0..9 and RabbitMQ x-max-priority 9

_REDIS_TRANSPORTS = frozenset({"redis", "rediss", "redis+socket", "sentinel"})
_AMQP_TRANSPORTS = frozenset({"amqp", "pyamqp", "amqps", "librabbitmq"})


def build_score(viewers: int, tier: int) -> int:
    return max(0, min(viewers * tier, MAX_SCORE))


def urgency(score: int) -> int:
    """0 (least) to 9 (most urgent); every score above 0 is at least 1."""
    clamped = max(0, min(score, MAX_SCORE))
    level = (clamped * (PRIORITY_LEVELS - 1) + MAX_SCORE - 1) // MAX_SCORE
    return level


def broker_priority(score: int, transport: str) -> int:
    level = urgency(score)
    if transport in _REDIS_TRANSPORTS:
        return PRIORITY_LEVELS - 1 - level
    if transport in _AMQP_TRANSPORTS:
        return level
    raise ValueError(f"no priority mapping for the broker transport {transport!r}")
