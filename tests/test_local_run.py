"""`make run` is for the machine it runs on: it serves loopback unless told otherwise,
names its settings, loads the demo only when it is missing, and keeps the local
PostgreSQL's socket to its owner."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
EVERYWHERE = "0.0.0.0"  # noqa: S104 - what a developer opts into, named once
PROCFILE = ROOT / "config" / "local" / "Procfile"


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"BIND_ADDRESS", "PORT", "MAKEFLAGS"}}
    return {**env, **extra}


def _procfile_command(process: str, **env: str) -> str:
    """The Procfile's command for `process` as the shell honcho runs it would expand it."""
    [line] = [line for line in PROCFILE.read_text().splitlines() if line.startswith(f"{process}:")]
    command = line.split(":", 1)[1].strip()
    done = subprocess.run(
        ["bash", "-c", f"echo {command}"],
        env=_environment(**env),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _make_run(**env: str) -> str:
    """What `make run` would run (make -n: printed, not run)."""
    done = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, env=_environment(**env), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_local_web_server_binds_loopback_by_default():
    assert "runserver 127.0.0.1:8000" in _procfile_command("web", PORT="8000")
    opened = _procfile_command("web", PORT="9000", BIND_ADDRESS=EVERYWHERE)
    assert f"runserver {EVERYWHERE}:9000" in opened


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_serves_loopback_unless_bind_address_opens_it():
    default = _make_run()
    opened = _make_run(BIND_ADDRESS=EVERYWHERE)

    assert "Listening on 127.0.0.1:8000" in default
    assert "Listening on 0.0.0.0:8000" in opened
    honcho = [line for line in default.splitlines() if "honcho" in line and "start" in line]
    assert honcho and all("DJANGO_SETTINGS_MODULE=config.settings.dev" in h for h in honcho)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_loads_the_demo_only_when_missing_and_prints_its_credentials():
    planned = _make_run()

    loads = [line for line in planned.splitlines() if "manage.py load_demo" in line]
    assert any("load_demo --if-missing" in line for line in loads)
    assert any("load_demo --credentials" in line for line in loads)
    assert all("DJANGO_SETTINGS_MODULE=config.settings.dev" in line for line in loads)


def test_the_local_postgresql_socket_is_its_owners_only():
    run = Path(settings.LOCAL_DIR) / "run"
    if not any(run.glob(".s.PGSQL.*")):
        pytest.skip("the local PostgreSQL of config/local/services.sh is not in use")

    assert stat.S_IMODE(run.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE(Path(settings.LOCAL_DIR).stat().st_mode) & 0o066 == 0
    script = (ROOT / "config" / "local" / "services.sh").read_text()
    assert "unix_socket_permissions = 0700" in script
