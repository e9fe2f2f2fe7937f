"""Running a PostgreSQL client program with a progress count read from its verbose
output, and its last words kept for the error message when it fails."""

from __future__ import annotations

import collections
import re
import subprocess
from collections.abc import Callable, Iterable, Iterator
from typing import IO

# done, total, what is being done now
Progress = Callable[[int, int, str], None]


def progress_ignore(done: int, total: int, label: str) -> None:
    """The progress report of a caller that wants none."""


def _lines(stream: IO[str]) -> Iterator[str]:
    for line in stream:
        yield line.rstrip("\n")


def verbose_lines_count(
    lines: Iterable[str], *, step: re.Pattern[str], total: int, on_progress: Progress
) -> collections.deque[str]:
    """Reports progress for each line matching `step` (its first group is the label);
    returns the last lines, for an error message."""
    tail: collections.deque[str] = collections.deque(maxlen=20)
    done = 0
    for line in lines:
        tail.append(line)
        matched = step.search(line)
        if matched:
            done += 1
            on_progress(min(done, total), total, matched.group(1))
    return tail


def program_run(
    command: list[str],
    *,
    env: dict[str, str],
    step: re.Pattern[str],
    total: int,
    on_progress: Progress,
) -> tuple[int, str]:
    """Runs `command` (which writes its verbose report on stderr and nothing useful on
    stdout); returns its exit status and the last lines it wrote."""
    with subprocess.Popen(  # noqa: S603 - a PostgreSQL program and arguments we built
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        tail = verbose_lines_count(
            _lines(process.stderr), step=step, total=total, on_progress=on_progress
        )
        status = process.wait()
    return status, "\n".join(tail)
