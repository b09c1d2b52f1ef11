"""The published tables (the contract): built and checked from the layers below, no I/O."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import polars as pl

from observatory.publish.schemas import check_schema
from observatory.transforms.couverture import applique_regle_couverture
from observatory.transforms.territories import CODE_FRANCE, NIVEAUX

INDICATEURS_SCHEMA: dict[str, pl.DataType] = {
    "niveau": pl.String(),
    "code": pl.String(),
    "indicateur": pl.String(),
    "annee": pl.Int32(),
    "valeur": pl.Float64(),
    "ic_bas": pl.Float64(),
    "ic_haut": pl.Float64(),
    "secret": pl.Boolean(),
    "couverture": pl.Boolean(),
    "part_population_couverte": pl.Float64(),
}
INDICATEURS_CLE = ("niveau", "code", "indicateur", "annee")

# What a model may add to say what its sources counted at each vintage (not published as such)
DEFINITION = "definition"
# Published columns come from the Table Schemas in schemas/tables/ (an allow-list for `lieux`:
# no `courriels` or `telephone`, some being a named person's, until a person-like contact
# detector exists). These columns must never appear in a published table:
# Columns that name a person: never published. Structures' generic contacts (`courriels`,
# `telephone`) are, once personal e-mails and mobiles are removed before staging.
COLONNES_INTERDITES = ("courriel", "referent", "nom_referent", "prenom_referent")


class PublicationCheckError(RuntimeError):
    """A blocking check failed: nothing is published."""


def _niveau_order() -> pl.Expr:
    """Built-in levels from commune to France, then users' zonings (`zonage:<nom>`)."""
    return pl.col("niveau").replace_strict(
        {n: i for i, n in enumerate(NIVEAUX)}, default=len(NIVEAUX), return_dtype=pl.Int32
    )


def build_territoires(
    territoires: pl.DataFrame, columns: list[str], zonages: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The published `territoires`: one row per (niveau, code), users' zonings included."""
    if zonages is not None:
        territoires = pl.concat([territoires, zonages], how="diagonal_relaxed")
    return territoires.select(columns).sort(_niveau_order(), "niveau", "code")


def build_indicateurs(models: list[pl.DataFrame] | list[pl.LazyFrame]) -> pl.DataFrame:
    """The long table: every indicator model's rows, typed and sorted by key, as a series.

    A model may say what its sources counted at each vintage (`definition`); each row gets the
    previous vintage of the same indicator and territory, the change since it, and
    `rupture_definition` when the definitions of the two vintages differ (a change that is not
    comparable). The change is null when either value is (uncovered or secret).

    The models may be scanned: the table is then built in one query, each model read once.
    """
    frames = [
        applique_regle_couverture(
            m.lazy().with_columns(
                pl.lit(None, pl.String).alias(DEFINITION)
                if DEFINITION not in m.collect_schema().names()
                else [],
                pl.lit(None, pl.Boolean).alias("couverture"),
            )
        )
        .select(*INDICATEURS_SCHEMA, DEFINITION)
        .cast(INDICATEURS_SCHEMA | {DEFINITION: pl.String()})
        for m in models
    ]
    # sorted by key, a series is a run of rows: the previous vintage is the previous row when
    # it belongs to the same (niveau, code, indicateur) — much cheaper than windows over groups
    meme_serie = pl.all_horizontal(
        pl.col(c) == pl.col(c).shift(1) for c in ("niveau", "code", "indicateur")
    ).fill_null(False)

    def precedent(colonne: str) -> pl.Expr:
        return pl.when(meme_serie).then(pl.col(colonne).shift(1))

    return (
        pl.concat(frames)
        .sort(_niveau_order(), "niveau", "code", "indicateur", "annee")
        .with_columns(
            precedent("annee").alias("annee_precedente"),
            (pl.col("valeur") - precedent("valeur")).alias("evolution"),
            pl.when(meme_serie)
            .then(
                pl.col(DEFINITION).is_not_null()
                & precedent(DEFINITION).is_not_null()
                & (pl.col(DEFINITION) != precedent(DEFINITION))
            )
            .alias("rupture_definition"),
        )
        .drop(DEFINITION)
        .collect()
    )


def build_indicateurs_large(
    indicateurs: pl.DataFrame | pl.LazyFrame,
    territoires: pl.DataFrame,
    codes: list[str],
    entiers: Collection[str] = (),
) -> pl.DataFrame:
    """One row per territory, the latest value of each indicator (in `codes` order) as a column;
    the counts of things in `entiers` as integers (a fractional value there is an error).

    `indicateurs` may be scanned: only the five columns used are read (the long table has
    thirteen, 1.8 M rows nationally)."""
    latest = (
        indicateurs.lazy()
        .select("niveau", "code", "indicateur", "annee", "valeur")
        .filter(pl.col("annee") == pl.col("annee").max().over("niveau", "code", "indicateur"))
        .collect()
    )
    wide = latest.pivot(on="indicateur", index=["niveau", "code"], values="valeur")
    absent = [c for c in codes if c not in wide.columns]
    wide = wide.with_columns(pl.lit(None, pl.Float64).alias(c) for c in absent)
    fractional = [c for c in entiers if c in wide.columns and (wide[c] != wide[c].round()).any()]
    if fractional:
        raise PublicationCheckError(
            f"indicateurs_large: {fractional} are counts (integers) but have fractional values"
        )
    wide = wide.with_columns(pl.col(c).cast(pl.Int64) for c in entiers if c in wide.columns)
    base = territoires.select("niveau", "code", "nom", "population")
    return (
        base.join(wide, on=["niveau", "code"], how="left")
        .select("niveau", "code", "nom", "population", *codes)
        .sort(_niveau_order(), "niveau", "code")
    )


def build_lieux(lieux: pl.DataFrame, territoires: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Published places: resolved codes, territory codes, allow-listed columns only.

    Registries number their places independently (France Services `1627` may also be an id
    elsewhere): the published `id` is `<jeu_de_donnees>:<id>` of the place's main record,
    unique as the standard requires. A site a national list names by its département and name
    only (no address yet) is counted by the indicators but not listed here: the standard
    requires an address and a postal code.
    """
    communes = territoires.filter(pl.col("niveau") == "commune").select(
        pl.col("code").alias("code_commune"),
        "code_epci",
        "code_departement",
        "code_region",
        (pl.col("nom") if "nom" in territoires.columns else pl.lit(None, pl.String)).alias(
            "_nom_commune"
        ),
    )
    return (
        lieux.filter(pl.col("adresse").is_not_null(), pl.col("code_postal").is_not_null())
        .join(communes, on="code_commune", how="left")
        .with_columns(
            pl.col("code_commune").alias("code_insee"),
            pl.format("{}:{}", "jeu_de_donnees", "id").alias("id"),
            pl.coalesce("commune", "_nom_commune").alias("commune"),
        )
        .select(columns)
        .sort("code_insee", "id")
    )


def build_couverture_sources(
    couverture: pl.DataFrame | pl.LazyFrame, appartenances: pl.DataFrame | pl.LazyFrame
) -> pl.DataFrame:
    """Source × territory: covered when every commune is, with communes and rows counted.

    Streamed: the join (every source × commune × territory it belongs to, about 4 M rows
    nationally) is aggregated in batches instead of being held whole."""
    return (
        couverture.lazy()
        .join(appartenances.lazy(), on="code_commune")
        .group_by("source", "niveau", "code")
        .agg(
            pl.col("couvert").all().alias("couvert"),
            pl.len().cast(pl.Int64).alias("nb_communes"),
            pl.col("couvert").sum().cast(pl.Int64).alias("nb_communes_couvertes"),
            pl.col("nb_lignes").sum().cast(pl.Int64).alias("nb_lignes"),
            pl.col("annee").max().alias("annee"),
        )
        .sort("source", _niveau_order(), "niveau", "code")
        .collect(engine="streaming")
    )


def _duplicates(frame: pl.DataFrame, key: tuple[str, ...]) -> int:
    """Rows beyond the first of each key. Counted on one 64-bit hash of the key first (a
    national `indicateurs` has 1.7 M rows: the distinct keys themselves cost 0.4 GB more);
    only when the hashes collide or repeat are the keys compared exactly."""
    if frame.height - frame.select(pl.struct(key).hash(seed=0).n_unique()).item() == 0:
        return 0
    return frame.height - frame.select(key).unique().height


def check_tables(
    tables: dict[str, pl.DataFrame],
    schemas: dict[str, dict[str, Any]] | None = None,
    dictionary: dict[str, Any] | None = None,
) -> list[str]:
    """Blocking checks on what readers will see; an empty list means publishable."""
    errors: list[str] = []
    schemas = schemas or {}
    leaks: list[str] = []
    # each table read once for its schema and its columns (`TablesOnDemand` keeps one)
    for name in [*schemas, *(n for n in tables if n not in schemas)]:
        frame = tables[name]
        if name in schemas:
            errors += check_schema(frame, schemas[name])
        if leaked := [c for c in COLONNES_INTERDITES if c in frame.columns]:
            leaks.append(f"{name}: personal columns {leaked} must not be published")
    territoires = tables["territoires"]
    indicateurs = tables["indicateurs"]
    if n := _duplicates(territoires, ("niveau", "code")):
        errors.append(f"territoires: {n} duplicate (niveau, code) keys")
    communes = territoires.filter(pl.col("niveau") == "commune")
    france = territoires.filter((pl.col("niveau") == "france") & (pl.col("code") == CODE_FRANCE))
    if france.height != 1 or france["population"][0] != communes["population"].sum():
        errors.append("territoires: FR population is not the sum over communes")
    if n := _duplicates(indicateurs, INDICATEURS_CLE):
        errors.append(f"indicateurs: {n} duplicate (niveau, code, indicateur, annee) keys")
    for column in INDICATEURS_CLE:
        if n := indicateurs[column].null_count():
            errors.append(f"indicateurs: {n} null {column}")
    unknown = indicateurs.join(territoires, on=["niveau", "code"], how="anti")
    if unknown.height:
        errors.append(f"indicateurs: {unknown.height} rows on territories absent from territoires")
    if dictionary is not None:
        undocumented = set(indicateurs["indicateur"].unique()) - set(dictionary)
        if undocumented:
            errors.append(f"indicateurs: codes without a dictionary entry: {sorted(undocumented)}")
    uncovered = indicateurs.filter(~pl.col("couverture") & pl.col("valeur").is_not_null())
    if uncovered.height:
        errors.append(f"indicateurs: {uncovered.height} values on territories not covered")
    return errors + leaks
