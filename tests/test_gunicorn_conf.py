"""docker/gunicorn.conf.py: how many workers for the CPUs a container may use, the
settings gunicorn itself resolves from the file, and the metrics files' hooks."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
CONF = ROOT / "docker" / "gunicorn.conf.py"


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("GUNICORN_WORKERS", "GUNICORN_MAX_WORKERS", "GUNICORN_BIND", "PORT",
                 "BIND_ADDRESS", "PROMETHEUS_MULTIPROC_DIR"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


@pytest.mark.parametrize(("cpus", "ceiling", "workers"), [(1, 9, 3), (2, 9, 5), (8, 9, 9)])
def test_workers_are_two_per_cpu_and_one_capped(monkeypatch, cpus, ceiling, workers):
    conf = _load(monkeypatch)

    assert conf["workers_default"](cpus, ceiling) == workers


def test_the_cgroup_quota_narrows_the_cpus_a_container_may_use(monkeypatch, tmp_path):
    conf = _load(monkeypatch)
    cpu_max = tmp_path / "cpu.max"
    affinity = len(os.sched_getaffinity(0))

    cpu_max.write_text("max 100000\n")
    assert conf["cpus_available"](cpu_max) == affinity
    cpu_max.write_text("50000 100000\n")
    assert conf["cpus_available"](cpu_max) == 1
    assert conf["cpus_available"](tmp_path / "missing") == affinity


def test_the_environment_sets_workers_and_address(monkeypatch):
    conf = _load(monkeypatch, GUNICORN_WORKERS="3", PORT="8123", BIND_ADDRESS="127.0.0.1")

    assert conf["workers"] == 3
    assert conf["bind"] == "127.0.0.1:8123"
    assert _load(monkeypatch)["bind"] == "0.0.0.0:8000"


def test_gunicorn_resolves_the_file_as_production_needs_it():
    env = {**os.environ, "GUNICORN_WORKERS": "3", "GUNICORN_MAX_REQUESTS": "2000"}

    printed = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", str(CONF), "--print-config",
         "config.wsgi:application"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert printed.returncode == 0, printed.stderr
    resolved = dict(
        (part.strip() for part in line.split("=", 1))
        for line in printed.stdout.splitlines()
        if "=" in line
    )
    assert resolved["workers"] == "3"
    assert resolved["worker_class"] == "sync"
    assert resolved["max_requests"] == "2000"
    assert resolved["max_requests_jitter"] == "200"
    assert resolved["worker_tmp_dir"] == "/dev/shm"
    assert resolved["timeout"] == "30"
    assert resolved["control_socket_disable"] == "True"


def test_metrics_files_of_a_previous_run_go_at_start_but_other_groups_stay(monkeypatch, tmp_path):
    conf = _load(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    (tmp_path / "counter_41.db").write_bytes(b"")
    (tmp_path / "celery").mkdir()
    (tmp_path / "celery" / "counter_42.db").write_bytes(b"")

    conf["on_starting"](SimpleNamespace())

    assert not (tmp_path / "counter_41.db").exists()
    assert (tmp_path / "celery" / "counter_42.db").exists()


def test_an_ended_worker_leaves_its_counts_but_not_its_live_gauges(monkeypatch, tmp_path):
    conf = _load(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    for name in ("gauge_livesum_4242.db", "gauge_all_4242.db", "gauge_livesum_77.db"):
        (tmp_path / name).write_bytes(b"")

    conf["child_exit"](SimpleNamespace(), SimpleNamespace(pid=4242))

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "gauge_all_4242.db",
        "gauge_livesum_77.db",
    ]


def test_without_a_metrics_directory_the_hooks_touch_nothing(monkeypatch, tmp_path):
    conf = _load(monkeypatch)
    (tmp_path / "counter_41.db").write_bytes(b"")
    monkeypatch.chdir(tmp_path)

    conf["on_starting"](SimpleNamespace())
    conf["child_exit"](SimpleNamespace(), SimpleNamespace(pid=41))

    assert (tmp_path / "counter_41.db").exists()
