"""Which assets a rerun must materialise again: fingerprints of code, settings and inputs.

Data teams rerun the pipeline many times a day; with nothing changed, nothing needs to run
again, and a new partner file needs only that partner's assets and what depends on them. An
asset's fingerprint hashes what its output depends on: the code (the package, the schemas and
partner mappings, the SQL models), the settings, the files read from outside the pipeline (the
bundled snapshot and users' zonings, for every asset; a partner's raw asset also its inbox
folder, the asset of unread drops the whole inbox), and its parents' fingerprints. An asset whose
fingerprint equals the one recorded by the last complete, successful run is not run again; its
output is still in the warehouse. The record is removed before a run starts and written only
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
    """The last successful run's record: {asset: {"empreinte", "sortie"}}; empty if none."""
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
