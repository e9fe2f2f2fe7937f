"""The scale-out drill's HAProxy and PgBouncer configurations (tests/drill/configs.py)
are the ones OPERATIONS.md "Scale-out" shows and explains, and HAProxy accepts its own."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.drill import configs

OPERATIONS = Path(settings.BASE_DIR) / "OPERATIONS.md"
# The example values the document's listings were rendered with.
DOC_HAPROXY = {
    "listen_port": 8080,
    "bind_address": "0.0.0.0",  # noqa: S104 - the example of a load balancer facing clients
    "backends": [
        configs.Backend("web1", 8001, "10.0.0.11"),
        configs.Backend("web2", 8002, "10.0.0.12"),
    ],
    "stats_socket": Path("/run/haproxy/admin.sock"),
    "pid_file": Path("/run/haproxy.pid"),
}
DOC_PGBOUNCER = {
    "listen_port": 6432,
    "database": "timenest",
    "postgres_host": "10.0.0.5",
    "postgres_port": 5432,
    "user": "timenest_app",
    "auth_file": Path("/etc/pgbouncer/userlist.txt"),
    "log_file": Path("/var/log/postgresql/pgbouncer.log"),
    "pid_file": Path("/var/run/postgresql/pgbouncer.pid"),
    "pool_size": 20,
}


def _listing(language: str) -> str:
    """The fenced listing of `language` in OPERATIONS.md's "Scale-out" section."""
    text = OPERATIONS.read_text()
    section = text.split("\n## Scale-out", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, f"expected one ```{language} listing in Scale-out"
    return str(blocks[0])


def test_haproxy_config_is_the_documented_one() -> None:
    # given the values the document's listing uses
    # when the drill renders its configuration
    rendered = configs.haproxy_config(**DOC_HAPROXY)  # type: ignore[arg-type]
    # then the document shows exactly it: round robin, health checks on /healthz
    assert _listing("haproxy") == rendered
    assert "    balance roundrobin\n" in rendered
    assert f"http-check send meth GET uri {configs.HEALTH_CHECK_PATH} " in rendered
    assert configs.HEALTH_CHECK_PATH == "/healthz"


def test_pgbouncer_config_is_the_documented_one_in_session_mode() -> None:
    rendered = configs.pgbouncer_config(**DOC_PGBOUNCER)  # type: ignore[arg-type]
    assert _listing("ini") == rendered
    assert "\npool_mode = session\n" in rendered
    assert "`pool_mode = session`" in OPERATIONS.read_text()


@pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="haproxy is not installed (make drill-deps)"
)
def test_haproxy_accepts_the_drill_config(tmp_path: Path) -> None:
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        configs.haproxy_config(
            listen_port=18080,
            backends=[configs.Backend("web1", 18081), configs.Backend("web2", 18082)],
            stats_socket=tmp_path / "admin.sock",
            pid_file=tmp_path / "haproxy.pid",
        )
    )
    checked = subprocess.run(
        ["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # A warning would mean HAProxy ignores or reinterprets a line of it.
    assert "WARNING" not in checked.stdout + checked.stderr
