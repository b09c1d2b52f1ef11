"""Which assets a rerun must materialise again: fingerprints of code, settings and inputs.

Data teams rerun the pipeline many times a day; with nothing changed, nothing needs to run
again, and a new partner file needs only that partner's assets and what depends on them. An
asset's fingerprint hashes what its output depends on: the code (the package, the schemas and
partner mappings, the SQL models), the settings, the files read from outside the pipeline (the
bundled snapshot and users' zonings, for every asset; a partner's raw asset also its inbox
folder, the asset of unread drops the whole inbox), and its parents' fingerprints. An asset whose
fingerprint equals the one recorded by the last complete, successful run is not run again; its
output is still in the warehouse (an asset whose stored output is gone runs again; with no
release published, everything does). The record is removed before a run starts and written only
when the run succeeded with every blocking check passed, so a failed or killed run is followed
by a full one. The live profile always runs everything (a download may change behind the same
URL).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

from observatory.partners.inbox import inbox_dir
from observatory.publish.release import current_release
from observatory.settings import Settings, bundled, settings_fields

FICHIER = "empreintes.json"  # in the warehouse
PACKAGE = Path(__file__).resolve().parents[1]


def empreinte_dossier(dossier: Path | None, contenu: bool = False, profondeur: int = 8) -> str:
    """Every entry under `dossier` (files and folders, `profondeur` levels at most) by relative
    path, size, modification and change time and inode (or content).

    A drop may be hostile: a name in any encoding, a link (never followed), an unreadable file
    (its error is part of what it is), folders nested thousands deep (cut at `profondeur`).
    """
    h = hashlib.sha256()
    if dossier is None or not dossier.exists():
        return h.hexdigest()
    pile = [(dossier, 0)]
    while pile:
        courant, niveau = pile.pop()
        try:
            entrees = sorted(courant.iterdir(), key=lambda p: os.fsencode(p.name))
        except OSError as erreur:
            h.update(f"{type(erreur).__name__}:{erreur.errno}".encode())
            continue
        for chemin in entrees:
            h.update(os.fsencode(chemin.relative_to(dossier)) + b"\0")
            try:
                etat = chemin.lstat()
                if contenu and stat.S_ISREG(etat.st_mode):
                    h.update(chemin.read_bytes())
                elif contenu and stat.S_ISDIR(etat.st_mode):
                    h.update(b"dossier")  # what it holds is walked below
                else:
                    h.update(
                        f"{etat.st_mode}:{etat.st_size}:{etat.st_mtime_ns}:{etat.st_ctime_ns}:"
                        f"{etat.st_ino}".encode()
                    )
            except OSError as erreur:
                h.update(f"{type(erreur).__name__}:{erreur.errno}".encode())
                continue
            if stat.S_ISDIR(etat.st_mode) and niveau < profondeur:
                pile.append((chemin, niveau + 1))
    return h.hexdigest()


# libraries whose version can change a result (the solver picks which cells are hidden)
BIBLIOTHEQUES = ("polars", "scipy", "numpy", "dagster", "sqlglot")


def empreinte_code(dossiers: Iterable[Path]) -> str:
    """The content of the code: the package's Python files, the given folders and the versions
    of the libraries that compute."""
    h = hashlib.sha256()
    for nom in BIBLIOTHEQUES:
        try:
            h.update(f"{nom}={metadata.version(nom)}".encode())
        except metadata.PackageNotFoundError:
            h.update(nom.encode())
    for source in sorted(PACKAGE.rglob("*.py")):
        h.update(str(source.relative_to(PACKAGE)).encode())
        h.update(source.read_bytes())
    for dossier in dossiers:
        h.update(empreinte_dossier(dossier, contenu=True).encode())
    return h.hexdigest()


def empreintes(parents: Mapping[str, Iterable[str]], propres: Mapping[str, str]) -> dict[str, str]:
    """Each asset's fingerprint: its own (`propres`) and its parents', parents first."""
    resultat: dict[str, str] = {}

    def calcule(cle: str, pile: tuple[str, ...] = ()) -> str:
        if cle not in resultat:
            if cle in pile:
                raise ValueError(f"cycle dans le graphe des assets : {' → '.join(pile)}")
            amont = sorted(calcule(p, (*pile, cle)) for p in parents.get(cle, ()))
            resultat[cle] = hashlib.sha256(
                json.dumps([propres.get(cle, ""), amont]).encode()
            ).hexdigest()
        return resultat[cle]

    for cle in parents:
        calcule(cle)
    return resultat


def a_rejouer(
    nouvelles: Mapping[str, str], anciennes: Mapping[str, str], absentes: Iterable[str] = ()
) -> set[str]:
    """Assets whose fingerprint changed (or was never recorded), and those whose stored output
    is gone (`absentes`)."""
    return {cle for cle, e in nouvelles.items() if anciennes.get(cle) != e} | set(absentes)


def lit(entrepot: Path) -> dict[str, dict]:
    """The last successful run's record (`enregistrement`); empty if none or malformed (then
    the run is complete)."""
    try:
        lu = json.loads((entrepot / FICHIER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(lu, dict) or not all(isinstance(e, dict) for e in lu.values()):
        return {}
    return lu


def oublie(entrepot: Path) -> None:
    """Remove the record: before a run writes the warehouse, and on any write outside one (the
    Dagster UI, a schedule), so the next run is complete."""
    (entrepot / FICHIER).unlink(missing_ok=True)


def ecrit(entrepot: Path, enregistrement: Mapping[str, dict]) -> None:
    """Write the record whole or not at all (a torn record would read as none anyway)."""
    entrepot.mkdir(parents=True, exist_ok=True)
    provisoire = entrepot / f".{FICHIER}.tmp"
    provisoire.write_text(json.dumps(enregistrement, sort_keys=True), encoding="utf-8")
    provisoire.replace(entrepot / FICHIER)


def _propres(settings: Settings, entrees: Mapping[str, str | None]) -> dict[str, str]:
    """Each asset's own fingerprint: what every asset reads, and its inbox folder if any."""
    from observatory.publish.database import database_url

    dossiers = {
        settings.schemas_dir,
        settings.sql_dir,
        settings.assets_dir,
        bundled("assets"),  # the list of first names read for personal data
        bundled("docs"),  # the methodology notes in the release
    }
    commun = empreinte_code([*sorted(dossiers), settings.zonages_dir])
    commun += json.dumps(
        [settings_fields(settings), database_url(settings.data_dir)], sort_keys=True
    )
    return {
        cle: commun
        + (empreinte_dossier(inbox_dir(settings, entree or None)) if entree is not None else "")
        for cle, entree in entrees.items()
    }


def sortie_stockee(settings: Settings, cle: str) -> bool:
    """The asset's output is in the warehouse (where the Parquet IO manager writes it)."""
    return (settings.warehouse_dir / f"{cle}.parquet").exists()


def enregistrement(
    settings: Settings, parents: Mapping[str, list[str]], entrees: Mapping[str, str | None]
) -> dict[str, dict]:
    """What a successful run records of each asset: its fingerprint, its parents, the inbox
    folder it reads (`entrees`: a partner's name, "" for the whole inbox, None for no folder)
    and whether its output is stored in the warehouse."""
    nouvelles = empreintes(parents, _propres(settings, entrees))
    return {
        cle: {
            "empreinte": empreinte,
            "parents": list(parents[cle]),
            "entree": entrees[cle],
            "sortie": sortie_stockee(settings, cle),
        }
        for cle, empreinte in nouvelles.items()
    }


def selection(
    settings: Settings, parents: Mapping[str, list[str]], entrees: Mapping[str, str | None]
) -> tuple[set[str] | None, dict[str, dict]]:
    """The assets to materialise (None: all) and the record to write if the run succeeds."""
    if settings.profile == "live":
        return None, {}
    nouveau = enregistrement(settings, parents, entrees)
    ancien = lit(settings.warehouse_dir)
    if not ancien or current_release(settings.published_dir) is None:
        return None, nouveau  # no record, or no release left to stand for the last run: all
    # an asset that left the graph is not run (Dagster would not know it)
    absentes = [
        c
        for c, e in ancien.items()
        if e.get("sortie") and c in nouveau and not nouveau[c]["sortie"]
    ]
    cles = a_rejouer(
        {c: e["empreinte"] for c, e in nouveau.items()},
        {c: e.get("empreinte", "") for c, e in ancien.items()},
        absentes,
    )
    return cles, nouveau


def rien_a_rejouer(settings: Settings) -> bool:
    """Nothing changed since the last successful run, judged on the graph it recorded (the
    code is in every fingerprint: a changed graph is a changed code), without loading the
    definitions."""
    ancien = lit(settings.warehouse_dir)
    if not ancien or settings.profile == "live":
        return False
    try:
        parents = {c: list(e["parents"]) for c, e in ancien.items()}
        entrees = {c: e["entree"] for c, e in ancien.items()}
        return selection(settings, parents, entrees)[0] == set()
    except Exception:  # a record or a drop that cannot be read: the run is complete
        return False
