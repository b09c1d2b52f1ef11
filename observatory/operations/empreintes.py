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
from collections.abc import Iterable, Mapping
from pathlib import Path

from observatory.publish.release import current_release
from observatory.settings import Settings, settings_fields

FICHIER = "empreintes.json"  # in the warehouse
PACKAGE = Path(__file__).resolve().parents[1]


def empreinte_dossier(dossier: Path | None, contenu: bool = False) -> str:
    """Every file under `dossier` by relative path, size and modification time (or content)."""
    h = hashlib.sha256()
    if dossier is None or not dossier.exists():
        return h.hexdigest()
    for racine, dossiers, fichiers in os.walk(dossier):
        dossiers.sort()
        for nom in sorted(fichiers):
            chemin = Path(racine, nom)
            # a name in any encoding (a partner's drop may not be UTF-8), a link not followed
            h.update(os.fsencode(chemin.relative_to(dossier)) + b"\0")
            try:
                if contenu and not chemin.is_symlink():
                    h.update(chemin.read_bytes())
                else:
                    etat = chemin.lstat()
                    h.update(f"{etat.st_size}:{etat.st_mtime_ns}".encode())
            except OSError as erreur:  # unreadable: the error is part of what it is
                h.update(f"{type(erreur).__name__}:{erreur.errno}".encode())
    return h.hexdigest()


def empreinte_code(dossiers: Iterable[Path]) -> str:
    """The content of the code: the package's Python files and the given folders."""
    h = hashlib.sha256()
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
    """The last successful run's record (`enregistrement`); empty if none."""
    try:
        return json.loads((entrepot / FICHIER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def oublie(entrepot: Path) -> None:
    (entrepot / FICHIER).unlink(missing_ok=True)


def ecrit(entrepot: Path, enregistrement: Mapping[str, dict]) -> None:
    entrepot.mkdir(parents=True, exist_ok=True)
    provisoire = entrepot / f".{FICHIER}.tmp"
    provisoire.write_text(json.dumps(enregistrement, sort_keys=True), encoding="utf-8")
    provisoire.replace(entrepot / FICHIER)


def _propres(settings: Settings, entrees: Mapping[str, str | None]) -> dict[str, str]:
    """Each asset's own fingerprint: what every asset reads, and its inbox folder if any."""
    commun = empreinte_code(
        [settings.schemas_dir, settings.sql_dir, settings.assets_dir, settings.zonages_dir]
    )
    commun += json.dumps(settings_fields(settings), sort_keys=True)
    inbox = settings.data_dir / "inbox"
    return {
        cle: commun + (empreinte_dossier(inbox / entree) if entree is not None else "")
        for cle, entree in entrees.items()
    }


def enregistrement(
    settings: Settings, parents: Mapping[str, list[str]], entrees: Mapping[str, str | None]
) -> dict[str, dict]:
    """What a successful run records of each asset: its fingerprint, its parents, the inbox
    folder it reads (`entrees`: a partner's name, "" the whole inbox, None none) and whether
    its output is stored in the warehouse."""
    nouvelles = empreintes(parents, _propres(settings, entrees))
    return {
        cle: {
            "empreinte": empreinte,
            "parents": list(parents[cle]),
            "entree": entrees[cle],
            "sortie": (settings.warehouse_dir / f"{cle}.parquet").exists(),
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
    absentes = [
        c for c, e in ancien.items() if e.get("sortie") and not nouveau.get(c, {}).get("sortie")
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
    except (KeyError, TypeError):
        return False
    return selection(settings, parents, entrees)[0] == set()
