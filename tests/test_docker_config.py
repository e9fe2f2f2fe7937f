"""The Docker deployment, read and tried without Docker: what compose starts and in which
order, where each container's settings come from (compose's precedence, as its
documentation states it, applied to the file), what the entrypoint runs for each role
(run for real, with `gunicorn`, `celery` and `python` standing in on PATH to record
their arguments), what the image copies and installs, and the Celery limits the worker
applies."""

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
            'printf "%s\\n" "${CELERY_METRICS_ADDRESS:-}:${CELERY_METRICS_PORT:-}" '
            f'>> "{record}.metrics"\n'
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


# --- where the settings come from

# Given to `docker compose` itself (its shell or docker/.env) and set in migrate's
# `environment:` from there: they must not reach web, worker and beat, as everything in
# ../.env does, and postgres cannot read ../.env (its image takes its superuser from
# POSTGRES_USER / POSTGRES_PASSWORD, the names the application gives the serving role).
# Everything else, POSTGRES_PASSWORD and METRICS_TOKEN included, is a setting of ../.env.
OWNER_AND_ADMIN = {"POSTGRES_OWNER_PASSWORD", "POSTGRES_ADMIN_USER", "POSTGRES_ADMIN_PASSWORD"}
# What a service is rather than how a deployment is configured, and the above.
SERVICE_OWN = {"migrate": {"DATABASE_ROLE"} | OWNER_AND_ADMIN}
# Read by the application and by Prometheus: from ../.env alone, never a default.
METRICS_READERS = ("web", "worker", "beat", "prometheus")
_INTERPOLATED = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}$")


def _dotenv(text: str) -> dict[str, str]:
    """An env file of plain `KEY=VALUE` lines (comments on lines of their own)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _sep, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _env_files(service: dict[str, object]) -> list[tuple[Path, bool]]:
    entries = service.get("env_file") or []
    assert isinstance(entries, list)
    files = []
    for entry in entries:
        if isinstance(entry, str):
            files.append(((DOCKER / entry).resolve(), True))
        else:
            assert isinstance(entry, dict)
            files.append(((DOCKER / entry["path"]).resolve(), bool(entry.get("required", True))))
    return files


def _interpolate(value: str, shell: dict[str, str]) -> str:
    match = _INTERPOLATED.match(value)
    if match is None:
        return value
    given = shell.get(match["name"])
    if match["op"] == ":-":
        return given or match["default"]
    return given or ""


def _container_environment(
    service: dict[str, object], files: dict[Path, str], shell: dict[str, str]
) -> dict[str, str]:
    """A container's environment by compose's documented precedence (docs.docker.com,
    "Environment variables precedence"): the `env_file` files in order, a later one
    replacing an earlier one's values; then `environment:`, which beats every env file,
    its `${VAR:-default}` read from compose's own environment (`shell`), never from an
    env_file. `files` holds the files that exist (a missing optional one is skipped)."""
    resolved: dict[str, str] = {}
    for path, required in _env_files(service):
        if path in files:
            resolved.update(_dotenv(files[path]))
        else:
            assert not required, f"{path} is required and missing"
    environment = service.get("environment") or {}
    assert isinstance(environment, dict)
    for key, value in environment.items():
        resolved[key] = _interpolate(str(value), shell)
    return resolved


DEFAULTS_ENV = DOCKER / "defaults.env"
ROOT_ENV = (ROOT / ".env").resolve()


def _env_file_readers() -> dict[str, dict[str, object]]:
    """The services that read the env files (docker/defaults.env, then ../.env)."""
    return {name: service for name, service in _compose().items() if "env_file" in service}


def test_compose_environment_sets_no_setting_that_would_shadow_the_env_file():
    # `environment:` beats `env_file`: a value written there (even `${X:-default}` or
    # `${X:?}`, read from compose's shell or docker/.env, never from ../.env) would
    # silently replace the deployment's. No exception for METRICS_TOKEN or
    # POSTGRES_PASSWORD: both come from ../.env.
    settings_listed = set(_dotenv((ROOT / ".env.example").read_text()))
    readers = _env_file_readers()

    assert set(APP_ROLES) | {"migrate", "prometheus"} <= set(readers)
    for name, service in readers.items():
        environment = service.get("environment") or {}
        assert isinstance(environment, dict), name
        allowed = SERVICE_OWN.get(name, set())
        assert set(environment) - allowed == set(), name
        for key in set(environment) & OWNER_AND_ADMIN:
            match = _INTERPOLATED.match(str(environment[key]))
            assert match is not None and match["name"] == key, (name, key)
    assert {"DJANGO_ALLOWED_HOSTS", "BASE_DOMAIN", "PII_ENCRYPTION_KEYS"} <= settings_listed
    assert {"METRICS_TOKEN", "POSTGRES_PASSWORD"} <= settings_listed
    assert "DATABASE_ROLE" in settings_listed  # one of the service's own, never configured


def test_a_value_in_the_env_file_wins_over_the_trial_defaults():
    defaults = _dotenv(DEFAULTS_ENV.read_text())
    listed = set(_dotenv((ROOT / ".env.example").read_text())) | set(defaults)
    configurable = listed - OWNER_AND_ADMIN - {"DATABASE_ROLE"}
    deployment = {key: f"from-dotenv-{key.lower()}" for key in configurable}
    dotenv_text = "".join(f"{key}={value}\n" for key, value in deployment.items())
    # what compose itself is given changes none of them
    shell = {key: f"from-shell-{key.lower()}" for key in listed}

    assert {"METRICS_TOKEN", "POSTGRES_PASSWORD"} <= configurable
    for name, service in _env_file_readers().items():
        # the defaults first, then ../.env (optional), which wins
        assert _env_files(service) == [(DEFAULTS_ENV, True), (ROOT_ENV, False)], name

        trial = _container_environment(service, {DEFAULTS_ENV: DEFAULTS_ENV.read_text()}, shell)
        configured = _container_environment(
            service, {DEFAULTS_ENV: DEFAULTS_ENV.read_text(), ROOT_ENV: dotenv_text}, shell
        )

        assert {key: trial[key] for key in defaults} == defaults, name
        assert {key: configured[key] for key in configurable} == deployment, name
    assert defaults["DJANGO_SETTINGS_MODULE"] == "config.settings.prod"
    assert defaults["POSTGRES_HOST"] == "postgres" and "redis://redis:" in defaults["REDIS_URL"]


def test_the_metrics_token_and_serving_password_come_from_dotenv_whatever_compose_is_given():
    services = _compose()
    shell = {"METRICS_TOKEN": "token-from-compose", "POSTGRES_PASSWORD": "serving-from-compose"}
    dotenv = "METRICS_TOKEN=operator-token\nPOSTGRES_PASSWORD=operator-password\n"
    configured = {DEFAULTS_ENV: DEFAULTS_ENV.read_text(), ROOT_ENV: dotenv}
    trial = {DEFAULTS_ENV: DEFAULTS_ENV.read_text()}

    for name in METRICS_READERS:
        assert _container_environment(services[name], configured, shell)["METRICS_TOKEN"] == (
            "operator-token"
        ), name
        # no ../.env: no token at all (/metrics answers its own container only)
        assert not _container_environment(services[name], trial, shell).get("METRICS_TOKEN"), name
    for name in (*APP_ROLES, "migrate"):
        env = _container_environment(services[name], configured, shell)
        assert env["POSTGRES_PASSWORD"] == "operator-password", name
        assert "POSTGRES_OWNER_PASSWORD" not in env or name == "migrate", name
    # web, worker and beat see both the same way migrate, which sets the role's password, does
    web = _container_environment(services["web"], trial, shell)
    migrate = _container_environment(services["migrate"], trial, shell)
    assert web["POSTGRES_PASSWORD"] == migrate["POSTGRES_PASSWORD"]


def _repository_files() -> list[str]:
    """Tracked files and new ones not ignored (what a commit could hold)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [path for path in listed if (ROOT / path).is_file()]


_COMPOSE_FILE = re.compile(r"(^|/)(docker-)?compose[^/]*\.ya?ml$")
_TOKEN_ASSIGNED = re.compile(r"^\s*(-\s*)?[\"']?METRICS_TOKEN[\"']?\s*[:=]", re.MULTILINE)
_TOKEN_INTERPOLATED = re.compile(r"\$\{METRICS_TOKEN\b")


def test_no_compose_file_or_its_env_files_hold_a_metrics_token():
    compose_files = [path for path in _repository_files() if _COMPOSE_FILE.search(path)]

    assert "docker/compose.yaml" in compose_files
    for path in compose_files:
        text = (ROOT / path).read_text()
        code = "\n".join(
            line.split(" #")[0] for line in text.splitlines() if not line.lstrip().startswith("#")
        )
        # neither a value nor `${METRICS_TOKEN...}` (compose's shell, shadowing ../.env)
        assert not _TOKEN_ASSIGNED.search(code), path
        assert not _TOKEN_INTERPOLATED.search(code), path
        for name, service in (yaml.safe_load(text).get("services") or {}).items():
            environment = service.get("environment") or {}
            keys = (
                set(environment)
                if isinstance(environment, dict)
                else {str(item).partition("=")[0] for item in environment}
            )
            assert "METRICS_TOKEN" not in keys, (path, name)
            for env_file, _required in _env_files(service):
                # the repository's env files (../.env is the deployment's, never committed)
                if env_file.is_file() and env_file != ROOT_ENV:
                    assert not _dotenv(env_file.read_text()).get("METRICS_TOKEN"), env_file
    assert "METRICS_TOKEN" not in _dotenv(DEFAULTS_ENV.read_text())
    assert _dotenv((ROOT / ".env.example").read_text())["METRICS_TOKEN"].split("#")[0].strip() == ""


def test_prometheus_sends_the_token_file_its_start_writes():
    prometheus = _compose()["prometheus"]
    config = yaml.safe_load((DOCKER / "prometheus" / "prometheus.yml").read_text())

    assert prometheus["entrypoint"] == ["/bin/sh", "/etc/prometheus/start.sh"]
    assert "./prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    (token_file,) = prometheus["command"]
    for job in config["scrape_configs"]:
        assert job["authorization"] == {"type": "Bearer", "credentials_file": token_file}, job


def _run_prometheus_start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Runs docker/prometheus/start.sh with a stand-in `prometheus` that records its
    arguments and its environment."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    stand_in = bin_dir / "prometheus"
    stand_in.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/argv"\n/usr/bin/env > "{tmp_path}/env"\n'
    )
    stand_in.chmod(0o755)
    return subprocess.run(
        ["/bin/sh", str(DOCKER / "prometheus" / "start.sh"), str(tmp_path / "metrics-token")],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_prometheus_starts_with_the_token_in_a_file_only_it_reads_and_nothing_else(tmp_path):
    started = _run_prometheus_start(
        tmp_path, METRICS_TOKEN="operator-token", DJANGO_SECRET_KEY="app-secret"
    )

    assert started.returncode == 0, started.stderr
    token_file = tmp_path / "metrics-token"
    assert token_file.read_text() == "operator-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    argv = (tmp_path / "argv").read_text().splitlines()
    assert "--config.file=/etc/prometheus/prometheus.yml" in argv
    assert "--storage.tsdb.path=/prometheus" in argv
    # the application's settings the container was handed stay out of Prometheus
    environment = (tmp_path / "env").read_text()
    assert "app-secret" not in environment and "operator-token" not in environment


@pytest.mark.parametrize("token", [None, ""])
def test_prometheus_without_a_token_stops_and_says_why(tmp_path, token):
    stale = tmp_path / "metrics-token"
    stale.write_text("a-previous-token")
    env = {} if token is None else {"METRICS_TOKEN": token}

    started = _run_prometheus_start(tmp_path, **env)

    assert started.returncode == 1
    assert "METRICS_TOKEN is not set" in started.stderr and ".env" in started.stderr
    assert not (tmp_path / "argv").exists()  # Prometheus never started
    assert not stale.exists()


def test_the_defaults_file_is_plain_key_value_lines():
    # compose does not interpolate env_file contents; an inline comment would be part of
    # the value in some versions
    for line in DEFAULTS_ENV.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*=[^\s#$]*", line), line


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


def test_worker_and_beat_serve_their_metrics_on_the_port_prometheus_scrapes(tmp_path):
    metrics = tmp_path / "metrics"
    (metrics / "celery").mkdir(parents=True)
    (metrics / "celery" / "counter_4242.db").write_bytes(b"")  # a previous run's
    (metrics / "counter_77.db").write_bytes(b"")  # the web's: gunicorn's to clean

    for role in ("web", "worker", "beat", "migrate"):
        _run_entrypoint(tmp_path, role, PROMETHEUS_MULTIPROC_DIR=str(metrics))
    _run_entrypoint(tmp_path, "worker", BIND_ADDRESS="127.0.0.1", WORKER_METRICS_PORT="9911")
    _run_entrypoint(tmp_path, "beat", BIND_ADDRESS="127.0.0.1", BEAT_METRICS_PORT="9912")
    _run_entrypoint(tmp_path, "health", "worker", CELERY_METRICS_PORT="9808")

    served = (tmp_path / "argv.metrics").read_text().splitlines()
    # every interface of the container by default; the port of prometheus.yml's jobs
    assert served == [
        ":",
        "0.0.0.0:9808",
        "0.0.0.0:9808",
        ":",
        "127.0.0.1:9911",
        "127.0.0.1:9912",
        ":",  # a one-off command never serves (a port set outside is dropped)
    ]
    assert not (metrics / "celery" / "counter_4242.db").exists()
    assert (metrics / "counter_77.db").exists()
    prometheus = yaml.safe_load((DOCKER / "prometheus" / "prometheus.yml").read_text())
    ports = {
        job["job_name"]: job["dns_sd_configs"][0]["port"] for job in prometheus["scrape_configs"]
    }
    assert ports == {"timenest-web": 8000, "timenest-worker": 9808, "timenest-beat": 9808}
    # reachable on compose's network, never published on the host
    services = _compose()
    for role in ("worker", "beat"):
        assert services[role]["expose"] == ["9808"], role
        assert "ports" not in services[role], role
    assert services["web"]["ports"] == ["8000:8000"]


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
