"""`observatory` command line: thin wrapper over the Dagster definitions."""

from __future__ import annotations

import argparse
import sys

from observatory.settings import PROFILES, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="observatory",
        description=(
            "Observatoire de l'inclusion numérique: pull sources, validate them, compute "
            "indicators by territory and publish a versioned release."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run",
        help="materialise every asset (in-process executor) and publish a release",
        description=(
            "Materialise every asset with the in-process executor and print the path of the "
            "published release. Reads the bundled snapshot in assets/ (profile offline). "
            "Exits non-zero, with the failing steps, if anything fails; the previous release "
            "stays `latest`."
        ),
    )
    run.add_argument("--data-dir", help="data directory (default: $OBSERVATORY_DATA_DIR or ./data)")
    run.add_argument(
        "--profile", choices=PROFILES, help="offline (bundled snapshot, default) or live (download)"
    )
    run.add_argument("--verbose", action="store_true", help="print every Dagster event")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = load_settings(args.data_dir, args.profile)
    from observatory.defs.jobs import materialize_all  # Dagster import only when running

    try:
        outcome = materialize_all(settings, log_level="DEBUG" if args.verbose else "WARNING")
    except Exception as error:  # a definitions or instance error: say it plainly
        print(f"observatory run failed before any step ran: {error}", file=sys.stderr)
        return 2
    if not outcome.success or outcome.release is None:
        print(f"observatory run failed (run {outcome.run_id}):", file=sys.stderr)
        for line in outcome.errors or ["no release was published"]:
            print(f"  - {line}", file=sys.stderr)
        return 1
    print(outcome.release)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
