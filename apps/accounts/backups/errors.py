"""The errors of backups and restores: each refusal and failure has its own code."""

from __future__ import annotations

from apps.core.errors import DomainError


class BackupFailed(DomainError):
    code = "BACKUP_FAILED"
    http_status = 500


class RestoreRefused(DomainError):
    """Nothing was restored: the target, the archive or the request was not acceptable."""

    code = "RESTORE_REFUSED"
    http_status = 409


class RestoreFailed(DomainError):
    """A client program failed; what it had restored was rolled back or dropped."""

    code = "RESTORE_FAILED"
    http_status = 500


class RestoreMismatch(DomainError):
    """The restore ran, but what it restored does not count as the manifest says."""

    code = "RESTORE_MISMATCH"
    http_status = 500
