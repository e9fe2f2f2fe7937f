"""Files the dashboard hands out as they are made (exports), never held whole in memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

# Spreadsheet programs read a UTF-8 file as UTF-8 (names with accents intact) only when
# it starts with a byte-order mark.
_UTF8_BOM = "\ufeff"


def _with_bom(lines: Iterable[str]) -> Iterator[str]:
    yield _UTF8_BOM
    yield from lines


def csv_download(lines: Iterable[str], *, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_with_bom(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
