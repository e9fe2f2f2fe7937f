"""No entry point guesses development settings where they could be production's: Celery
never guesses, manage.py only on a development machine (its `.local/` exists), and
WSGI/ASGI default to production's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _run(*args: str, drop: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess[str]:
    """`python *args` in the repository, without DJANGO_SETTINGS_MODULE (nor `drop`)."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", *drop}}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_bare_celery_worker_refuses_to_start_without_a_settings_module():
    for command in (["worker", "--pool=solo"], ["beat"], ["report"]):
        done = _run("-m", "celery", "-A", "config", *command)

        assert done.returncode != 0, command
        assert "DJANGO_SETTINGS_MODULE is not set" in done.stderr, done.stderr[-2000:]
        assert "Traceback" not in done.stderr


def test_celery_starts_with_the_settings_module_it_is_given():
    test_settings = "config.settings.test"
    done = _run("-m", "celery", "-A", "config", "report", DJANGO_SETTINGS_MODULE=test_settings)

    assert done.returncode == 0, done.stderr[-2000:]
    assert "DJANGO_SETTINGS_MODULE is not set" not in done.stderr


def test_importing_the_celery_app_names_no_settings():
    # It used to set development settings, which then won over WSGI's production default.
    done = _run("-c", "import os, config; print(os.environ.get('DJANGO_SETTINGS_MODULE'))")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"


def test_wsgi_without_a_settings_module_loads_production_settings():
    # Production's settings want a secret key (development's bring one): asking for it
    # shows which settings were loaded.
    done = _run("-c", "import config.wsgi", drop=("DJANGO_SECRET_KEY",))

    assert done.returncode != 0
    assert "Set the DJANGO_SECRET_KEY environment variable" in done.stderr


def test_manage_py_refuses_outside_a_development_machine(tmp_path):
    done = _run("manage.py", "check", TIMENEST_LOCAL_DIR=str(tmp_path / "absent"))

    assert done.returncode != 0
    assert "DJANGO_SETTINGS_MODULE is not set and this is not a development machine" in done.stderr


def test_manage_py_uses_development_settings_on_a_development_machine(tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    show = "from django.conf import settings; print(settings.SETTINGS_MODULE)"

    guessed = _run("manage.py", "shell", "-v", "0", "-c", show, TIMENEST_LOCAL_DIR=str(local))
    named = _run(
        "manage.py", "shell", "-v", "0", "-c", show,
        "--settings=config.settings.test", TIMENEST_LOCAL_DIR=str(tmp_path / "absent"),
    )  # fmt: skip

    assert guessed.stdout.strip() == "config.settings.dev", guessed.stderr[-2000:]
    assert named.stdout.strip() == "config.settings.test", named.stderr[-2000:]
