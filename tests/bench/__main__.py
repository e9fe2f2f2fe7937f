"""`python -m tests.bench [--quick] [--reseed]` (what `make bench` runs)."""

from __future__ import annotations

import argparse
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="short measurements, to try the bench out"
    )
    parser.add_argument(
        "--reseed", action="store_true", help="drop the bench databases and seed them again"
    )
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.bench"
    import django

    django.setup()
    from tests.bench.run import run

    return run(quick=args.quick, reseed=args.reseed)


if __name__ == "__main__":
    sys.exit(main())
