"""`make run`'s PostgreSQL is durable (config/local/services.sh): fsync, synchronous_commit
and full_page_writes are on, an existing cluster made without them gets them at its next
`make services`, and committed rows survive PostgreSQL being killed. Test databases
alone trade the last commits for speed (synchronous_commit off, tests/plugins/database.py).

What a test can show: a commit that returned is in the WAL the kernel holds, so killing
every PostgreSQL process loses nothing (with synchronous_commit off the last commits
are lost that way). That the kernel's copy reaches the disk (fsync, full_page_writes)
needs a power cut to show; the settings test below pins those."""

from __future__ import annotations

import subprocess

import pytest
from django.db import connection

from tests.local_clusters import SERVICES, LocalCluster, as_postgres

DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
# What earlier versions of services.sh appended to a new cluster's postgresql.conf.
OLD_SETTINGS = "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"


def _written_settings() -> dict[str, str]:
    done = subprocess.run(
        ["bash", str(SERVICES), "pg-conf"], capture_output=True, text=True, check=True
    )
    settings = {}
    for line in done.stdout.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            settings[name.strip()] = value.strip()
    return settings


def test_the_local_cluster_is_configured_durable():
    written = _written_settings()

    assert {name: written.get(name) for name in DURABLE} == DURABLE


def test_test_databases_commit_without_waiting_for_the_disk(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("off",)


@pytest.mark.slow
def test_an_existing_cluster_becomes_durable_at_its_next_start_of_services(tmp_path):
    # given a running cluster as earlier versions of services.sh left it
    cluster = LocalCluster(tmp_path / "local")
    cluster.up()
    try:
        conf = cluster.data_dir / "postgresql.conf"
        lines = [line for line in conf.read_text().splitlines() if "timenest.conf" not in line]
        old = "\n".join(lines) + "\n" + OLD_SETTINGS
        subprocess.run(
            as_postgres(["tee", str(conf)]), input=old, text=True, capture_output=True, check=True
        )
        cluster.postgres_run("pg_ctl", "-D", str(cluster.data_dir), "reload")
        assert cluster.setting("synchronous_commit") == "off"

        # when `make services` runs again
        said = cluster.up()

        # then the running cluster has reloaded durable settings
        assert "reloaded" in said
        assert {name: cluster.setting(name) for name in DURABLE} == DURABLE
        assert "fsync = off" not in conf.read_text()
    finally:
        cluster.down()


@pytest.mark.slow
def test_committed_rows_survive_postgres_being_killed(tmp_path):
    cluster = LocalCluster(tmp_path / "local")
    cluster.up()
    try:
        with cluster.connect() as conn:
            conn.execute("CREATE TABLE crash_probe (n integer PRIMARY KEY)")
            # One transaction per row: each commit returned is a promise.
            for n in range(500):
                conn.execute("INSERT INTO crash_probe VALUES (%s)", [n])
        cluster.kill_hard()

        cluster.up()  # crash recovery replays the WAL

        with cluster.connect() as conn:
            row = conn.execute("SELECT count(*), max(n) FROM crash_probe").fetchone()
        assert row == (500, 499)
    finally:
        cluster.down()
