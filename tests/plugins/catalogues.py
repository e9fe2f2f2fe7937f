"""Plugin: `compiled_catalogues`, the message catalogues compiled to .mo files (as
`make setup` does) and Django's translations read again from them, for tests that read
pages, emails or API answers in another language than English."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils.translation.reloader import translation_file_changed

from apps.core.catalogues import catalogues_compile


@pytest.fixture(scope="session")
def compiled_catalogues() -> None:
    written = catalogues_compile()
    if written:
        # What runserver's autoreloader does when a .mo file changes: every language's
        # translations read so far are forgotten, and read again when next used.
        translation_file_changed(None, Path(written[0]))
