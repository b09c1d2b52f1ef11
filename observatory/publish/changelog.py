"""CHANGELOG.md of a release, generated against the previous one (French, for users).

What readers of a new release ask first: which sources changed, which tables gained or lost
rows, which national figures moved, and where in the country things moved most.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from observatory.publish import numbers

EPSILON = 1e-9
TOP_TERRITOIRES = 20
NIVEAUX_SUIVIS = ("departement", "epci")
PART = numbers.Precision(3, signe="%")  # a relative change, shown as a percentage


def _fmt(code: str, value: float | None, signe: bool = False) -> str:
    """A value of indicator `code` at its precision (the report's format), `—` if missing."""
    if value is None:
        return "—"
    text = numbers.format_indicator(code, value)
    return f"+{text}" if signe and value > 0 and text.strip("0,\u202f%km") else text


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def compare_sources(
    current: Sequence[Mapping[str, Any]], previous: Sequence[Mapping[str, Any]]
) -> pl.DataFrame:
    """One row per source file added, removed, changed (other sha256) or found altered.

    A partner's file is named `<reception time>/<name>` in the manifest (a partner may drop
    two files of the same name); a file altered since landing (`alteration`) or refused after
    landing (`refus`, with its reason) is reported as such; the bytes found
    (`sha256_constate`) tell one alteration from the next.
    """

    def frame(sources: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
        return pl.DataFrame(
            [
                {
                    "source": s.get("source"),
                    "fichier": s.get("fichier"),
                    "millesime": str(s.get("millesime")),
                    "sha256": s.get("sha256_constate") or s.get("sha256"),
                    "alteree": bool(s.get("alteration")),
                    "refus": s.get("refus"),
                }
                for s in sources
            ],
            schema={
                "source": pl.String,
                "fichier": pl.String,
                "millesime": pl.String,
                "sha256": pl.String,
                "alteree": pl.Boolean,
                "refus": pl.String,
            },
        )

    joined = frame(current).join(
        frame(previous), on=["source", "fichier"], how="full", coalesce=True, suffix="_avant"
    )
    return (
        joined.with_columns(
            pl.when(pl.col("sha256_avant").is_null())
            .then(pl.lit("ajoutée"))
            .when(pl.col("sha256").is_null())
            .then(pl.lit("retirée"))
            .when(pl.col("alteree") & (pl.col("sha256") != pl.col("sha256_avant")))
            .then(pl.lit("altérée depuis sa réception : refusée"))
            .when(pl.col("refus").is_not_null() & pl.col("refus_avant").is_null())
            .then(pl.lit("refusée : ") + pl.col("refus").str.slice(0, 200))
            .when(pl.col("sha256") != pl.col("sha256_avant"))
            .then(pl.lit("modifiée"))
            .alias("changement")
        )
        .filter(pl.col("changement").is_not_null())
        .select("source", "fichier", "millesime_avant", "millesime", "changement")
        .sort("source", "fichier")
    )


# One row per table of either release: rows before and after, keys added and removed (null
# where the table is new, gone, or has no key).
COMPARAISON_SCHEMA = {
    "table": pl.String,
    "lignes_avant": pl.Int64,
    "lignes": pl.Int64,
    "cles_ajoutees": pl.Int64,
    "cles_retirees": pl.Int64,
}


# A table as a frame or a scan of a release's files: a scan reads only the columns a
# comparison uses (a national release's `indicateurs` has 13 columns and 1.8 M rows, and the
# previous release's as many), and the comparisons run on the streaming engine, exact here
# (counts, anti-joins, row-wise differences sorted by a unique key).
Table = pl.DataFrame | pl.LazyFrame


def _lignes(table: Table) -> int:
    """Rows of a frame or of a scan (read from the Parquet metadata, no data)."""
    return table.lazy().select(pl.len()).collect().item()


def _cles_absentes(de: Table, dans: Table, key: list[str]) -> int:
    """How many distinct keys of `de` `dans` does not have. The anti-join needs no distinct
    keys on either side (a key repeated in `dans` is found all the same): only its result,
    small, is made distinct. Two national `indicateurs` compared this way take 0.1 GB at
    most, against 0.7 GB with the distinct keys of both sides first."""
    query = (
        de.lazy().select(key).join(dans.lazy().select(key), on=key, how="anti", nulls_equal=True)
    )
    return query.unique().select(pl.len()).collect(engine="streaming").item()


def compare_tables(
    current: Mapping[str, Table],
    previous: Mapping[str, Table],
    keys: Mapping[str, Sequence[str]],
) -> pl.DataFrame:
    """Rows before/after per table, and keys added/removed where the table has a key."""
    rows = []
    for name in sorted(set(current) | set(previous)):
        new, old = current.get(name), previous.get(name)
        key = list(keys.get(name, ()))
        added = removed = None
        if (
            new is not None
            and old is not None
            and key
            and set(key) <= set(new.collect_schema().names()) & set(old.collect_schema().names())
        ):
            added = _cles_absentes(new, old, key)
            removed = _cles_absentes(old, new, key)
        rows.append(
            {
                "table": name,
                "lignes_avant": None if old is None else _lignes(old),
                "lignes": None if new is None else _lignes(new),
                "cles_ajoutees": added,
                "cles_retirees": removed,
            }
        )
    return pl.DataFrame(rows, schema=COMPARAISON_SCHEMA)


def _values(indicateurs: Table) -> pl.LazyFrame:
    return indicateurs.lazy().select("niveau", "code", "indicateur", "annee", "valeur")


def compare_indicators(current: Table, previous: Table) -> pl.DataFrame:
    """Every (niveau, code, indicateur, annee) whose value changed, with the relative change."""
    key = ["niveau", "code", "indicateur", "annee"]
    joined = _values(current).join(
        _values(previous), on=key, how="inner", suffix="_avant", nulls_equal=True
    )
    moved = (pl.col("valeur") - pl.col("valeur_avant")).abs() > EPSILON
    nulls = pl.col("valeur").is_null() != pl.col("valeur_avant").is_null()
    return (
        joined.filter(moved.fill_null(False) | nulls)
        .with_columns(
            (pl.col("valeur") - pl.col("valeur_avant")).alias("variation"),
            pl.when(pl.col("valeur_avant") != 0)
            .then((pl.col("valeur") - pl.col("valeur_avant")) / pl.col("valeur_avant").abs())
            .alias("variation_relative"),
        )
        .sort(key)
        .collect(engine="streaming")
    )


def build_changelog(
    manifest: Mapping[str, Any],
    current: Mapping[str, Table],
    previous_manifest: Mapping[str, Any] | None,
    previous: Mapping[str, Table] | None,
    keys: Mapping[str, Sequence[str]],
) -> str:
    """The Markdown change log of `manifest`'s release against the previous release."""
    lines = [f"# Journal des modifications — publication {manifest['release_id']}", ""]
    if previous_manifest is None or previous is None:
        lines += ["Première publication : pas de publication précédente à comparer.", ""]
        lines += ["## Tables", ""]
        lines += _table(
            ["Table", "Lignes"], [[n, numbers.count(_lignes(current[n]))] for n in sorted(current)]
        )
        return "\n".join(lines) + "\n"
    lines += [
        f"Comparée à la publication précédente **{previous_manifest['release_id']}** "
        f"({previous_manifest.get('created_at', '?')}).",
        "",
        "## Sources",
        "",
    ]
    sources = compare_sources(manifest.get("sources", []), previous_manifest.get("sources", []))
    if sources.is_empty():
        lines.append("Aucune source ajoutée, retirée ou modifiée.")
    else:
        lines += _table(
            ["Source", "Fichier", "Millésime avant", "Millésime", "Changement"],
            [["—" if cell is None else cell for cell in row] for row in sources.rows()],
        )
    lines += ["", "## Tables", ""]
    tables = compare_tables(current, previous, keys)
    lines += _table(
        ["Table", "Lignes avant", "Lignes", "Clés ajoutées", "Clés retirées"],
        [
            [("—" if c is None else numbers.count(c) if isinstance(c, int) else c) for c in row]
            for row in tables.rows()
        ],
    )
    if "indicateurs" in current and "indicateurs" in previous:
        changes = compare_indicators(current["indicateurs"], previous["indicateurs"])
        national = changes.filter(pl.col("niveau") == "france")
        lines += ["", "## Indicateurs dont la valeur nationale a changé", ""]
        if national.is_empty():
            lines.append("Aucune valeur nationale n'a changé.")
        else:
            lines += _table(
                ["Indicateur", "Année", "Avant", "Après", "Variation"],
                [
                    [
                        r["indicateur"],
                        r["annee"],
                        _fmt(r["indicateur"], r["valeur_avant"]),
                        _fmt(r["indicateur"], r["valeur"]),
                        _fmt(r["indicateur"], r["variation"], signe=True),
                    ]
                    for r in national.iter_rows(named=True)
                ],
            )
        top = (
            changes.filter(
                pl.col("niveau").is_in(NIVEAUX_SUIVIS), pl.col("variation_relative").is_not_null()
            )
            .sort(pl.col("variation_relative").abs(), descending=True, maintain_order=True)
            .head(TOP_TERRITOIRES)
        )
        lines += ["", "## Territoires qui ont le plus changé (départements et EPCI)", ""]
        if top.is_empty():
            lines.append("Aucun département ni EPCI n'a changé de valeur.")
        else:
            lines += _table(
                ["Niveau", "Code", "Indicateur", "Avant", "Après", "Variation relative"],
                [
                    [
                        r["niveau"],
                        r["code"],
                        r["indicateur"],
                        _fmt(r["indicateur"], r["valeur_avant"]),
                        _fmt(r["indicateur"], r["valeur"]),
                        ("+" if r["variation_relative"] > 0 else "")
                        + numbers.format_value(r["variation_relative"], PART),
                    ]
                    for r in top.iter_rows(named=True)
                ],
            )
    return "\n".join(lines) + "\n"
