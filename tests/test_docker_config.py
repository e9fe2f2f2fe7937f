"""The Docker deployment, read and tried without Docker: what compose starts and in which
order, what the entrypoint runs for each role (run for real, with `gunicorn`, `celery`
and `python` standing in on PATH to record their arguments), what the image copies and
installs, and the Celery limits the worker applies."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.apps import apps as django_apps
from django.conf import settings

from config.celery import app

ROOT = Path(settings.BASE_DIR)
DOCKER = ROOT / "docker"
ENTRYPOINT = DOCKER / "entrypoint.sh"
APP_ROLES = ("web", "worker", "beat")


def _compose() -> dict[str, dict[str, object]]:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services: dict[str, dict[str, object]] = compose["services"]
    return services


def _image_services() -> dict[str, dict[str, object]]:
    """The services that run the project's image (built from docker/Dockerfile)."""
    return {name: service for name, service in _compose().items() if "build" in service}


def _dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), one list per stage."""
    text = re.sub(r"\\\n\s*", " ", (DOCKER / "Dockerfile").read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def _run_entrypoint(tmp_path: Path, *args: str, **env: str) -> list[str]:
    """Runs docker/entrypoint.sh with stand-ins for the programs it starts; returns the
    command line it ended in (what it exec'd)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    record = tmp_path / "argv"
    for program in ("gunicorn", "celery", "python"):
        stand_in = bin_dir / program
        stand_in.write_text(
            f'#!/bin/sh\nprintf "%s\\n" "{program}" "$@" > "{record}"\n'
            'printf "%s\\n" "PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-}" '
            f'>> "{record}.env"\n'
        )
        stand_in.chmod(0o755)
    record.unlink(missing_ok=True)
    done = subprocess.run(
        [str(ENTRYPOINT), *args],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return record.read_text().splitlines()


def _dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether `docker build` leaves `path` out of the context: the last matching
    pattern wins, `!` keeps, a pattern that matches a folder matches all under it."""
    ignored = False
    for raw in patterns:
        keep = raw.startswith("!")
        pattern = raw[1:] if keep else raw
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        # `**/name` matches `name` in any folder: compare the prefix's last part.
        anywhere = pattern.removeprefix("**/") if pattern.startswith("**/") else None
        if any(
            fnmatch.fnmatchcase(prefix, pattern)
            or (anywhere is not None and fnmatch.fnmatchcase(prefix.split("/")[-1], anywhere))
            for prefix in prefixes
        ):
            ignored = not keep
    return ignored


def _dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


# --- compose


def test_every_service_of_the_image_waits_for_migrate_to_succeed():
    services = _image_services()

    assert set(APP_ROLES) <= set(services)
    for name, service in services.items():
        if name == "migrate":
            continue
        depends_on = service["depends_on"]
        assert isinstance(depends_on, dict), name
        assert depends_on["migrate"] == {"condition": "service_completed_successfully"}, name


def test_web_worker_and_beat_check_their_own_role_and_web_has_a_start_period():
    services = _compose()

    for role in APP_ROLES:
        check = services[role]["healthcheck"]
        assert isinstance(check, dict), role
        assert check["test"] == ["CMD", "/app/docker/entrypoint.sh", "health", role], role
        assert check.get("start_period"), role
        assert "disable" not in check, role
    assert services["web"]["healthcheck"]["start_period"] == "60s"


def test_migrations_run_in_the_migrate_service_only_and_as_the_owner():
    services = _image_services()

    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    migrate_env = services["migrate"]["environment"]
    assert isinstance(migrate_env, dict) and migrate_env["DATABASE_ROLE"] == "owner"
    for name, service in services.items():
        if name == "migrate":
            continue
        assert service["command"] == [name], name
        env = service.get("environment") or {}
        assert isinstance(env, dict)
        assert env.get("DATABASE_ROLE", "serving") == "serving", name
        assert "POSTGRES_ADMIN_PASSWORD" not in env and "POSTGRES_OWNER_PASSWORD" not in env


# --- the entrypoint, run


def test_the_entrypoint_starts_every_role_compose_uses(tmp_path):
    started = {
        role: _run_entrypoint(tmp_path, role, CELERY_WORKER_NAME="w@h", CELERY_BEAT_NAME="b@h")
        for role in {str(service["command"][0]) for service in _image_services().values()}
    }

    assert started["migrate"] == ["python", "manage.py", "setup_database"]
    web = started["web"]
    assert web[:2] == ["gunicorn", "config.wsgi:application"]
    assert web[web.index("-c") + 1] == str(DOCKER / "gunicorn.conf.py")
    assert web[web.index("--logger-class") + 1] == "config.gunicorn_logging.RedactingLogger"
    worker = started["worker"]
    assert worker[:4] == ["celery", "-A", "config", "worker"]
    assert int(worker[worker.index("--max-tasks-per-child") + 1]) > 0
    assert {"--without-gossip", "--without-mingle"} <= set(worker)
    assert worker[worker.index("--hostname") + 1] == "w@h"
    beat = started["beat"]
    assert beat[:4] == ["celery", "-A", "config", "beat"]
    assert "--enable-remote-control" in beat and beat[beat.index("--hostname") + 1] == "b@h"
    for role in APP_ROLES:
        assert not {"migrate", "setup_database", "migrate_schemas"} & set(started[role]), role


def test_the_health_checks_ping_the_nodes_the_roles_start_as(tmp_path):
    worker = _run_entrypoint(tmp_path, "worker")
    beat = _run_entrypoint(tmp_path, "beat")
    worker_check = _run_entrypoint(tmp_path, "health", "worker")
    beat_check = _run_entrypoint(tmp_path, "health", "beat")
    web_check = _run_entrypoint(tmp_path, "health", "web", PORT="8123")

    node = os.uname().nodename
    assert worker[worker.index("--hostname") + 1] == f"worker@{node}"
    assert worker_check[:5] == ["celery", "-A", "config", "inspect", "ping"]
    assert worker_check[worker_check.index("--destination") + 1] == f"worker@{node}"
    assert beat[beat.index("--hostname") + 1] == f"celerybeat@{node}"
    assert beat_check[beat_check.index("--destination") + 1] == f"celerybeat@{node}"
    assert web_check[0] == "python" and web_check[-1] == "http://127.0.0.1:8123/healthz"


def test_the_image_healthcheck_checks_the_role_its_container_started(tmp_path):
    role_file = tmp_path / "role"

    _run_entrypoint(tmp_path, "worker", TIMENEST_ROLE_FILE=str(role_file))
    check = _run_entrypoint(tmp_path, "health", TIMENEST_ROLE_FILE=str(role_file))

    assert check[:5] == ["celery", "-A", "config", "inspect", "ping"]
    assert "worker@" in check[check.index("--destination") + 1]
    unknown = subprocess.run(
        [str(ENTRYPOINT), "health", "wroker"], capture_output=True, text=True, timeout=30
    )
    assert unknown.returncode == 2


def test_only_gunicorn_and_the_worker_write_metrics_files_each_in_its_directory(tmp_path):
    metrics = tmp_path / "metrics"
    for role in ("web", "worker", "beat", "migrate"):
        _run_entrypoint(tmp_path, role, PROMETHEUS_MULTIPROC_DIR=str(metrics))

    seen = (tmp_path / "argv.env").read_text().splitlines()
    assert seen == [
        f"PROMETHEUS_MULTIPROC_DIR={metrics}",
        f"PROMETHEUS_MULTIPROC_DIR={metrics}/celery",
        "PROMETHEUS_MULTIPROC_DIR=",
        "PROMETHEUS_MULTIPROC_DIR=",
    ]
    assert (metrics / "celery").is_dir()  # made before the process imports its metrics


# --- the image


def test_the_image_installs_only_the_runtime_requirements():
    stages = _dockerfile_stages()
    instructions = [line for stage in stages for line in stage]

    installs = [line for line in instructions if "pip install" in line]
    assert installs and all("base.txt" in line for line in installs)
    assert not any("dev.txt" in line or "dev.in" in line for line in instructions)
    base_in = (ROOT / "requirements" / "base.in").read_text()
    for tool in ("honcho", "pytest", "ruff", "mypy", "playwright", "factory-boy"):
        assert not re.search(rf"^{tool}\b", base_in, re.MULTILINE), tool


def test_the_image_runs_as_a_user_other_than_root_and_checks_its_health():
    runtime = _dockerfile_stages()[-1]

    users = [line.split()[1] for line in runtime if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    last_user = max(i for i, line in enumerate(runtime) if line.upper().startswith("USER "))
    assert not any(line.upper().startswith(("RUN ", "COPY ")) for line in runtime[last_user:])
    assert any(line.upper().startswith("HEALTHCHECK ") for line in runtime)


def test_the_build_context_leaves_out_tests_secrets_and_local_state():
    patterns = _dockerignore_patterns()
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()

    assert tracked
    copied = [path for path in tracked if not _dockerignored(path, patterns)]
    assert not [path for path in copied if path.startswith("tests/")]
    for path in (".env", ".git/HEAD", ".venv/bin/python", ".local/run/x", "node_modules/a.js",
                 "test-artifacts/a.png", "apps/core/__pycache__/x.pyc", ".mypy_cache/x",
                 "requirements/dev.txt"):  # fmt: skip
        assert _dockerignored(path, patterns), path
    for path in ("manage.py", "config/settings/prod.py", "docker/entrypoint.sh",
                 "docker/gunicorn.conf.py", "requirements/base.txt", ".env.example",
                 "static/css/app.css"):  # fmt: skip
        assert not _dockerignored(path, patterns), path


# --- Celery's limits


def _registered_tasks() -> dict[str, Any]:
    """Every task of the installed apps, as a worker registers them (without the
    system checks a worker's start-up also runs)."""
    packages = [config.name for config in django_apps.get_app_configs()]
    app.loader.autodiscover_tasks(packages, related_name="tasks")
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_task_has_time_limits_that_end_before_the_broker_redelivers_it():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    tasks = _registered_tasks()

    assert 0 < settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    assert visibility > settings.CELERY_TASK_TIME_LIMIT
    assert "calendars.materialize_tenant" in tasks
    for name, task in tasks.items():
        soft = task.soft_time_limit or settings.CELERY_TASK_SOFT_TIME_LIMIT
        hard = task.time_limit or settings.CELERY_TASK_TIME_LIMIT
        assert soft < hard < visibility, name


def test_long_tasks_get_longer_limits_than_the_default():
    tasks = _registered_tasks()

    for name in settings.CELERY_TASK_ANNOTATIONS:
        task = tasks[name]
        assert task.soft_time_limit > settings.CELERY_TASK_SOFT_TIME_LIMIT, name
        assert task.time_limit > settings.CELERY_TASK_TIME_LIMIT, name
    sender = tasks["notifications.send"]  # not annotated: the defaults
    assert sender.soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert sender.time_limit == settings.CELERY_TASK_TIME_LIMIT


@pytest.mark.parametrize("path", ["docker/run-roles.sh", "docker/entrypoint.sh"])
def test_the_role_scripts_are_executable(path):
    assert os.access(ROOT / path, os.X_OK)
