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
    parser.add_argument(
        "--skip-directory",
        action="store_true",
        help="leave out the directory workload and its figures (its seed takes some 25 min)",
    )
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.bench"
    import django

    django.setup()
    from tests.bench.run import run

    return run(quick=args.quick, reseed=args.reseed, directory=not args.skip_directory)


if __name__ == "__main__":
    sys.exit(main())
