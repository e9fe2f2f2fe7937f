"""The manifest beside each archive (`<name>.dump` → `<name>.manifest.json`): what the
archive holds, counted in the archive's own snapshot, and what a restore needs to know
before it starts (kind, PostgreSQL version, roles, migrations, the public rows of each
business). Written last, so an archive without one is an unfinished backup."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from apps.accounts.backups.census import SchemaCensus
from apps.accounts.backups.errors import RestoreRefused

FORMAT = 1
KIND_DATABASE = "database"
KIND_TENANT = "tenant"


def manifest_path(archive: Path) -> Path:
    return archive.with_name(archive.stem + ".manifest.json")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class TenantRows:
    """A business's rows of the public schema, as `to_jsonb` gave them: its tenant row,
    its domains and its memberships (each with the member's email)."""

    schema: str
    tenant: dict[str, Any]
    domains: list[dict[str, Any]] = field(default_factory=list)
    memberships: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "tenant": self.tenant,
            "domains": self.domains,
            "memberships": self.memberships,
        }


@dataclass
class Manifest:
    kind: str  # KIND_DATABASE or KIND_TENANT
    archive: str  # the archive's file name, beside the manifest
    database: str
    started_at: str
    finished_at: str
    seconds: float
    size_bytes: int
    sha256: str
    postgresql: dict[str, Any]
    roles: dict[str, str]
    database_settings: dict[str, str]
    # Applied migrations, {app: [names]}: of `public`, and of the business schemas (the
    # template's in a database backup, the business's own in a tenant backup).
    migrations: dict[str, dict[str, list[str]]]
    schemas: dict[str, SchemaCensus]
    tenants: dict[str, TenantRows]
    tenant: str = ""  # the slug, in a tenant backup

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kind": self.kind,
            "tenant": self.tenant,
            "archive": self.archive,
            "database": self.database,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": self.seconds,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "postgresql": self.postgresql,
            "roles": self.roles,
            "database_settings": self.database_settings,
            "migrations": self.migrations,
            "schemas": {name: census.as_dict() for name, census in sorted(self.schemas.items())},
            "tenants": {slug: rows.as_dict() for slug, rows in sorted(self.tenants.items())},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        return cls(
            kind=data["kind"],
            tenant=data.get("tenant", ""),
            archive=data["archive"],
            database=data["database"],
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            seconds=float(data["seconds"]),
            size_bytes=int(data["size_bytes"]),
            sha256=data["sha256"],
            postgresql=data["postgresql"],
            roles=data["roles"],
            database_settings=data["database_settings"],
            migrations=data["migrations"],
            schemas={
                name: SchemaCensus.from_dict(census) for name, census in data["schemas"].items()
            },
            tenants={slug: TenantRows(**rows) for slug, rows in data["tenants"].items()},
        )


def manifest_write(manifest: Manifest, *, path: Path) -> None:
    """Written to a temporary name and renamed: a manifest is there whole or not at all."""
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(manifest.as_dict(), handle, indent=1, sort_keys=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def manifest_read(archive: Path, *, verify: bool = True) -> Manifest:
    """The archive's manifest; with `verify`, refused unless the archive's checksum is
    the one the manifest recorded (a truncated or damaged copy is caught before any
    restore begins)."""
    path = manifest_path(archive)
    if not archive.is_file():
        raise RestoreRefused(_("There is no archive %(path)s.") % {"path": archive})
    if not path.is_file():
        raise RestoreRefused(
            _("%(path)s is missing: an archive without its manifest is an unfinished backup.")
            % {"path": path}
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise RestoreRefused(
            _("%(path)s has format %(format)s; this version reads format %(expected)s.")
            % {"path": path, "format": data.get("format"), "expected": FORMAT}
        )
    manifest = Manifest.from_dict(data)
    if verify and file_sha256(archive) != manifest.sha256:
        raise RestoreRefused(
            _("%(path)s does not match its manifest's checksum: the copy is damaged.")
            % {"path": archive}
        )
    return manifest
