"""`python -m tests.drill [--rate N] [--duration S]` (what `make drill` runs)."""

from __future__ import annotations

import argparse
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.drill", description=__doc__)
    parser.add_argument("--rate", type=float, default=30.0, help="requests a second offered")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.drill"
    # The drill's own output is its table; its processes log at INFO into their files.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from tests.drill.run import run

    return run(rate=args.rate, duration_s=args.duration)


if __name__ == "__main__":
    sys.exit(main())
