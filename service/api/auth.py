"""API-key authentication, scopes and a per-key rate limit (token bucket, per process)."""

from __future__ import annotations

import threading
import time

from service.errors import AuthError, ForbiddenError, RateLimited, StoreError
from service.store.repo import SCOPES, Principal, Store, hash_key

ANONYMOUS = Principal("default", frozenset(SCOPES), None)
_CACHE_SECONDS = 30.0


class Authenticator:
    def __init__(self, store: Store | None, required: bool | None, rate_per_minute: int) -> None:
        self.store = store
        self.required_setting = required
        self.rate = rate_per_minute
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._required_cache: tuple[float, bool] = (0.0, False)

    def required(self) -> bool:
        if self.required_setting is not None:
            return self.required_setting
        when, value = self._required_cache
        if time.monotonic() - when < _CACHE_SECONDS:
            return value
        try:
            value = self.store is not None and self.store.active_key_count() > 0
        except StoreError:
            value = True  # cannot tell: fail closed
        self._required_cache = (time.monotonic(), value)
        return value

    def authenticate(self, authorization: str | None, scope: str) -> Principal:
        if not self.required():
            principal = ANONYMOUS
        else:
            if not authorization or not authorization.lower().startswith("bearer "):
                raise AuthError("missing API key: send 'Authorization: Bearer <key>'")
            principal = self._lookup(authorization[7:].strip())
            if principal is None:
                raise AuthError("unknown or revoked API key")
        if scope not in principal.scopes:
            raise ForbiddenError(f"this API key lacks the '{scope}' scope")
        self._take_token(principal.key_id or "anonymous")
        return principal

    def _lookup(self, key: str) -> Principal | None:
        h = hash_key(key)
        hit = self._cache.get(h)
        now = time.monotonic()
        if hit and now - hit[0] < _CACHE_SECONDS:
            return hit[1]
        if self.store is None:
            return None
        principal = self.store.verify_key(key)
        self._cache[h] = (now, principal)
        return principal

    def _take_token(self, bucket: str) -> None:
        if self.rate <= 0:  # 0 turns the limit off
            return
        now = time.monotonic()
        per_second = self.rate / 60.0
        with self._lock:
            tokens, last = self._buckets.get(bucket, (float(self.rate), now))
            tokens = min(float(self.rate), tokens + (now - last) * per_second)
            if tokens < 1.0:
                self._buckets[bucket] = (tokens, now)
                raise RateLimited(f"rate limit of {self.rate} requests per minute exceeded", retry_after=max(1, int((1 - tokens) / per_second) + 1))
            self._buckets[bucket] = (tokens - 1.0, now)
