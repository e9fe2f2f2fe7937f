"""`manage.py load_reviews_demo`: reviews of past visits, indexed, and left alone the
second time."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from django.core.management import call_command

from apps.directory.index.models import DirectoryEntry
from apps.reviews.models import Review
from tests.reviews.conftest import Place


def test_demo_reviews_load_once_and_reach_the_directory(
    place: Place, tmp_path: Path, settings: Any
) -> None:
    settings.DEBUG = True
    fixture = tmp_path / "reviews.json"
    fixture.write_text(
        json.dumps(
            {
                "tenant": "acme",
                "reviews": {"Anna Berg": [["Priya Kaur", 5, "Great."], ["Tom Gallagher", 4, ""]]},
            }
        )
    )
    out = io.StringIO()
    call_command("load_reviews_demo", "--if-missing", f"--file={fixture}", stdout=out)
    call_command("load_reviews_demo", "--if-missing", f"--file={fixture}", stdout=out)

    assert Review.objects.count() == 2
    assert "left as they are" in out.getvalue()
    entry = DirectoryEntry.objects.get(tenant=place.tenant)
    assert (str(entry.rating_average), entry.rating_count) == ("4.50", 2)
    assert {r["author"] for r in entry.latest_reviews} == {"Priya K.", "Tom G."}
