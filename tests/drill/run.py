"""`make drill`: the scale-out layout on this machine, loaded through its load balancer
while one web instance and one Celery worker are killed (SIGKILL).

    client ─▶ HAProxy ─┬▶ gunicorn web1 ─┐                  ┌─ Celery worker1
                       └▶ gunicorn web2 ─┴▶ PgBouncer ─▶ PG ◀┼─ Celery worker2
                                       Redis (cache, broker) ┴─ Celery beat

What it checks, after about a minute of hold attempts (same and different slots) and
slot reads: which requests failed and when (only those in flight at the killed instance
may); no two active bookings on one place (in the database); every reminder that fell
due during the run sent exactly once (its status, and the .eml files counted by
Message-ID), the killed worker's tasks included. Prints a table and writes the figures
as JSON under .local/drill/.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import datetime as dt
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import psycopg
import redis
from django.conf import settings
from django.utils import timezone

from apps.accounts.backups.postgres_clients import client_program
from apps.accounts.subdomains import schema_name_for
from tests.bench import seed as bench_seed
from tests.bench.driver import Request, Result, open_loop, percentile
from tests.bench.server import ROOT, free_port
from tests.drill import configs, seed
from tests.drill.processes import Process, celery_beat, celery_worker, gunicorn, http_ok

OUT_DIR = ROOT / ".local" / "drill"
WEB_WORKERS = 2
CELERY_CONCURRENCY = 2
POOL_SIZE = 12
# When the kills happen, in seconds from the start of the load; reminders fall due at
# REMINDERS_DUE_AT and the worker is killed as soon as they are being sent.
WEB_KILL_AT = 20.0
REMINDERS_DUE_AT = 28.0
WORKER_KILL_LATEST = 50.0
# Requests that fail within this window around the web kill count as its in-flight ones.
KILL_WINDOW = (-1.0, 5.0)
HOT_SLOTS = 5
SETTLE_TIMEOUT_S = 240.0
# The drill shortens how long the outbox waits before it presumes a send lost (production:
# 120 s lease, 300 s redispatch) so that recovery shows within the drill.
SENDING_LEASE_S = 20
REDISPATCH_S = 30


def say(text: str) -> None:
    print(text, flush=True)  # noqa: T201


@dataclass
class Timeline:
    load_started: float = 0.0
    web_killed: float | None = None
    worker_killed: float | None = None
    notes: list[str] = field(default_factory=list)

    def at(self, moment: float | None) -> float | None:
        return None if moment is None else round(moment - self.load_started, 2)


# --- Places -----------------------------------------------------------------------------


def _for_postgres(path: Path) -> None:
    """PgBouncer refuses to run as root: as root it runs as `postgres`, which must own
    its folder (config, log, pid)."""
    if os.getuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(path, user.pw_uid, user.pw_gid)
        for child in path.iterdir():
            os.chown(child, user.pw_uid, user.pw_gid)


def _redis() -> redis.Redis[bytes]:
    return redis.Redis.from_url(settings.REDIS_URL)


def _redis_reset() -> None:
    """The drill's Redis database (cache, broker, beat lock) starts and ends empty: a
    killed worker's unacknowledged tasks would otherwise be redelivered into the next run
    (after the visibility timeout)."""
    _redis().flushdb()


# --- Processes ------------------------------------------------------------------------------


@dataclass
class Layout:
    directory: Path
    logs: Path
    mail: Path
    haproxy_port: int
    pgbouncer_port: int
    web_ports: list[int]
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def stats_socket(self) -> Path:
        return self.directory / "haproxy.sock"

    def child_env(self) -> dict[str, str]:
        return os.environ | {
            "DJANGO_SETTINGS_MODULE": "config.settings.drill",
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "INFO",
            "POSTGRES_HOST": "127.0.0.1",
            "POSTGRES_PORT": str(self.pgbouncer_port),
            # Each request or task gives its server connection back to PgBouncer's pool.
            "POSTGRES_CONN_MAX_AGE": "0",
            "DRILL_MAIL_DIR": str(self.mail),
            "NOTIFICATION_SENDING_LEASE_SECONDS": str(SENDING_LEASE_S),
            "NOTIFICATION_REDISPATCH_SECONDS": str(REDISPATCH_S),
        }

    def write_configs(self) -> tuple[Path, Path]:
        bouncer = self.directory / "pgbouncer"
        bouncer.mkdir(mode=0o700)
        db = settings.DATABASES["default"]
        bouncer_ini = bouncer / "pgbouncer.ini"
        bouncer_ini.write_text(
            configs.pgbouncer_config(
                listen_port=self.pgbouncer_port,
                database=str(db["NAME"]),
                postgres_host=str(db["HOST"]),
                postgres_port=int(str(db["PORT"] or 5432)),
                user=str(db["USER"]),
                auth_file=bouncer / "userlist.txt",
                log_file=bouncer / "pgbouncer.log",
                pid_file=bouncer / "pgbouncer.pid",
                pool_size=POOL_SIZE,
                auth_type="trust",
            )
        )
        (bouncer / "userlist.txt").write_text(configs.pgbouncer_userlist(str(db["USER"])))
        _for_postgres(bouncer)
        haproxy_cfg = self.directory / "haproxy.cfg"
        haproxy_cfg.write_text(
            configs.haproxy_config(
                listen_port=self.haproxy_port,
                backends=[
                    configs.Backend(f"web{n + 1}", port) for n, port in enumerate(self.web_ports)
                ],
                stats_socket=self.stats_socket,
                pid_file=self.directory / "haproxy.pid",
            )
        )
        return bouncer_ini, haproxy_cfg

    def start(self) -> None:
        bouncer_ini, haproxy_cfg = self.write_configs()
        env = self.child_env()
        bouncer_command = ["pgbouncer", str(bouncer_ini)]
        if os.getuid() == 0:
            bouncer_command = ["pgbouncer", "-u", "postgres", str(bouncer_ini)]
        # SIGINT: PgBouncer's safe shutdown (waits for its clients' transactions).
        self._start(
            Process(
                "pgbouncer",
                bouncer_command,
                env=env,
                log=self.logs / "pgbouncer.out",
                stop_signal=signal.SIGINT,
            )
        )
        self.processes["pgbouncer"].wait_until(self._bouncer_answers, timeout_s=20)
        for n, port in enumerate(self.web_ports):
            name = f"web{n + 1}"
            self._start(
                gunicorn(
                    name, port=port, workers=WEB_WORKERS, env=env, log=self.logs / f"{name}.log"
                )
            )
        for n, port in enumerate(self.web_ports):
            self.processes[f"web{n + 1}"].wait_until(
                lambda port=port: http_ok(f"http://127.0.0.1:{port}/healthz")  # type: ignore[misc]
            )
        self._start(
            Process(
                "haproxy",
                ["haproxy", "-db", "-f", str(haproxy_cfg)],
                env=env,
                log=self.logs / "haproxy.log",
                # SIGUSR1: soft stop (stops listening, lets the requests in flight end).
                stop_signal=signal.SIGUSR1,
            )
        )
        self.processes["haproxy"].wait_until(
            lambda: all(row["status"] == "UP" for row in self.servers()), timeout_s=30
        )
        for name in ("worker1", "worker2"):
            self._start(
                celery_worker(
                    name, concurrency=CELERY_CONCURRENCY, env=env, log=self.logs / f"{name}.log"
                )
            )
        for name in ("worker1", "worker2"):
            log = self.logs / f"{name}.log"
            self.processes[name].wait_until(
                lambda log=log: log.exists() and " ready." in log.read_text(errors="replace")  # type: ignore[misc]
            )
        self._start(celery_beat(env=env, log=self.logs / "beat.log"))

    def _start(self, process: Process) -> None:
        self.processes[process.name] = process.start()

    def _bouncer_answers(self) -> bool:
        db = settings.DATABASES["default"]
        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=self.pgbouncer_port,
                dbname=str(db["NAME"]),
                user=str(db["USER"]),
                connect_timeout=2,
            ) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def stop(self) -> dict[str, Any]:
        """Clean stops in dependency order: nothing new arrives, then what served it."""
        codes: dict[str, Any] = {}
        for name in ("beat", "worker1", "worker2", "haproxy", "web1", "web2", "pgbouncer"):
            process = self.processes.get(name)
            if process is None:
                continue
            if process.killed_at is not None:
                codes[name] = "killed by the drill"
                continue
            code = process.stop()
            codes[name] = "did not stop within 30 s" if code is None else code
        return codes

    # --- What the load balancer and the pooler say -------------------------------------

    def haproxy_command(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(self.stats_socket))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self) -> list[dict[str, str]]:
        try:
            text = self.haproxy_command("show stat")
        except OSError:
            return [{"status": "unknown"}]
        lines = [line for line in text.splitlines() if line]
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:]]
        return [row for row in rows if row["pxname"] == "django" and row["svname"] != "BACKEND"]

    def haproxy_figures(self) -> dict[str, Any]:
        keep = ["status", "stot", "hrsp_2xx", "hrsp_4xx", "hrsp_5xx", "wretr", "wredis"]
        keep += ["eresp", "econ", "qmax", "chkfail", "downtime"]
        return {row["svname"]: {key: row.get(key, "") for key in keep} for row in self.servers()}

    def pgbouncer_show(self, what: str) -> list[dict[str, str]]:
        db = settings.DATABASES["default"]
        command = [client_program("psql"), "-h", "127.0.0.1", "-p", str(self.pgbouncer_port)]
        command += ["-U", str(db["USER"]), "-d", "pgbouncer", "--csv", "-c", f"SHOW {what}"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        lines = done.stdout.splitlines()
        if done.returncode or not lines:
            return []
        header = lines[0].split(",")
        return [dict(zip(header, line.split(","), strict=False)) for line in lines[1:]]


# --- Load -----------------------------------------------------------------------------------


class Load:
    """The requests of the run, in order: two slot reads to one hold attempt; half the
    holds aim at HOT_SLOTS slots (contention), half at slots nobody else asks for."""

    def __init__(self, drill: seed.DrillSeed, count: int) -> None:
        self.drill = drill
        self.auth = f"Bearer {drill.api_key}"
        rng = random.Random(14)
        tomorrow = timezone.now() + dt.timedelta(days=1)
        with psycopg.connect(**bench_seed.admin_conninfo(bench_seed.bench_database())) as conn:
            rows = conn.execute(
                f'SELECT id, resource_id, starts_at FROM "{schema_name_for(seed.SLUG)}".'  # noqa: S608
                "calendars_slotinstance WHERE starts_at > %s AND booked = 0 AND held = 0 "
                "ORDER BY starts_at LIMIT 5000",
                [tomorrow],
            ).fetchall()
        slots = [(str(slot), str(resource), starts) for slot, resource, starts in rows]
        rng.shuffle(slots)
        self.hot = [slot for slot, _, _ in slots[:HOT_SLOTS]]
        self.cold = [slot for slot, _, _ in slots[HOT_SLOTS:]]
        days = sorted({starts.date() for _, _, starts in slots})
        self.reads = [
            f"/api/v1/slots?service={drill.service_id}&resource={resource}&date={day.isoformat()}"
            for resource in drill.resource_ids
            for day in days
        ]
        rng.shuffle(self.reads)
        self.kinds: list[str] = []
        self.targets: list[str] = []
        self.requests: list[Request] = []
        cold = iter(self.cold)
        for index in range(count):
            if index % 3 == 2:
                hot = index % 2 == 0
                slot = rng.choice(self.hot) if hot else next(cold)
                self.kinds.append("hold (same slot)" if hot else "hold (own slot)")
                self.targets.append(slot)
                self.requests.append(self._hold(slot, index))
            else:
                self.kinds.append("read slots")
                self.targets.append("")
                self.requests.append(
                    Request(
                        "GET", self.reads[index % len(self.reads)], {"Authorization": self.auth}
                    )
                )

    def _hold(self, slot: str, index: int) -> Request:
        body = {
            "service": self.drill.service_id,
            "slot": slot,
            "customer": {"name": "Drill Customer", "email": f"drill-{index}@drill.test"},
            "notes": "",
        }
        return Request(
            "POST",
            "/api/v1/bookings",
            {
                "Authorization": self.auth,
                "Content-Type": "application/json",
                "Idempotency-Key": str(uuid.uuid4()),
            },
            json.dumps(body).encode(),
        )

    def __iter__(self) -> Iterator[Request]:
        return iter(self.requests)


def _error_code(result: Result) -> str:
    body = result.json()
    if isinstance(body, dict):
        return str(body.get("error", {}).get("code", ""))
    return ""


def classify(result: Result, kind: str) -> str:
    if result.status == 0:
        return f"no answer ({result.error})"
    if result.status >= 500:
        return f"{result.status}"
    if kind.startswith("hold"):
        if result.status == 201:
            return "201 held"
        if result.status == 409 and _error_code(result) in ("SLOT_FULL", "SLOT_UNAVAILABLE"):
            return f"409 {_error_code(result)}"
        return f"{result.status} {_error_code(result)}".strip()
    return f"{result.status}"


EXPECTED = {"201 held", "409 SLOT_FULL", "409 SLOT_UNAVAILABLE", "200"}


# --- Reminders and the worker kill -------------------------------------------------------------


class ReminderWatch:
    """Kills worker2 as soon as the reminders due at `due_at` are being dispatched (or at
    WORKER_KILL_LATEST), recording what the broker held for it."""

    def __init__(self, layout: Layout, timeline: Timeline, due_at: dt.datetime) -> None:
        self.layout = layout
        self.timeline = timeline
        self.due_at = due_at
        self.found: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _dispatched(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute(
            f'SELECT count(*) FROM "{schema_name_for(seed.SLUG)}".notifications_notification '  # noqa: S608
            "WHERE kind = 'reminder' AND scheduled_for = %s AND dispatched_at IS NOT NULL",
            [self.due_at],
        ).fetchone()
        return int(row[0]) if row else 0

    def _run(self) -> None:
        deadline = self.timeline.load_started + WORKER_KILL_LATEST
        with psycopg.connect(**bench_seed.admin_conninfo(bench_seed.bench_database())) as conn:
            while time.perf_counter() < deadline and not self._dispatched(conn):
                time.sleep(0.05)
            dispatched = self._dispatched(conn)
        time.sleep(0.3)  # the workers have taken their first tasks
        broker = _redis()
        queue = str(settings.CELERY_TASK_DEFAULT_QUEUE)
        before = {"queued": broker.llen(queue), "unacked": broker.hlen("unacked")}
        self.layout.processes["worker2"].kill()
        self.timeline.worker_killed = self.layout.processes["worker2"].killed_at
        # What worker1 still holds drains within moments; what stays unacknowledged after
        # that is the killed worker's (prefetched or running).
        time.sleep(3)
        orphaned = [_task_of(raw) for raw in broker.hvals("unacked")]
        self.found = {
            "reminders_dispatched_when_killed": dispatched,
            "broker_before_kill": before,
            "left_unacknowledged_by_killed_worker": orphaned,
        }

    def start(self) -> None:
        self.thread.start()

    def join(self) -> None:
        self.thread.join()


def _task_of(raw: bytes) -> dict[str, Any]:
    message = json.loads(raw)[0]
    headers = message.get("headers", {})
    body = json.loads(base64.b64decode(message["body"])) if message.get("body") else [[]]
    args = body[0] if body else []
    return {"task": headers.get("task"), "args": args, "schema": headers.get("_schema_name")}


def reminders_settle(due_at: dt.datetime, *, timeout_s: float) -> float:
    """Waits until no reminder due at `due_at`, nor any confirmation, is pending or being
    sent; returns the seconds waited."""
    started = time.perf_counter()
    table = f'"{schema_name_for(seed.SLUG)}".notifications_notification'
    with psycopg.connect(**bench_seed.admin_conninfo(bench_seed.bench_database())) as conn:
        while time.perf_counter() - started < timeout_s:
            row = conn.execute(
                f"SELECT count(*) FROM {table} WHERE status IN ('pending', 'sending') "  # noqa: S608
                "AND scheduled_for <= %s",
                [due_at],
            ).fetchone()
            if row and row[0] == 0:
                break
            time.sleep(1)
    return time.perf_counter() - started


def notifications_check(
    due_at: dt.datetime, mail: Path, orphaned: list[dict[str, Any]]
) -> dict[str, Any]:
    """Every notification due by `due_at` (the reminders and the bookings' confirmations):
    its status, and how many .eml files carry its Message-ID."""
    parser = BytesHeaderParser()
    copies: collections.Counter[str] = collections.Counter()
    for path in mail.glob("*.eml"):
        with path.open("rb") as stream:
            copies[str(parser.parse(stream)["Message-ID"]).strip()] += 1
    table = f'"{schema_name_for(seed.SLUG)}".notifications_notification'
    with psycopg.connect(**bench_seed.admin_conninfo(bench_seed.bench_database())) as conn:
        rows = conn.execute(
            f"SELECT id, kind, status, status_reason, attempts, resend_count, scheduled_for, "  # noqa: S608
            f"sent_at FROM {table} WHERE scheduled_for <= %s AND status <> 'cancelled'",
            [due_at],
        ).fetchall()
    domain = f"{seed.SLUG}.{settings.BASE_DOMAIN}"
    summary: dict[str, Any] = {}
    lags = []
    orphan_ids = {str(task["args"][0]) for task in orphaned if task.get("args")}
    orphan_outcomes: collections.Counter[str] = collections.Counter()
    for nid, kind, status, reason, attempts, resend_count, scheduled_for, sent_at in rows:
        label = "reminders due during the run" if kind == "reminder" else f"{kind} messages"
        entry = summary.setdefault(
            label, {"due": 0, "sent": 0, "emails_exactly_one": 0, "lost": 0, "duplicated": 0}
        )
        n = copies[f"<{nid}.{resend_count}@{domain}>"]
        entry["due"] += 1
        entry["sent"] += status == "sent"
        entry["emails_exactly_one"] += n == 1
        entry["lost"] += n == 0
        entry["duplicated"] += n > 1
        if kind == "reminder" and sent_at is not None:
            lags.append((sent_at - scheduled_for).total_seconds())
        if str(nid) in orphan_ids:
            orphan_outcomes[
                f"{status} ({reason or 'first send'}, attempts {attempts}), {n} email"
            ] += 1
    reminders = summary.get("reminders due during the run", {})
    return {
        "by_kind": summary,
        "reminder_lag_s": {
            "p50": round(percentile(lags, 0.5), 2) if lags else None,
            "max": round(max(lags), 2) if lags else None,
        },
        "killed_worker_tasks_outcome": dict(orphan_outcomes),
        "ok": bool(reminders.get("due"))
        and all(
            entry["due"] == entry["sent"] == entry["emails_exactly_one"]
            for entry in summary.values()
        ),
    }


def double_bookings() -> dict[str, int]:
    schema = schema_name_for(seed.SLUG)
    with psycopg.connect(**bench_seed.admin_conninfo(bench_seed.bench_database())) as conn:
        overlapping = conn.execute(
            f"""
            SELECT count(*) FROM "{schema}".bookings_booking a
            JOIN "{schema}".bookings_booking b
              ON a.resource_id = b.resource_id AND a.id < b.id
             AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
            WHERE a.exclusive AND b.exclusive
              AND a.status IN ('held', 'confirmed') AND b.status IN ('held', 'confirmed')
            """  # noqa: S608
        ).fetchone()
        over_capacity = conn.execute(
            f'SELECT count(*) FROM "{schema}".calendars_slotinstance '  # noqa: S608
            "WHERE booked + held > coalesce(capacity, 1)"
        ).fetchone()
        active = conn.execute(
            f'SELECT count(*) FROM "{schema}".bookings_booking '  # noqa: S608
            "WHERE status IN ('held', 'confirmed')"
        ).fetchone()
    return {
        "active_bookings": int(active[0]) if active else 0,
        "overlapping_active_pairs": int(overlapping[0]) if overlapping else -1,
        "slots_over_capacity": int(over_capacity[0]) if over_capacity else -1,
    }


# --- The run ----------------------------------------------------------------------------------


def run(*, rate: float, duration_s: float) -> int:
    for program in ("haproxy", "pgbouncer"):
        if shutil.which(program) is None:
            say(f"{program} is missing: `make drill` installs it (apt-get install -y {program}).")
            return 2
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    logs = OUT_DIR / f"run-{stamp}"
    mail = Path(settings.EMAIL_FILE_PATH)
    mail.mkdir(parents=True, exist_ok=True)
    for old in mail.glob("*.eml"):
        old.unlink()

    say(f"Seeding database {bench_seed.bench_database()} ...")
    drill = seed.drill_seed()
    say(f"  {drill.how}; {drill.timings}")
    _redis_reset()

    directory = Path(tempfile.mkdtemp(prefix="timenest-drill-"))
    directory.chmod(0o711)  # PgBouncer, run as postgres, reaches its own folder inside
    layout = Layout(
        directory=directory,
        logs=logs,
        mail=mail,
        haproxy_port=free_port(),
        pgbouncer_port=free_port(),
        web_ports=[free_port(), free_port()],
    )
    timeline = Timeline()
    report: dict[str, Any] = {"stamp": stamp, "logs": str(logs), "configs": str(directory)}
    try:
        say("Starting PgBouncer, 2 gunicorn instances, HAProxy, 2 Celery workers and beat ...")
        started = time.perf_counter()
        layout.start()
        report["start_s"] = round(time.perf_counter() - started, 1)

        now = timezone.now()
        due_at = (now + dt.timedelta(seconds=REMINDERS_DUE_AT + 30)).replace(
            second=0, microsecond=0
        )
        due_at += dt.timedelta(minutes=1)
        say(f"Booking the reminded appointments (reminders due at {due_at:%H:%M:%S} UTC) ...")
        report["reminders_plan"] = seed.reminder_bookings_make(due_at=due_at)

        count = round(rate * duration_s)
        load = Load(drill, count)
        start_at = due_at.timestamp() - REMINDERS_DUE_AT
        wait = start_at - time.time()
        if wait > 0:
            time.sleep(wait)
        say(
            f"Load: {rate:g} requests/s for {duration_s:g} s through HAProxy; web2 is killed "
            f"at {WEB_KILL_AT:g} s, worker2 when the reminders go out ..."
        )
        timeline.load_started = time.perf_counter()

        def kill_web() -> None:
            layout.processes["web2"].kill()
            timeline.web_killed = layout.processes["web2"].killed_at

        web_timer = threading.Timer(WEB_KILL_AT, kill_web)
        web_timer.start()
        watch = ReminderWatch(layout, timeline, due_at)
        watch.start()
        result = open_loop(
            port=layout.haproxy_port,
            host=drill.host,
            requests=iter(load),
            rate=rate,
            duration_s=duration_s,
            keep_body=True,
        )
        web_timer.join()
        watch.join()
        report["haproxy"] = layout.haproxy_figures()
        report["pgbouncer"] = {
            "pools": layout.pgbouncer_show("POOLS"),
            "stats": layout.pgbouncer_show("STATS"),
        }
        say("Waiting for every due message to be settled ...")
        report["settle_s"] = round(reminders_settle(due_at, timeout_s=SETTLE_TIMEOUT_S), 1)
        report["requests"] = requests_summary(load, result.results, timeline, rate)
        report["bookings"] = double_bookings() | holds_summary(load, result.results)
        report["worker_kill"] = watch.found | {"at_s": timeline.at(timeline.worker_killed)}
        report["notifications"] = notifications_check(
            due_at, mail, watch.found.get("left_unacknowledged_by_killed_worker", [])
        )
        report["celery_settings"] = {
            "task_acks_late": settings.CELERY_TASK_ACKS_LATE,
            "task_reject_on_worker_lost": settings.CELERY_TASK_REJECT_ON_WORKER_LOST,
            "worker_prefetch_multiplier": settings.CELERY_WORKER_PREFETCH_MULTIPLIER,
            "broker_visibility_timeout_s": settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(
                "visibility_timeout"
            ),
            "notification_sending_lease_s (drill)": SENDING_LEASE_S,
            "notification_redispatch_s (drill)": REDISPATCH_S,
        }
    finally:
        report["stopped"] = layout.stop()
        with contextlib.suppress(redis.RedisError):
            _redis_reset()
        shutil.rmtree(directory, ignore_errors=True)
    report["web_kill_at_s"] = timeline.at(timeline.web_killed)
    report["verdict"] = verdict(report)
    path = OUT_DIR / f"report-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print_table(report)
    say(f"\nReport: {path}\nLogs: {logs}")
    return 0 if report["verdict"]["ok"] else 1


def requests_summary(
    load: Load, results: list[Result], timeline: Timeline, rate: float
) -> dict[str, Any]:
    by_kind: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    unexpected_in_window: collections.Counter[str] = collections.Counter()
    unexpected_outside: collections.Counter[str] = collections.Counter()
    kill = None if timeline.web_killed is None else timeline.web_killed - timeline.load_started
    for index, (kind, result) in enumerate(zip(load.kinds, results, strict=False)):
        outcome = classify(result, kind)
        by_kind[kind][outcome] += 1
        if outcome in EXPECTED:
            continue
        sent_at = 0.05 + index / rate
        in_window = kill is not None and kill + KILL_WINDOW[0] <= sent_at <= kill + KILL_WINDOW[1]
        (unexpected_in_window if in_window else unexpected_outside)[outcome] += 1
    latencies = [r.latency_s for r in results if r.status]
    near_kill: list[float] = []
    if kill is not None:
        near_kill = [
            result.latency_s
            for index, result in enumerate(results)
            if result.status and kill + KILL_WINDOW[0] <= 0.05 + index / rate <= kill + 5.0
        ]
    return {
        "sent": len(results),
        "answered": sum(1 for r in results if r.status),
        "by_kind": {kind: dict(counts) for kind, counts in by_kind.items()},
        "errors_in_kill_window": dict(unexpected_in_window),
        "errors_outside_kill_window": dict(unexpected_outside),
        "kill_window_s": KILL_WINDOW,
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "max_ms": round(max(latencies, default=0) * 1000, 1),
        "kill_window_requests": len(near_kill),
        "kill_window_p95_ms": round(percentile(near_kill, 0.95) * 1000, 1) if near_kill else None,
        "kill_window_max_ms": round(max(near_kill, default=0) * 1000, 1),
    }


def holds_summary(load: Load, results: list[Result]) -> dict[str, Any]:
    won: collections.Counter[str] = collections.Counter()
    for kind, target, result in zip(load.kinds, load.targets, results, strict=False):
        if kind.startswith("hold") and result.status == 201:
            won[target] += 1
    return {
        "hot_slots": len(load.hot),
        "hot_slots_held_once": sum(1 for slot in load.hot if won[slot] == 1),
        "slots_with_two_201": sum(1 for count in won.values() if count > 1),
    }


def verdict(report: dict[str, Any]) -> dict[str, Any]:
    requests = report.get("requests", {})
    bookings = report.get("bookings", {})
    in_window = sum(requests.get("errors_in_kill_window", {}).values())
    checks = {
        "no errors outside the kill window": not requests.get("errors_outside_kill_window"),
        f"at most {configs.SERVER_MAXCONN} errors (in flight at web2) in the window": in_window
        <= configs.SERVER_MAXCONN,
        "no double booking": bookings.get("overlapping_active_pairs") == 0
        and bookings.get("slots_over_capacity") == 0
        and bookings.get("slots_with_two_201") == 0,
        "every due message sent exactly once": bool(report.get("notifications", {}).get("ok")),
        "a worker was killed": report.get("worker_kill", {}).get("at_s") is not None,
        "a web instance was killed": report.get("web_kill_at_s") is not None,
    }
    return {"checks": checks, "ok": all(checks.values())}


def print_table(report: dict[str, Any]) -> None:
    requests = report.get("requests", {})
    rows: list[tuple[str, str]] = [
        ("requests sent / answered", f"{requests.get('sent')} / {requests.get('answered')}"),
        (
            "latency p50 / p95 / max (ms)",
            f"{requests.get('p50_ms')} / {requests.get('p95_ms')} / {requests.get('max_ms')}",
        ),
    ]
    for kind, counts in requests.get("by_kind", {}).items():
        rows.append((kind, ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))))
    rows.append(("web2 killed at (s)", str(report.get("web_kill_at_s"))))
    rows.append(
        (
            "requests in kill window: n, p95 / max (ms)",
            f"{requests.get('kill_window_requests')}, {requests.get('kill_window_p95_ms')}"
            f" / {requests.get('kill_window_max_ms')}",
        )
    )
    rows.append(("errors in kill window", json.dumps(requests.get("errors_in_kill_window"))))
    rows.append(("errors outside it", json.dumps(requests.get("errors_outside_kill_window"))))
    for server, figures in report.get("haproxy", {}).items():
        rows.append(
            (
                f"haproxy {server}",
                f"{figures['status']}, served {figures['stot']}, retries {figures['wretr']}, "
                f"redispatched {figures['wredis']}, 5xx {figures['hrsp_5xx']}",
            )
        )
    for pool in report.get("pgbouncer", {}).get("pools", []):
        if pool.get("database") == settings.DATABASES["default"]["NAME"]:
            servers = int(pool.get("sv_active", 0)) + int(pool.get("sv_idle", 0))
            rows.append(
                (
                    "pgbouncer server connections",
                    f"{servers} open of {POOL_SIZE} ({pool.get('pool_mode')} pooling)",
                )
            )
    for stats in report.get("pgbouncer", {}).get("stats", []):
        if stats.get("database") == settings.DATABASES["default"]["NAME"]:
            rows.append(
                (
                    "pgbouncer transactions / queries",
                    f"{stats.get('total_xact_count')} / {stats.get('total_query_count')}, "
                    f"clients waited {int(stats.get('total_wait_time', 0)) / 1000:.0f} ms in all",
                )
            )
    bookings = report.get("bookings", {})
    rows.append(("active bookings", str(bookings.get("active_bookings"))))
    rows.append(("overlapping active pairs (DB)", str(bookings.get("overlapping_active_pairs"))))
    rows.append(("slots over capacity (DB)", str(bookings.get("slots_over_capacity"))))
    rows.append(
        (
            "hot slots held exactly once",
            f"{bookings.get('hot_slots_held_once')}/{bookings.get('hot_slots')}",
        )
    )
    kill = report.get("worker_kill", {})
    rows.append(("worker2 killed at (s)", str(kill.get("at_s"))))
    rows.append(
        (
            "tasks it left unacknowledged",
            str(len(kill.get("left_unacknowledged_by_killed_worker", []))),
        )
    )
    notifications = report.get("notifications", {})
    for kind, entry in notifications.get("by_kind", {}).items():
        rows.append((kind, ", ".join(f"{k} {v}" for k, v in entry.items())))
    rows.append(
        (
            "killed worker's tasks ended",
            json.dumps(notifications.get("killed_worker_tasks_outcome")),
        )
    )
    lag = notifications.get("reminder_lag_s", {})
    rows.append(("reminder lag p50 / max (s)", f"{lag.get('p50')} / {lag.get('max')}"))
    rows.append(("settled after load (s)", str(report.get("settle_s"))))
    rows.append(("stopped", json.dumps(report.get("stopped"))))
    for check, ok in report["verdict"]["checks"].items():
        rows.append((check, "ok" if ok else "FAILED"))
    width = max(len(label) for label, _ in rows)
    say("")
    for label, value in rows:
        say(f"{label:<{width}}  {value}")
