#!/usr/bin/env python
"""Django's command-line utility.

It runs with DJANGO_SETTINGS_MODULE (or --settings). Without either it takes the
development settings only on a development machine, one where `make services` has made
the local services' folder (`.local/`, or TIMENEST_LOCAL_DIR); anywhere else it stops
rather than guess (development settings, for one, let webhooks reach private addresses).
"""

import os
import sys
from pathlib import Path

LOCAL_SETTINGS = "config.settings.dev"


def settings_module_choose(argv: list[str]) -> None:
    if os.environ.get("DJANGO_SETTINGS_MODULE") or any(
        arg == "--settings" or arg.startswith("--settings=") for arg in argv
    ):
        return
    local = Path(os.environ.get("TIMENEST_LOCAL_DIR") or Path(__file__).resolve().parent / ".local")
    if not local.is_dir():
        sys.exit(
            "DJANGO_SETTINGS_MODULE is not set and this is not a development machine (no "
            f"{local}): set it, e.g. to config.settings.prod, or run `make services` "
            "(or `make run`) first to use the development settings."
        )
    os.environ["DJANGO_SETTINGS_MODULE"] = LOCAL_SETTINGS


def main() -> None:
    settings_module_choose(sys.argv)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
