"""A fixed-window rate limit per client address, in the shared cache (CACHE_URL)."""

import time

from django.core.cache import cache


def over_limit(*, scope: str, key: str | None, limit: int, window_seconds: int = 60) -> bool:
    """Count one request for `key` in `scope`; True once it exceeds `limit` in this window."""
    if key is None:
        return False
    bucket = int(time.time() // window_seconds)
    name = f"ratelimit:{scope}:{key}:{bucket}"
    cache.add(name, 0, timeout=window_seconds * 2)
    try:
        return cache.incr(name) > limit
    except ValueError:  # expired between add and incr: this request opens a new count
        cache.set(name, 1, timeout=window_seconds * 2)
        return False
