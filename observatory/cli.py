"""`observatory` command line: thin wrapper over the Dagster definitions and the publishers."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from observatory.settings import PROFILES, Settings, load_settings


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", help="data directory (default: $OBSERVATORY_DATA_DIR or ./data)"
    )


def _add_release(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--release", help="release folder (default: <data-dir>/published/latest)", type=Path
    )


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
            "stays `latest`. When nothing changed since `latest`, no new release is published "
            "and the current one is printed."
        ),
    )
    _add_data_dir(run)
    run.add_argument(
        "--profile", choices=PROFILES, help="offline (bundled snapshot, default) or live (download)"
    )
    run.add_argument("--verbose", action="store_true", help="print every Dagster event")
    run.add_argument(
        "--wait",
        type=float,
        default=float(os.environ.get("OBSERVATORY_LOCK_TIMEOUT", "60")),
        help=(
            "seconds to wait for another run on the same data directory before exiting with "
            "code 3 (default: $OBSERVATORY_LOCK_TIMEOUT or 60)"
        ),
    )

    export = commands.add_parser(
        "export",
        help="CSV and XLSX of a département (its communes, EPCI and itself) for agents",
        description=(
            "Write, for each département given, an XLSX workbook and CSV files (`;`, UTF-8 with "
            "BOM, decimal comma) with French column titles, from a release."
        ),
    )
    _add_data_dir(export)
    _add_release(export)
    export.add_argument(
        "--departement", action="append", required=True, help="code, e.g. 16 or 2A (repeatable)"
    )
    export.add_argument("--out", type=Path, help="output folder (default: <data-dir>/exports/<id>)")

    sql = commands.add_parser(
        "publish-sql",
        help="(re)publish a release to the SQL database of OBSERVATORY_DATABASE_URL",
        description=(
            "Write a release's tables to OBSERVATORY_DATABASE_URL (default: a SQLite file under "
            "<data-dir>/published) in one transaction; views point to the latest release."
        ),
    )
    _add_data_dir(sql)
    _add_release(sql)

    report = commands.add_parser(
        "report",
        help="static HTML report of a département (key figures, priorities, charts, map)",
        description="Write the observatory's HTML page for a département from a release.",
    )
    _add_data_dir(report)
    _add_release(report)
    report.add_argument("--departement", required=True, help="code, e.g. 16 or 2A")
    report.add_argument("--zonage", help="draw the page for a user zoning (its name)")
    report.add_argument(
        "--out", type=Path, help="output folder (default: <data-dir>/rapports/<id>)"
    )

    datagouv = commands.add_parser(
        "publish-datagouv",
        help="upload a release's files to an existing data.gouv.fr dataset",
        description=(
            "Upload every file of a release to a data.gouv.fr dataset through its API. The API "
            "key is read from the DATAGOUV_API_KEY environment variable, never from arguments."
        ),
    )
    _add_data_dir(datagouv)
    _add_release(datagouv)
    datagouv.add_argument("--dataset", required=True, help="data.gouv.fr dataset id or slug")
    datagouv.add_argument(
        "--api-url",
        default="https://www.data.gouv.fr/api/1",
        help="API base URL (demo.data.gouv.fr for a trial)",
    )

    serve = commands.add_parser(
        "serve",
        help="serve the latest release read-only over HTTP (Datasette: pages, JSON, CSV)",
        description=(
            "Serve the latest release read-only with Datasette: its tables with their French "
            "titles, canned queries, JSON and CSV, the département reports. A new release is "
            "served without restart, once its SQLite file is built (<data-dir>/serve/); each "
            "request reads one release only. Bound to 127.0.0.1 unless --host says otherwise."
        ),
    )
    _add_data_dir(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8001, help="port (default 8001)")
    serve.add_argument(
        "--sql-time-limit-ms",
        type=int,
        default=1000,
        help="a query running longer is interrupted and answered with an error (default 1000)",
    )
    serve.add_argument(
        "--recheck",
        type=float,
        default=10.0,
        help="seconds between two looks at `latest` for a new release (default 10; 0: never)",
    )
    serve.add_argument(
        "--cors", action="store_true", help="allow other sites' pages to read the JSON (CORS *)"
    )
    serve.add_argument(
        "--cache-dir", type=Path, help="where the SQLite files go (default <data-dir>/serve)"
    )
    return parser


def _release(settings: Settings, given: Path | None) -> Path:
    from observatory.publish.release import current_release

    release = given.resolve() if given else current_release(settings.published_dir)
    if release is None or not (release / "manifest.json").is_file():
        raise SystemExit(
            f"no release found ({given or settings.published_dir / 'latest'}): "
            "run `observatory run` first"
        )
    return release


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from observatory.defs.jobs import materialize_all  # Dagster import only when running
    from observatory.locking import RunLockedError, run_lock

    try:
        with run_lock(settings.data_dir, timeout=args.wait):
            outcome = materialize_all(settings, log_level="DEBUG" if args.verbose else "WARNING")
    except RunLockedError as error:
        print(f"observatory run not started: {error}", file=sys.stderr)
        return 3
    except Exception as error:  # a definitions or instance error: say it plainly
        print(f"observatory run failed before any step ran: {error}", file=sys.stderr)
        return 2
    if not outcome.success or outcome.release is None:
        print(f"observatory run failed (run {outcome.run_id}):", file=sys.stderr)
        for line in outcome.errors or ["no release was published"]:
            print(f"  - {line}", file=sys.stderr)
        from observatory.defs.schedules import post_webhook, summarize_outcome

        post_webhook(summarize_outcome(outcome))  # only when OBSERVATORY_WEBHOOK_URL is set
        return 1
    if not outcome.new_release:
        print("nothing changed since the latest release: no new release", file=sys.stderr)
    print(outcome.release)
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from observatory.publish.exports import ExportError, export_departement

    release = _release(settings, args.release)
    out = args.out or settings.data_dir / "exports" / release.name
    try:
        for code in args.departement:
            result = export_departement(release, code, out, settings.schemas_dir)
            for path in result.fichiers:
                print(path)
    except ExportError as error:
        print(f"observatory export: {error}", file=sys.stderr)
        return 2
    return 0


def _publish_sql(args: argparse.Namespace, settings: Settings) -> int:
    from observatory.publish import database

    release = _release(settings, args.release)
    outcome = database.publish_release(
        release,
        database.database_url(settings.data_dir),
        settings.schemas_dir,
        keep=settings.keep_releases,
    )
    state = "published" if outcome.nouvelle else "already published"
    print(f"{outcome.release_id}: {state} ({sum(outcome.lignes.values())} rows)")
    return 0


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from observatory.publish.report import build_report

    release = _release(settings, args.release)
    out = args.out or settings.data_dir / "rapports" / release.name
    try:
        print(
            build_report(
                release, args.departement, out, zonage=args.zonage, schemas_dir=settings.schemas_dir
            )
        )
    except ValueError as error:
        print(f"observatory report: {error}", file=sys.stderr)
        return 2
    return 0


def _publish_datagouv(args: argparse.Namespace, settings: Settings) -> int:
    from observatory.publish.datagouv import DatagouvError, publish_datagouv

    release = _release(settings, args.release)
    try:  # the key comes from DATAGOUV_API_KEY only, and is never printed
        print(publish_datagouv(release, args.dataset, base_url=args.api_url))
    except DatagouvError as error:
        print(f"observatory publish-datagouv: {error}", file=sys.stderr)
        return 1
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from observatory.serve.app import serve

    return serve(
        settings.published_dir,
        args.cache_dir or settings.data_dir / "serve",
        settings.data_dir / "rapports",
        settings.schemas_dir,
        host=args.host,
        port=args.port,
        sql_time_limit_ms=args.sql_time_limit_ms,
        recheck_s=args.recheck,
        cors=args.cors,
    )


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "run": _run,
    "export": _export,
    "publish-sql": _publish_sql,
    "report": _report,
    "publish-datagouv": _publish_datagouv,
    "serve": _serve,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = load_settings(args.data_dir, getattr(args, "profile", None))
    return COMMANDS[args.command](args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
