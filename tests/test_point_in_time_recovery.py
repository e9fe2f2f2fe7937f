"""Point-in-time recovery as OPERATIONS.md ("Point-in-time recovery") sets it up: WAL
archived by `archive_command`, a base backup by pg_basebackup, and a recovery to a
`recovery_target_time` between two commits, on a throwaway cluster made by
config/local/services.sh."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from psycopg import sql

from tests.local_clusters import LocalCluster, as_postgres, give_to_postgres, program


def _in_recovery(cluster: LocalCluster) -> bool:
    with cluster.connect() as conn:
        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    return bool(row and row[0])


@pytest.mark.slow
def test_a_base_backup_and_archived_wal_recover_to_a_point_in_time(tmp_path):
    primary = LocalCluster(tmp_path / "primary")
    primary.up()
    archive = tmp_path / "wal-archive"
    base = tmp_path / "base"
    recovered = LocalCluster(tmp_path / "recovered", port=55433)
    try:
        # given a cluster archiving its WAL, and a base backup of it
        give_to_postgres(archive)
        with primary.connect() as conn:
            conn.execute("ALTER SYSTEM SET archive_mode = on")
            # ALTER SYSTEM takes no bound parameters: the value is quoted here.
            conn.execute(
                sql.SQL("ALTER SYSTEM SET archive_command = {}").format(
                    sql.Literal(f"test ! -f {archive}/%f && cp %p {archive}/%f")
                )
            )
        primary.down()
        primary.up()  # archive_mode takes a restart
        give_to_postgres(base)
        primary.postgres_run(
            "pg_basebackup", "-h", str(primary.socket_dir), "-p", str(primary.port),
            "-U", "timenest", "-D", str(base / "data"), "--checkpoint=fast", "--wal-method=stream",
        )  # fmt: skip

        # and commits on either side of a moment
        with primary.connect() as conn:
            conn.execute("CREATE TABLE ledger (entry text)")
            conn.execute("INSERT INTO ledger VALUES ('before')")
            moment = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            conn.execute("INSERT INTO ledger VALUES ('after')")
            segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
            deadline = time.monotonic() + 60
            while not (archive / segment).exists():
                assert time.monotonic() < deadline, "the WAL segment was never archived"
                time.sleep(0.1)
        primary.down()

        # when the base backup is recovered to that moment from the archive
        recovered_data = recovered.data_dir
        give_to_postgres(recovered_data.parent)
        subprocess.run(
            as_postgres(["cp", "-a", str(base / "data"), str(recovered_data)]), check=True
        )
        give_to_postgres(recovered.socket_dir)
        settings = (
            f"\nunix_socket_directories = '{recovered.socket_dir}'\nport = {recovered.port}\n"
            "archive_mode = off\n"
            f"restore_command = 'cp {archive}/%f %p'\n"
            f"recovery_target_time = '{moment.isoformat()}'\n"
            "recovery_target_action = 'promote'\n"
        )
        subprocess.run(
            as_postgres(["tee", "-a", str(recovered_data / "postgresql.auto.conf")]),
            input=settings, text=True, capture_output=True, check=True,
        )  # fmt: skip
        subprocess.run(as_postgres(["touch", str(recovered_data / "recovery.signal")]), check=True)
        log = recovered.local_dir / "log"
        give_to_postgres(log)
        recovered.postgres_run(
            "pg_ctl", "-D", str(recovered_data), "-l", str(log / "postgres.log"), "-w",
            "-t", "60", "start",
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while _in_recovery(recovered):  # replaying, until the target and the promotion
            assert time.monotonic() < deadline, (log / "postgres.log").read_text()
            time.sleep(0.1)

        # then it holds what was committed before the moment and nothing after
        with recovered.connect() as conn:
            rows = conn.execute("SELECT entry FROM ledger ORDER BY entry").fetchall()
        assert rows == [("before",)]
    finally:
        if (recovered.data_dir / "postmaster.pid").exists():
            subprocess.run(
                as_postgres([program("pg_ctl"), "-D", str(recovered.data_dir), "-m", "fast",
                             "stop"]), cwd="/", capture_output=True, check=False,
            )  # fmt: skip
        primary.down()
        shutil.rmtree(tmp_path, ignore_errors=True)
