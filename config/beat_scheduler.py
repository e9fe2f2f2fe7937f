"""Celery beat that never schedules twice: any number of beat processes may run (a
container restarted while the old one still stops, a second one kept warm), and only the
one holding a Redis lock sends periodic tasks. The others keep ticking without sending
and take over when the holder goes away.

The lock is redis-py's `Lock`: a key set only when absent, holding a random token, which
only its holder can renew or delete. It lives CELERY_BEAT_LOCK_SECONDS, and the holder
renews it on every tick, at least three times per lifetime. A holder that dies (crash,
SIGKILL, a machine that froze) stops renewing: the key expires, and the first waiting
beat to tick takes it, so the schedule resumes within the lock's lifetime plus one tick.
A holder that stops cleanly deletes the key, and the next beat takes over at its next
tick. A holder that finds the key gone or someone else's (it stalled past the lifetime)
steps down before sending anything more; while Redis does not answer, nobody sends.

Taking over, a beat reads the schedule from the database again: the previous holder
wrote each entry's last run there after each pause that followed a send
(`sync_every_tasks=1`), so what it sent is not sent again (what it sent in the moments
before dying may be: tasks are idempotent, ARCHITECTURE.md).

`celery beat --enable-remote-control` answers `celery inspect ping` only while it ticks
(Celery 5.7): a waiting beat ticks too, so it is as healthy as the holder.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import redis
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler
from redis.exceptions import LockNotOwnedError, RedisError

logger = logging.getLogger(__name__)

RENEWALS_PER_LIFETIME = 3
REDIS_TIMEOUT_SECONDS = 2.0


def beat_lock_key() -> str:
    """CELERY_BEAT_LOCK_KEY, or a key under the cache's prefix, so that each settings
    module (development, tests, the benchmark) has a lock of its own."""
    configured = str(getattr(settings, "CELERY_BEAT_LOCK_KEY", "") or "")
    return configured or f"{settings.CACHES['default'].get('KEY_PREFIX', 'tn')}:celery-beat-lock"


class SingleBeatScheduler(DatabaseScheduler):
    """django-celery-beat's DatabaseScheduler, sending only while it holds the lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Write the entries' last runs after every pause that followed a send, not every
        # three minutes: a successor reads them (see the module's docstring).
        kwargs.setdefault("sync_every_tasks", 1)
        self.lock_key = beat_lock_key()
        self.lock_seconds = float(settings.CELERY_BEAT_LOCK_SECONDS)
        client = redis.Redis.from_url(
            settings.CELERY_BEAT_LOCK_URL,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
        # Not thread-local: the token belongs to this process, whichever thread closes it.
        self._lock = client.lock(self.lock_key, timeout=self.lock_seconds, thread_local=False)
        self.holding = False
        self._redis_failing = False
        super().__init__(*args, **kwargs)

    def setup_schedule(self) -> None:
        self._retired_entries_delete()
        super().setup_schedule()

    def _retired_entries_delete(self) -> None:
        """django-celery-beat adds and updates the database's entries from
        CELERY_BEAT_SCHEDULE but never removes one, so an entry a release retired would go
        on being sent. The names in CELERY_BEAT_RETIRED are deleted before the schedule is
        read (entries support made by hand in the platform admin are left alone)."""
        from django_celery_beat.models import PeriodicTask

        retired = set(settings.CELERY_BEAT_RETIRED) - set(self.app.conf.beat_schedule)
        deleted, _ = PeriodicTask.objects.filter(name__in=retired).delete()
        if deleted:
            logger.info("beat.entries_retired", extra={"entries": sorted(retired)})

    def tick(self, *args: Any, **kwargs: Any) -> float:
        renew_within = self.lock_seconds / RENEWALS_PER_LIFETIME
        if not self._hold():
            return float(min(self.max_interval, renew_within))
        return float(min(super().tick(*args, **kwargs), renew_within))

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()

    def _hold(self) -> bool:
        """Whether this beat holds the lock now (renewed), taking it when it is free."""
        try:
            if self.holding:
                self._lock.reacquire()
            elif self._lock.acquire(blocking=False):
                self._take_over()
            else:
                return False
        except LockNotOwnedError:
            self.holding = False
            logger.warning("beat.lock.lost", extra=self._identity())
            return False
        except RedisError as exc:
            # Keep `holding`: if the key is still ours when Redis answers again, this
            # beat goes on; if it expired meanwhile, the renewal says so and it steps down.
            if not self._redis_failing:
                logger.warning(
                    "beat.lock.unreachable", extra={**self._identity(), "error": str(exc)}
                )
            self._redis_failing = True
            return False
        self._redis_failing = False
        return True

    def _take_over(self) -> None:
        self.holding = True
        # Read every entry (and its last run) from the database again at the next tick.
        self._initial_read = True
        self._heap = None
        logger.info("beat.lock.acquired", extra=self._identity())

    def _release(self) -> None:
        if not self.holding:
            return
        self.holding = False
        try:
            self._lock.release()
        except LockNotOwnedError:
            return  # expired, or taken over already: nothing of ours to delete
        except RedisError as exc:
            logger.warning(
                "beat.lock.release_failed", extra={**self._identity(), "error": str(exc)}
            )
            return
        logger.info("beat.lock.released", extra=self._identity())

    def _identity(self) -> dict[str, object]:
        return {"lock_key": self.lock_key, "pid": os.getpid()}
