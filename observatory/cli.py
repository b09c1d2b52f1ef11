"""`observatory` command line: thin wrapper over the Dagster definitions and the publishers."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from observatory.settings import PROFILES, Settings, load_settings

EXIT_OK = 0  # published, or nothing changed since `latest`
EXIT_FAILED = 1  # a step or a blocking check failed: no Parquet release, `latest` unchanged
EXIT_DEFINITIONS = 2  # the definitions (SQL models, mappings, schemas) could not load
EXIT_LOCKED = 3  # another run holds the data directory's lock
EXIT_DATA_DIR = 4  # the data directory cannot be written
EXIT_SQL = 5  # the Parquet release is published (`latest`), only its SQL copy failed
RIEN_A_REJOUER = (
    "rien n'a changé depuis le dernier run réussi (code, réglages, entrées) : aucune étape "
    "rejouée, la release courante reste `latest` (--tout pour tout rejouer)"
)


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", help="dossier de données (défaut : $OBSERVATORY_DATA_DIR ou ./data)"
    )


def _add_release(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--release",
        help="dossier d'une release (défaut : <data-dir>/published/latest)",
        type=Path,
    )


def _release_command(
    commands: argparse._SubParsersAction, name: str, help: str, description: str
) -> argparse.ArgumentParser:
    """A command that reads a release: it takes --data-dir and --release."""
    parser = commands.add_parser(name, help=help, description=description)
    _add_data_dir(parser)
    _add_release(parser)
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="observatory",
        description=(
            "Observatoire de l'inclusion numérique : récupère les sources, les vérifie, calcule "
            "les indicateurs par territoire et publie une release versionnée."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run",
        help="matérialise tous les assets (exécuteur in-process) et publie une release",
        description=(
            "Matérialise tous les assets avec l'exécuteur in-process (in-process executor) et "
            "écrit le chemin de la release publiée sur la sortie standard ; la progression et "
            "le bilan s'affichent sur la sortie d'erreur. Lit l'instantané fourni dans assets/ "
            "(profil offline). En cas d'échec, liste les étapes en échec et sort avec un code "
            "non nul ; la release précédente reste `latest`. Si rien n'a changé depuis "
            "`latest`, aucune release n'est publiée et la release courante est écrite. Codes de "
            "sortie : 0 publiée (ou rien de changé), 1 une étape ou un contrôle bloquant a "
            "échoué (aucune release Parquet publiée), 2 les définitions n'ont pas pu être "
            "chargées, 3 une autre exécution tient le verrou, 4 le dossier de données n'est "
            "pas accessible en écriture, 5 la release Parquet est publiée mais sa copie SQL a "
            "échoué (rattrapée au run suivant). Seules les étapes dont le code, les réglages "
            "ou les entrées ont changé depuis le dernier run réussi sont rejouées (--tout : "
            "toutes)."
        ),
    )
    _add_data_dir(run)
    run.add_argument("--tout", action="store_true", help="rejoue aussi ce qui n'a pas changé")
    run.add_argument(
        "--profile",
        choices=PROFILES,
        help="offline (instantané fourni, défaut) ou live (téléchargement)",
    )
    bavardage = run.add_mutually_exclusive_group()
    bavardage.add_argument(
        "--quiet",
        action="store_true",
        help="ni progression ni bilan (cron) : seulement les erreurs, et le chemin de la release",
    )
    bavardage.add_argument(
        "--verbose", action="store_true", help="affiche aussi tous les logs de Dagster"
    )
    run.add_argument(
        "--wait",
        type=float,
        default=float(os.environ.get("OBSERVATORY_LOCK_TIMEOUT", "60")),
        help=(
            "secondes d'attente si une autre exécution tient le même dossier de données, avant "
            "de sortir avec le code 3 (défaut : $OBSERVATORY_LOCK_TIMEOUT ou 60)"
        ),
    )

    export = _release_command(
        commands,
        "export",
        "CSV et XLSX d'un département (ses communes, ses EPCI et lui-même) pour les agents",
        (
            "Écrit, pour chaque département donné, un classeur XLSX et des fichiers CSV (`;`, "
            "UTF-8 avec BOM, virgule décimale) aux titres de colonnes en français, depuis une "
            "release."
        ),
    )
    export.add_argument(
        "--departement", action="append", required=True, help="code, p. ex. 16 ou 2A (répétable)"
    )
    export.add_argument(
        "--out", type=Path, help="dossier de sortie (défaut : <data-dir>/exports/<release>)"
    )

    _release_command(
        commands,
        "publish-sql",
        "(re)publie une release dans la base SQL de OBSERVATORY_DATABASE_URL",
        (
            "Écrit les tables d'une release dans OBSERVATORY_DATABASE_URL (défaut : un fichier "
            "SQLite sous <data-dir>/published) en une transaction ; les vues pointent vers la "
            "dernière release."
        ),
    )

    report = _release_command(
        commands,
        "report",
        "rapport HTML statique d'un département (chiffres clés, priorités, graphiques, carte)",
        "Écrit la page HTML de l'observatoire pour un département, depuis une release.",
    )
    report.add_argument("--departement", required=True, help="code, p. ex. 16 ou 2A")
    report.add_argument("--zonage", help="page dessinée pour un zonage d'utilisateur (son nom)")
    report.add_argument(
        "--out", type=Path, help="dossier de sortie (défaut : <data-dir>/rapports/<release>)"
    )

    datagouv = _release_command(
        commands,
        "publish-datagouv",
        "envoie les fichiers d'une release vers un jeu de données data.gouv.fr existant",
        (
            "Envoie chaque fichier d'une release vers un jeu de données data.gouv.fr par son "
            "API. La clé d'API est lue dans la variable d'environnement DATAGOUV_API_KEY, "
            "jamais dans les arguments."
        ),
    )
    datagouv.add_argument(
        "--dataset", required=True, help="identifiant ou slug du jeu de données data.gouv.fr"
    )
    datagouv.add_argument(
        "--api-url",
        default="https://www.data.gouv.fr/api/1",
        help="URL de base de l'API (demo.data.gouv.fr pour un essai)",
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
    explain = commands.add_parser(
        "explain",
        help="print where an indicator comes from: definition, code files, steps, raw sources",
        description=(
            "Print an indicator's French label, definition and unit (schemas/indicateurs.yaml), "
            "the code files that compute it, the steps and raw sources upstream of it with their "
            "vintages, licences and addresses, and the published tables that carry it — read "
            "off the asset graph the run uses. Without a name: the list of indicators."
        ),
    )
    _add_data_dir(explain)
    explain.add_argument("indicateur", nargs="?", help="an indicator code, e.g. nb_illectronisme")
    return parser


def _release(settings: Settings, given: Path | None) -> Path:
    from observatory.publish.release import current_release

    release = given.resolve() if given else current_release(settings.published_dir)
    if release is None or not (release / "manifest.json").is_file():
        raise SystemExit(
            f"aucune release trouvée ({given or settings.published_dir / 'latest'}) : "
            "lancez d'abord `observatory run`"
        )
    return release


def _echec(commande: str, error: object, code: int) -> int:
    """One way for every command to say why it failed (stderr) and exit with its code."""
    print(f"observatory {commande} : {error}", file=sys.stderr)
    return code


def _unwritable(data_dir: Path) -> str | None:
    """Why the data directory cannot be written (created if missing), or None."""
    probe = data_dir / f".ecriture-{os.getpid()}"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        return error.strerror or type(error).__name__
    return None


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from observatory.locking import RunLockedError, run_lock
    from observatory.operations.empreintes import rien_a_rejouer
    from observatory.operations.notices import DefinitionsError
    from observatory.progress import RunDisplay
    from observatory.publish.assembly import nettoie_interrompus
    from observatory.publish.release import current_release

    def error(message: str) -> None:
        print(f"observatory run : {message}", file=sys.stderr)

    if reason := _unwritable(settings.data_dir):
        error(
            f"le dossier de données {settings.data_dir} n'est pas accessible en écriture "
            f"({reason}) ; choisissez-en un autre avec --data-dir ou OBSERVATORY_DATA_DIR"
        )
        return EXIT_DATA_DIR
    # with Dagster's logs (--verbose), plain lines: live bars would be torn by them
    display = RunDisplay(quiet=args.quiet, live=False if args.verbose else None)
    display.say(f"observatory run : données {settings.data_dir}, profil {settings.profile}")
    try:
        with run_lock(
            settings.data_dir,
            timeout=args.wait,
            on_wait=lambda holder: display.waiting_for_lock(holder, args.wait),
        ):
            nettoie_interrompus(settings)  # what a run killed mid-write left behind
            if not args.tout and rien_a_rejouer(settings):  # without loading Dagster
                display.say(RIEN_A_REJOUER)
                print(current_release(settings.published_dir))
                return EXIT_OK
            # Dagster: only when something runs
            from observatory.defs.jobs import materialize_all

            outcome = materialize_all(
                settings,
                log_level="DEBUG" if args.verbose else "CRITICAL",
                listener=display.handle,
                tout=args.tout,
            )
    except RunLockedError as locked:
        error(f"pas démarré : {locked}")
        return EXIT_LOCKED
    except DefinitionsError as broken:
        error(f"les définitions n'ont pas pu être chargées : {broken}")
        return EXIT_DEFINITIONS
    except Exception as unexpected:  # the Dagster instance (DAGSTER_HOME), the disk…
        error(f"échec avant la fin du run : {type(unexpected).__name__}: {unexpected}")
        return EXIT_FAILED
    finally:
        lines = display.finish() if display.layers else []
    if not outcome.success or outcome.release is None:
        from observatory.operations.notices import post_webhook, summarize_outcome

        if outcome.sql_only:  # the contract (Parquet) is out: say so, and what is behind
            error(
                f"release Parquet publiée ({outcome.release}, `latest`) ; seule la copie SQL a "
                f"échoué (run {outcome.run_id}) : {outcome.errors[0]}"
            )
            post_webhook(summarize_outcome(outcome))
            print(outcome.release)
            return EXIT_SQL
        if args.quiet or not lines:  # the summary already lists the failures otherwise
            error(f"échec (run {outcome.run_id}) :")
            for line in outcome.errors or ["aucune release n'a été publiée"]:
                print(f"  - {line}", file=sys.stderr)
        latest = current_release(settings.published_dir)
        error(
            "aucune release Parquet publiée : `latest` "
            + (f"reste {latest.name}" if latest is not None else "n'existe pas encore")
        )
        post_webhook(summarize_outcome(outcome))  # only when OBSERVATORY_WEBHOOK_URL is set
        return EXIT_FAILED
    if outcome.rien_a_rejouer:
        display.say(RIEN_A_REJOUER)
    print(outcome.release)
    return EXIT_OK


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
        return _echec("export", error, 2)
    return 0


def _publish_sql(args: argparse.Namespace, settings: Settings) -> int:
    from observatory.publish import database
    from observatory.publish.numbers import count

    release = _release(settings, args.release)
    try:
        outcome = database.publish_release(
            release,
            database.database_url(settings.data_dir),
            settings.schemas_dir,
            keep=settings.keep_releases,
        )
    except Exception as error:  # disk full, database unreachable, release altered…
        print(
            f"observatory publish-sql : copie SQL de {release.name} non faite, la base garde sa "
            f"release précédente : {type(error).__name__}: {error}",
            file=sys.stderr,
        )
        return 1
    state = "publiée" if outcome.nouvelle else "déjà publiée"
    print(f"{outcome.release_id} : {state} ({count(sum(outcome.lignes.values()))} lignes)")
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
        return _echec("report", error, 2)
    return 0


def _publish_datagouv(args: argparse.Namespace, settings: Settings) -> int:
    from observatory.publish.datagouv import DatagouvError, publish_datagouv

    release = _release(settings, args.release)
    try:  # the key comes from DATAGOUV_API_KEY only, and is never printed
        print(publish_datagouv(release, args.dataset, base_url=args.api_url))
    except DatagouvError as error:
        return _echec("publish-datagouv", error, 1)
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


def _explain(args: argparse.Namespace, settings: Settings) -> int:
    from observatory.defs import build_definitions
    from observatory.explain import IndicateurInconnu, explique, texte
    from observatory.publish.schemas import load_dictionary

    if args.indicateur is None:
        for code, entree in load_dictionary(settings.schemas_dir).items():
            print(f"{code:<45} {entree['libelle']}")
        return 0
    try:
        explication = explique(args.indicateur, build_definitions(settings), settings.schemas_dir)
    except IndicateurInconnu as error:
        return _echec("explain", error.args[0], 2)
    print(texte(explication))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "run": _run,
    "export": _export,
    "publish-sql": _publish_sql,
    "report": _report,
    "publish-datagouv": _publish_datagouv,
    "serve": _serve,
    "explain": _explain,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = load_settings(args.data_dir, getattr(args, "profile", None))
    return COMMANDS[args.command](args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
