"""Rules for a tenant's subdomain (its slug) and the schema name derived from it."""

from __future__ import annotations

import re

MIN_LENGTH = 3
MAX_LENGTH = 40
_SYNTAX = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")

RESERVED = frozenset(
    {
        "www", "admin", "api", "app", "apps", "static", "media", "mail", "email", "smtp",
        "imap", "pop", "ftp", "ns1", "ns2", "dns", "cdn", "assets", "status", "help",
        "support", "docs", "blog", "billing", "dashboard", "login", "signup", "auth",
        "account", "accounts", "public", "root", "test", "dev", "staging", "demo-admin",
        "webhooks", "hooks", "metrics", "healthz", "readyz", "tenant-template", "timenest",
    }
)  # fmt: skip


def slug_problems(slug: str) -> list[str]:
    """Every reason `slug` cannot be a subdomain, friendliest first; empty when it can."""
    if not slug:
        return ["Choose a subdomain."]
    if not MIN_LENGTH <= len(slug) <= MAX_LENGTH:
        return [f"Use between {MIN_LENGTH} and {MAX_LENGTH} characters (you typed {len(slug)})."]
    if not _SYNTAX.match(slug):
        return [
            "Use only lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit."
        ]
    if "--" in slug:
        return ["Do not use two hyphens in a row."]
    if slug in RESERVED:
        return [f"“{slug}” is reserved. Please choose another subdomain."]
    return []


def schema_name_for(slug: str) -> str:
    # Hyphens are not valid in unquoted schema names; slugs never hold underscores.
    return "t_" + slug.replace("-", "_")
