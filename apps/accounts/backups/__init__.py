"""Backups of the database and of one business, and their tested restore
(OPERATIONS.md "Backups and recovery").

- `dump.backup_create` writes a pg_dump archive (custom format) and a manifest beside it:
  what the archive holds, counted in the archive's own snapshot.
- `restore.database_restore` restores a whole archive into an empty database;
  `restore.tenant_restore` restores one business beside the live ones under a new slug.
  Both count what they restored against the manifest.

The PostgreSQL client programs come from `postgres_clients.py`, the counting from
`census.py`, the manifest's shape from `manifest.py`.
"""
