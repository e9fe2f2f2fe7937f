"""One beat sends, however many run (config/beat_scheduler.py): the lock in the local
Redis, first as the scheduler's own calls, then with two real beat processes, one of
which dies or stops while the other waits."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from config.beat_scheduler import SingleBeatScheduler, beat_lock_key
from config.celery import app
from tests.workers import CeleryProcess, unique_queue, wait_for

SENT = "Sending due task"


@pytest.fixture
def lock_key() -> Iterator[str]:
    key = f"test-beat-lock-{uuid.uuid4().hex[:10]}"
    yield key
    redis.Redis.from_url(settings.REDIS_URL).delete(key)


@pytest.fixture
def lock_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _scheduler(key: str, **overrides: object) -> SingleBeatScheduler:
    # lazy: the schedule is not read from the database until a tick needs it.
    with override_settings(CELERY_BEAT_LOCK_KEY=key, CELERY_BEAT_LOCK_SECONDS=30, **overrides):
        scheduler = SingleBeatScheduler(app=app, lazy=True)
    # Nothing to write back (none of these sends): without this, the scheduler would
    # sync with the database whenever it is collected, in the middle of another test.
    scheduler._finalize.cancel()
    return scheduler


def test_the_lock_key_is_under_the_cache_prefix_unless_named():
    with override_settings(CELERY_BEAT_LOCK_KEY=""):
        assert beat_lock_key() == f"{settings.CACHES['default']['KEY_PREFIX']}:celery-beat-lock"
    with override_settings(CELERY_BEAT_LOCK_KEY="elsewhere"):
        assert beat_lock_key() == "elsewhere"


def test_one_beat_holds_the_lock_and_the_other_waits_without_scheduling(lock_key, lock_redis):
    first, second = _scheduler(lock_key), _scheduler(lock_key)

    assert first._hold() is True
    assert second._hold() is False
    assert second.tick() == min(second.max_interval, 10.0)
    assert second._heap is None  # the schedule was never looked at
    assert 0 < lock_redis.ttl(lock_key) <= 30


def test_the_holder_renews_its_lock_on_every_tick(lock_key, lock_redis):
    holder = _scheduler(lock_key)
    assert holder._hold()
    lock_redis.pexpire(lock_key, 500)

    assert holder._hold() is True

    assert lock_redis.pttl(lock_key) > 10_000


def test_a_holder_whose_lock_was_taken_steps_down(lock_key, lock_redis):
    holder, other = _scheduler(lock_key), _scheduler(lock_key)
    assert holder._hold()
    lock_redis.set(lock_key, b"someone-else", px=30_000)  # it stalled; another took over

    assert holder._hold() is False

    assert holder.holding is False
    assert other._hold() is False
    assert lock_redis.get(lock_key) == b"someone-else"


def test_a_holder_that_closes_hands_the_lock_over_at_once(monkeypatch, lock_key):
    holder, waiting = _scheduler(lock_key), _scheduler(lock_key)
    assert holder._hold() and not waiting._hold()
    monkeypatch.setattr(holder, "sync", lambda: None)  # it sent nothing to write back

    holder.close()

    assert waiting._hold() is True
    assert waiting.holding and not holder.holding


def test_without_redis_no_beat_schedules_and_none_fails(lock_key):
    unreachable = _scheduler(lock_key, CELERY_BEAT_LOCK_URL="redis://127.0.0.1:9/0")

    assert unreachable._hold() is False
    assert unreachable.tick() == min(unreachable.max_interval, 10.0)
    assert unreachable._heap is None


@pytest.mark.worker
def test_a_second_beat_waits_and_takes_over_when_the_first_dies_or_stops(
    django_db_setup, tmp_path: Path, lock_key, lock_redis
):
    # given beats that tick every second, with a 3 s lock and a task due every second
    queue = unique_queue("beat-lock")
    env = {
        "CELERY_BEAT_LOCK_KEY": lock_key,
        "CELERY_BEAT_LOCK_SECONDS": "3",
        "NOTIFICATION_DISPATCH_INTERVAL_SECONDS": "1",
        "LOG_FORMAT": "console",
    }

    def beat(name: str) -> CeleryProcess:
        args = ["beat", "--loglevel", "INFO", "--max-interval", "1"]
        return CeleryProcess(args, queue=queue, log_path=tmp_path / f"{name}.log", env=env)

    first, second, third = beat("first"), beat("second"), beat("third")
    try:
        first.start()
        assert wait_for(lambda: SENT in first.log(), timeout=60), first.log()[-3000:]
        assert "beat.lock.acquired" in first.log()

        # when a second beat starts while the first holds the lock
        second.start()
        assert wait_for(lambda: "beat: Starting" in second.log(), timeout=60), second.log()
        sent_before = first.log().count(SENT)
        # then it waits: the first goes on sending (three more), the second sends nothing
        assert wait_for(lambda: first.log().count(SENT) >= sent_before + 3, timeout=30)
        assert SENT not in second.log() and "beat.lock.acquired" not in second.log()

        # when the first dies (no chance to release the lock), the second takes over
        first.kill()
        assert wait_for(lambda: SENT in second.log(), timeout=30), second.log()[-3000:]
        assert "beat.lock.acquired" in second.log()

        # when the holder stops cleanly, it releases the lock and the waiting beat takes it
        third.start()
        assert wait_for(lambda: "beat: Starting" in third.log(), timeout=60), third.log()
        second.stop()
        assert "beat.lock.released" in second.log(), second.log()[-3000:]
        assert wait_for(lambda: SENT in third.log(), timeout=30), third.log()[-3000:]
        assert lock_redis.exists(lock_key)
    finally:
        for process in (first, second, third):
            process.stop()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


@pytest.mark.django_db
def test_entries_a_release_retired_are_deleted_and_the_rest_kept(lock_key, monkeypatch):
    from django_celery_beat.models import CrontabSchedule, PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    every_15 = CrontabSchedule.objects.create(minute="*/15")
    for name in ("tenants-heartbeat", "support-made-by-hand"):
        PeriodicTask.objects.create(
            name=name, task="accounts.run_in_every_tenant", crontab=every_15
        )
    assert "tenants-heartbeat" in settings.CELERY_BEAT_RETIRED

    scheduler = _scheduler(lock_key)
    # before django-celery-beat reads the database's schedule (and adds the settings')
    steps: list[str] = []
    monkeypatch.setattr(
        scheduler, "_retired_entries_delete", lambda: steps.append("retired deleted")
    )
    monkeypatch.setattr(DatabaseScheduler, "setup_schedule", lambda self: steps.append("read"))
    scheduler.setup_schedule()
    assert steps == ["retired deleted", "read"]
    monkeypatch.undo()

    scheduler._retired_entries_delete()

    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert "tenants-heartbeat" not in names
    assert "support-made-by-hand" in names
    assert not set(settings.CELERY_BEAT_RETIRED) & set(settings.CELERY_BEAT_SCHEDULE)
