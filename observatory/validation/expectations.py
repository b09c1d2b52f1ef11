"""Rules written once, in the Table Schemas; run as great-expectations suites and polars rules.

A Table Schema (`schemas/tables/*.json`, `schemas/sources/*.json`) declares the rules:

- field `constraints`: `required`, `unique`, `pattern` (anchored, as in Frictionless), `enum`,
  `minimum`/`maximum`, `minLength`/`maxLength`;
- `primaryKey`: unique, every part required;
- `x-lignes: {min, max}`: bounds on the number of rows (a table-level rule only);
- `x-point-en-france: {latitude, longitude}`: the point lies in one of the boxes of
  `observatory.geo.EMPRISES_FRANCE` (metropolitan France with Corsica,
  Guadeloupe, Martinique, Guyane, La Réunion, Mayotte), the boxes the staging of places uses;
- `x-contraintes-conditionnelles: [{si: {champ, egal | pattern}, champs, constraints}]`: field
  constraints that hold on the rows matching a condition (the code pattern of each `niveau`,
  rates of `part_*` indicators in [0, 1]);
- field `x-codes-raison: {constraint: code}`: the quarantine reason code of a constraint when
  the generic one (`CODES_RAISON`) is not the field's usual one.

`regles(schema)` reads them into `Regle`s; from those come (1) a great-expectations suite
(`suite_attentes`), run on a whole table by `valider_table` (great-expectations has no polars
support: the frame goes to pandas; it is imported lazily, once per process, with one
ephemeral context), and (2) polars row rules (`checks_lignes`, quarantine `Check`s). No rule is
written twice. The pipeline's checks evaluate the same suite with `moteur_polars`, which
reports what `valider_table` reports without importing great-expectations; `valider_table`
is the reference it is tested against.

For a large table (`LIGNES_FILS` rows), the pandas copy and the suite run in a forked child
process (`en_processus_fils`) where `fork` exists: the child inherits the imported
great-expectations and the table's Arrow buffers without copying them, and everything the
validation allocates goes back to the system when it exits. Run in the pipeline's own process,
the allocators kept that memory: about 0.6 GB of a national run's peak (bench/RESULTS.md).
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import select
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any, TypeVar

import polars as pl
import polars.selectors as cs
import pyarrow as pa

from observatory.geo import in_france
from observatory.settings import (
    CODES_SYNTHETIQUES,
    COPIES_SYNTHETIQUES_MAX,
    SUFFIXE_SYNTHETIQUE,
)
from observatory.validation.quarantine import REJET, VALEUR_ECARTEE, Check

T = TypeVar("T")
# Tables of at least this many rows are validated in a forked child (`en_processus_fils`),
# which gets this long to answer (a national 10× table takes about a minute).
LIGNES_FILS = 100_000
DELAI_FILS_S = 1800.0
LIGNES = "x-lignes"
POINT_EN_FRANCE = "x-point-en-france"
CONDITIONNELLES = "x-contraintes-conditionnelles"
CODES_RAISON_CHAMP = "x-codes-raison"
COLONNE_POINT = "__point_en_france"  # computed column the suite checks for `x-point-en-france`
NB_EXEMPLES = 10

# Generic quarantine reason code of each constraint (a field may override: `x-codes-raison`).
CODES_RAISON = {
    "required": "obligatoire_manquant",
    "unique": "valeur_dupliquee",
    "primaryKey": "cle_dupliquee",
    "pattern": "format_invalide",
    "enum": "hors_vocabulaire",
    "minimum": "hors_intervalle",
    "maximum": "hors_intervalle",
    "minLength": "longueur_invalide",
    "maxLength": "longueur_invalide",
    "point": "hors_france",
}
# What quarantine does with a failing value: rows without an identity or a key are rejected,
# a value out of format, vocabulary or range is set aside and the row kept.
ACTIONS = {"required": REJET, "unique": REJET, "primaryKey": REJET, "point": VALEUR_ECARTEE}


@dataclass(frozen=True)
class Regle:
    """One declared constraint, enough to build its GE expectation and its polars rule.

    `sorte` is the constraint (`required`, `pattern`, …, `colonnes`, `lignes`, `point`,
    `primaryKey`); `valeur` its argument; `condition` (field, `egal` value or `pattern`) limits
    it to matching rows. Table-level rules (`colonnes`, `lignes`) have no row rule.
    """

    sorte: str
    colonnes: tuple[str, ...]
    valeur: Any = None
    condition: tuple[str, str, str] | None = None  # (champ, "egal" | "pattern", valeur)
    code_raison: str | None = None

    @property
    def colonne(self) -> str:
        return ",".join(self.colonnes)

    @property
    def par_ligne(self) -> bool:
        return self.sorte not in {"colonnes", "lignes"}


def ancre(pattern: str) -> str:
    """A Table Schema pattern matches the whole value (Frictionless anchors it).

    With the benchmark's synthetic codes enabled (`settings.CODES_SYNTHETIQUES`), a value
    may end with their suffix `S1`…`S9`.
    """
    if CODES_SYNTHETIQUES:
        return f"^(?:{pattern})(?:{SUFFIXE_SYNTHETIQUE})?$"
    return f"^(?:{pattern})$"


def _contraintes(
    colonne: str,
    constraints: Mapping[str, Any],
    codes: Mapping[str, str],
    condition: tuple[str, str, str] | None = None,
) -> list[Regle]:
    regles = []
    for sorte in ("required", "unique", "pattern", "enum"):
        if constraints.get(sorte) not in (None, False):
            valeur = constraints[sorte] if sorte in ("pattern", "enum") else None
            regles.append(Regle(sorte, (colonne,), valeur, condition, codes.get(sorte)))
    for bas, haut in (("minimum", "maximum"), ("minLength", "maxLength")):
        if bas in constraints or haut in constraints:
            bornes = (constraints.get(bas), constraints.get(haut))
            code = codes.get(bas) or codes.get(haut)
            regles.append(Regle(bas, (colonne,), bornes, condition, code))
    return regles


def regles(schema: Mapping[str, Any], colonnes_exactes: bool = True) -> list[Regle]:
    """Every rule a Table Schema declares, in a stable order.

    `colonnes_exactes`: the frame has exactly the schema's columns in order (published tables);
    otherwise it must only contain them (staged frames carry their row identity too).
    """
    names = tuple(f["name"] for f in schema["fields"])
    out = [Regle("colonnes", names, colonnes_exactes)]
    if LIGNES in schema:
        bornes = schema[LIGNES]
        haut = bornes.get("max")
        if CODES_SYNTHETIQUES and haut is not None:
            haut *= COPIES_SYNTHETIQUES_MAX  # every territory copied up to ten times
        out.append(Regle("lignes", (), (bornes.get("min"), haut)))
    key = tuple(schema.get("primaryKey") or ())
    if isinstance(schema.get("primaryKey"), str):
        key = (schema["primaryKey"],)
    if len(key) > 1:
        out.append(Regle("primaryKey", key))
    for f in schema["fields"]:
        constraints = dict(f.get("constraints", {}))
        if f["name"] in key:
            constraints["required"] = True
            if len(key) == 1:
                constraints["unique"] = True
        out += _contraintes(f["name"], constraints, f.get(CODES_RAISON_CHAMP, {}))
    for rule in schema.get(CONDITIONNELLES, []):
        si = rule["si"]
        mode = "egal" if "egal" in si else "pattern"
        condition = (si["champ"], mode, si[mode])
        for colonne in rule["champs"]:
            out += _contraintes(colonne, rule["constraints"], {}, condition)
    if POINT_EN_FRANCE in schema:
        point = schema[POINT_EN_FRANCE]
        out.append(Regle("point", (point["latitude"], point["longitude"])))
    return out


# ---------------------------------------------------------------- polars row rules


def _condition(condition: tuple[str, str, str] | None) -> pl.Expr:
    if condition is None:
        return pl.lit(True)
    champ, mode, valeur = condition
    if mode == "egal":
        return pl.col(champ) == valeur
    return pl.col(champ).cast(pl.String).str.contains(ancre(valeur))


def motif_par_valeur(frame: pl.DataFrame, colonne: str, motif: str) -> pl.Expr:
    """`colonne` matches the anchored `motif`, the regex run once per distinct value.

    A whole table's check: `indicateur` has 52 values over 1.8 M rows, `code` 38 k.
    """
    valeurs = frame.get_column(colonne).cast(pl.String).unique().drop_nulls()
    retenues = valeurs.filter(valeurs.str.contains(ancre(motif)))
    return pl.col(colonne).cast(pl.String).is_in(retenues.implode())


def _condition_sur(frame: pl.DataFrame, condition: tuple[str, str, str]) -> pl.Expr:
    champ, mode, valeur = condition
    return motif_par_valeur(frame, champ, valeur) if mode == "pattern" else _condition(condition)


def expression_echec(regle: Regle, condition: pl.Expr | None = None) -> pl.Expr:
    """True on the rows that break `regle` (null when it does not apply: read as false).

    `condition` replaces the rule's own condition (`_condition_sur`, for a whole table).
    """
    col = pl.col(regle.colonnes[0])
    match regle.sorte:
        case "required":
            failed = col.is_null()
        case "unique":
            failed = col.is_not_null() & ~col.is_first_distinct()
        case "primaryKey":
            failed = ~pl.struct(regle.colonnes).is_first_distinct()
        case "pattern":
            failed = ~col.cast(pl.String).str.contains(ancre(regle.valeur))
        case "enum":
            failed = ~col.is_in(list(regle.valeur))
        case "minimum" | "minLength":
            values = col.str.len_chars() if regle.sorte == "minLength" else col
            low, high = regle.valeur
            failed = pl.lit(False)
            if low is not None:
                failed = failed | (values < low)
            if high is not None:
                failed = failed | (values > high)
        case "point":
            lat, lon = (pl.col(c) for c in regle.colonnes)
            failed = lat.is_not_null() & lon.is_not_null() & ~in_france(lat, lon)
        case _:
            raise ValueError(f"no row rule for {regle.sorte}")
    return (_condition(regle.condition) if condition is None else condition) & failed


def code_raison(regle: Regle) -> str:
    if regle.code_raison:
        return regle.code_raison
    if regle.sorte == "minLength" and regle.valeur[0] is None:
        return "texte_trop_long"
    return CODES_RAISON[regle.sorte]


def checks_lignes(schema: Mapping[str, Any], colonnes_exactes: bool = True) -> list[Check]:
    """The schema's row rules as quarantine checks (`run_checks`), one per constraint."""
    checks = []
    for regle in regles(schema, colonnes_exactes):
        if not regle.par_ligne:
            continue
        valeur = None
        if len(regle.colonnes) > 1:
            valeur = pl.concat_str(
                [pl.col(c).cast(pl.String) for c in regle.colonnes], separator="|"
            )
        checks.append(
            Check(
                regle.colonne,
                code_raison(regle),
                expression_echec(regle),
                ACTIONS.get(regle.sorte, VALEUR_ECARTEE),
                valeur,
            )
        )
    return checks


_ECHECS = {"ligne": pl.Int64, "colonne": pl.String, "code_raison": pl.String, "valeur": pl.String}


def lignes_en_echec(frame: pl.DataFrame, schema: Mapping[str, Any]) -> pl.DataFrame:
    """Every (row, rule) that fails, for frames without the quarantine identity columns.

    Columns: `ligne` (0-based row index), `colonne`, `code_raison`, `valeur`.
    """
    indexed = frame.with_row_index("__ligne")
    parts = [
        indexed.filter(check.failed.fill_null(False)).select(
            pl.col("__ligne").cast(pl.Int64).alias("ligne"),
            pl.lit(check.colonne).alias("colonne"),
            pl.lit(check.code_raison).alias("code_raison"),
            (check.valeur if check.valeur is not None else pl.col(check.colonne))
            .cast(pl.String)
            .alias("valeur"),
        )
        for check in checks_lignes(schema)
        if all(c in frame.columns for c in check.colonne.split(","))
    ]
    return pl.concat([pl.DataFrame(schema=_ECHECS), *parts])


# ---------------------------------------------------------------- great-expectations


_VERROU = threading.Lock()


@cache
def _gx() -> tuple[Any, Any, Any]:
    """great_expectations, its expectations module and one ephemeral context (once per process).

    Importing great-expectations costs seconds: only validation pays it, never an import of
    the pipeline's modules.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return gx, gxe, context


@contextmanager
def _sans_avertissement_condition() -> Iterator[None]:
    """Silence GE's deprecation of pandas row conditions, used on purpose (`_row_condition`)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*row_condition")
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*condition_parser")
        # The standard's patterns have groups; GE's pandas regex test warns about them.
        warnings.filterwarnings("ignore", category=UserWarning, message=".*has match groups")
        yield


def _row_condition(condition: tuple[str, str, str] | None) -> dict[str, Any]:
    """GE's row condition: a `Column` comparison, or (for a pattern) a pandas query string.

    GE's `Column` conditions have no regex test; the pandas string form they deprecate is the
    only way to apply a rule to the rows whose field matches a pattern.
    """
    if condition is None:
        return {}
    champ, mode, valeur = condition
    if mode == "egal":
        from great_expectations.expectations.row_conditions import Column

        return {"row_condition": Column(champ) == valeur}
    expression = f"{champ}.str.contains({ancre(valeur)!r}, na=False)"
    return {"row_condition": expression, "condition_parser": "pandas"}


def attente(regle: Regle, gxe: Any) -> Any:
    """The great-expectations expectation of a rule."""
    colonne = regle.colonnes[0] if regle.colonnes else None
    cond = _row_condition(regle.condition)
    match regle.sorte:
        case "colonnes":
            if regle.valeur:
                return gxe.ExpectTableColumnsToMatchOrderedList(column_list=list(regle.colonnes))
            return gxe.ExpectTableColumnsToMatchSet(
                column_set=list(regle.colonnes), exact_match=False
            )
        case "lignes":
            low, high = regle.valeur
            return gxe.ExpectTableRowCountToBeBetween(min_value=low, max_value=high)
        case "primaryKey":
            return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(regle.colonnes))
        case "required":
            return gxe.ExpectColumnValuesToNotBeNull(column=colonne, **cond)
        case "unique":
            return gxe.ExpectColumnValuesToBeUnique(column=colonne, **cond)
        case "pattern":
            return gxe.ExpectColumnValuesToMatchRegex(
                column=colonne, regex=ancre(regle.valeur), **cond
            )
        case "enum":
            return gxe.ExpectColumnValuesToBeInSet(
                column=colonne, value_set=list(regle.valeur), **cond
            )
        case "minimum":
            low, high = regle.valeur
            return gxe.ExpectColumnValuesToBeBetween(
                column=colonne, min_value=low, max_value=high, **cond
            )
        case "minLength":
            low, high = regle.valeur
            return gxe.ExpectColumnValueLengthsToBeBetween(
                column=colonne, min_value=low, max_value=high, **cond
            )
        case "point":
            return gxe.ExpectColumnValuesToBeInSet(column=COLONNE_POINT, value_set=[True])
    raise ValueError(f"no expectation for {regle.sorte}")


def regles_suite(
    schema: Mapping[str, Any], colonnes_exactes: bool = True, conditionnelles: bool = True
) -> list[Regle]:
    """The rules of the suite: the schema's, the columns' rule naming the computed column
    `COLONNE_POINT` that validated frames carry when the schema has `x-point-en-france`."""
    rules = [r for r in regles(schema, colonnes_exactes) if conditionnelles or not r.condition]
    if any(r.sorte == "point" for r in rules):
        rules = [
            Regle(r.sorte, (*r.colonnes, COLONNE_POINT), r.valeur) if r.sorte == "colonnes" else r
            for r in rules
        ]
    return rules


def suite_attentes(
    schema: Mapping[str, Any],
    colonnes_exactes: bool = True,
    nom: str | None = None,
    conditionnelles: bool = True,
) -> Any:
    """The great-expectations suite generated from a Table Schema (imports GE on first use).

    `conditionnelles=False` leaves out the rules limited to some rows (GE evaluates their
    row condition through a slow pandas query; `valider_table` runs them in polars).
    """
    gx, gxe, _ = _gx()
    rules = regles_suite(schema, colonnes_exactes, conditionnelles)
    with _sans_avertissement_condition():
        expectations = [attente(r, gxe) for r in rules]
    return gx.ExpectationSuite(
        name=nom or f"{schema['name']}.contraintes", expectations=expectations
    )


@dataclass(frozen=True)
class AttenteEchouee:
    """A failed expectation: what was expected, how many values broke it, a few of them."""

    attente: str
    colonne: str | None
    parametres: dict[str, Any]
    nb_inattendus: int | None
    exemples: list[Any]
    valeur_observee: Any = None
    erreur: str | None = None

    def texte(self) -> str:
        where = f"{self.colonne}: " if self.colonne else ""
        what = f"{self.nb_inattendus} valeurs" if self.nb_inattendus is not None else ""
        seen = f"observé {self.valeur_observee}" if self.valeur_observee is not None else ""
        examples = f"exemples {self.exemples}" if self.exemples else ""
        detail = ", ".join(p for p in (what, seen, examples, self.erreur or "") if p)
        return f"{where}{self.attente} ({detail})"


@dataclass(frozen=True)
class ResultatValidation:
    """The outcome of a table's suite: passed or not, and every failed expectation."""

    table: str
    succes: bool
    nb_attentes: int
    nb_lignes: int
    echecs: tuple[AttenteEchouee, ...] = field(default_factory=tuple)

    def metadata(self) -> dict[str, Any]:
        """JSON-safe summary for Dagster metadata and logs."""
        return {
            "table": self.table,
            "succes": self.succes,
            "nb_attentes": self.nb_attentes,
            "nb_echecs": len(self.echecs),
            "nb_lignes": self.nb_lignes,
            "attentes_echouees": [
                {
                    "attente": e.attente,
                    "colonne": e.colonne,
                    "parametres": e.parametres,
                    "nb_inattendus": e.nb_inattendus,
                    "exemples": e.exemples,
                    "valeur_observee": e.valeur_observee,
                    "erreur": e.erreur,
                }
                for e in self.echecs
            ],
        }

    def textes(self) -> list[str]:
        return [f"{self.table}: {e.texte()}" for e in self.echecs]


def _json(value: Any) -> Any:
    """NaN → None, numpy scalars → Python, containers recursively (for metadata)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            return _json(value.item())
        except (TypeError, ValueError):
            return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _echec(result: Any) -> AttenteEchouee:
    config = result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k not in {"batch_id"}}
    colonne = kwargs.pop("column", None)
    if "column_list" in kwargs and config.type == "expect_compound_columns_to_be_unique":
        colonne = ",".join(kwargs.pop("column_list"))
    details = result.result or {}
    exception = result.exception_info or {}
    erreur = exception.get("exception_message") if exception.get("raised_exception") else None
    return AttenteEchouee(
        attente=config.type,
        colonne=colonne,
        parametres=_json(kwargs),
        nb_inattendus=_json(details.get("unexpected_count")),
        exemples=_json(list(details.get("partial_unexpected_list") or [])[:NB_EXEMPLES]),
        valeur_observee=_json(details.get("observed_value")),
        erreur=erreur,
    )


def _colonnes_calculees(frame: pl.DataFrame, schema: Mapping[str, Any]) -> pl.DataFrame:
    """Columns some expectations read: the box test of `x-point-en-france`."""
    point = schema.get(POINT_EN_FRANCE)
    if not point or not {point["latitude"], point["longitude"]} <= set(frame.columns):
        return frame
    lat, lon = pl.col(point["latitude"]), pl.col(point["longitude"])
    inside = pl.when(lat.is_null() | lon.is_null()).then(None).otherwise(in_france(lat, lon))
    return frame.with_columns(inside.alias(COLONNE_POINT))


def valider_table(
    frame: pl.DataFrame,
    schema: Mapping[str, Any],
    colonnes_exactes: bool = True,
    nom: str | None = None,
) -> ResultatValidation:
    """Run the schema's suite on a whole table (a table-level check, not quarantine).

    `nom` names the table in results (default: the schema's name; e.g. a staged asset checked
    against a source schema).
    """
    _, _, context = _gx()  # imported here, before the fork: a child never imports it again
    table = nom or schema["name"]
    suite = suite_attentes(
        schema, colonnes_exactes, nom=f"{table}.contraintes", conditionnelles=False
    )
    polars_echecs = _echecs_conditionnels(frame, schema, colonnes_exactes)
    # 64-bit numbers: GE compares bounds vectorised only on int64/float64 columns, row by row
    # in Python otherwise (1.7 M calls for an Int32 `annee`)
    donnees = (
        _colonnes_calculees(frame, schema)
        .with_columns(cs.integer().cast(pl.Int64), cs.float().cast(pl.Float64))
        .to_arrow()
    )
    calcul = partial(_echecs_ge, context, table, suite, donnees)
    # a fork costs a copy of the page tables and the child's copy-on-write faults: worth it
    # only when the pandas copy is big enough for the allocators to keep it
    echecs_ge = en_processus_fils(calcul, table) if frame.height >= LIGNES_FILS else calcul()
    echecs = (*echecs_ge, *polars_echecs[1])
    nb_attentes = len(suite.expectations) + polars_echecs[0]
    return ResultatValidation(table, not echecs, nb_attentes, frame.height, echecs)


def _echecs_ge(
    context: Any, table: str, suite: Any, donnees: pa.Table
) -> tuple[AttenteEchouee, ...]:
    """The failed expectations of the GE suite on a pandas copy of `donnees`."""
    # no Arrow threads: a forked child has none of its parent's thread pools
    pandas_frame = donnees.to_pandas(date_as_object=False, use_threads=False)
    with _VERROU:  # the context's sources are shared by the process
        name = f"observatoire__{table}"
        with contextlib.suppress(KeyError, LookupError, ValueError):
            context.data_sources.delete(name)  # left by a failed validation
        asset = context.data_sources.add_pandas(name).add_dataframe_asset(table)
        definition = asset.add_batch_definition_whole_dataframe("tout")
        try:
            batch = definition.get_batch(batch_parameters={"dataframe": pandas_frame})
            with _sans_avertissement_condition():
                outcome = batch.validate(suite, result_format=_FORMAT)
        finally:
            # the source's execution engine keeps the pandas copy of every batch it validated
            context.data_sources.delete(name)
    return tuple(_echec(r) for r in outcome.results if not r.success)


class ValidationInterrompue(RuntimeError):
    """The child process of a validation died or failed; the message names the table."""


def en_processus_fils(calcul: Callable[[], T], table: str) -> T:
    """`calcul()` in a forked child, its result sent back pickled; in this process where the
    system has no `fork`.

    The child only runs Python, pyarrow without threads, pandas and great-expectations (never
    polars, whose thread pool stays in the parent). An exception in the child is raised here
    as `ValidationInterrompue` with its type and message; a child killed by a signal too, and
    one with no answer after `DELAI_FILS_S` seconds is killed.
    """
    if not hasattr(os, "fork"):
        return calcul()
    lecture, ecriture = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns, never runs the parent's exit handlers
        try:
            os.close(lecture)
            try:
                message = pickle.dumps((True, calcul()))
            except BaseException as error:  # everything goes back to the parent
                message = pickle.dumps((False, f"{type(error).__name__}: {error}"))
            with os.fdopen(ecriture, "wb") as sortie:
                sortie.write(message)
        finally:
            os._exit(0)
    os.close(ecriture)
    morceaux: list[bytes] = []
    limite = time.monotonic() + DELAI_FILS_S
    with os.fdopen(lecture, "rb", buffering=0) as entree:
        while True:
            reste = limite - time.monotonic()
            if reste <= 0 or not select.select([entree], [], [], reste)[0]:
                # a child that hangs must not hang an unattended run: killed, and said
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise ValidationInterrompue(
                    f"{table}: no result from the validation process after {DELAI_FILS_S} s"
                )
            morceau = entree.read(1 << 20)
            if not morceau:
                break
            morceaux.append(morceau)
    message = b"".join(morceaux)
    _, statut = os.waitpid(pid, 0)
    if not message:
        raise ValidationInterrompue(
            f"{table}: the validation process ended without a result (wait status {statut})"
        )
    reussi, valeur = pickle.loads(message)  # our own child's bytes
    if not reussi:
        raise ValidationInterrompue(f"{table}: {valeur}")
    return valeur


# The great-expectations expectation type of each rule (`attente` builds it; the conditional
# rules evaluated in polars and the polars engine name their results with it).
TYPES_ATTENTES = {
    "lignes": "expect_table_row_count_to_be_between",
    "primaryKey": "expect_compound_columns_to_be_unique",
    "required": "expect_column_values_to_not_be_null",
    "unique": "expect_column_values_to_be_unique",
    "pattern": "expect_column_values_to_match_regex",
    "enum": "expect_column_values_to_be_in_set",
    "minimum": "expect_column_values_to_be_between",
    "minLength": "expect_column_value_lengths_to_be_between",
    "point": "expect_column_values_to_be_in_set",
}


def _echecs_conditionnels(
    frame: pl.DataFrame, schema: Mapping[str, Any], colonnes_exactes: bool
) -> tuple[int, list[AttenteEchouee]]:
    """The rules limited to some rows (`x-contraintes-conditionnelles`), evaluated in polars:
    the same rule objects as the GE suite, so nothing is declared twice."""
    rules = [r for r in regles(schema, colonnes_exactes) if r.condition and r.par_ligne]
    rules = [r for r in rules if set(r.colonnes) | {r.condition[0]} <= set(frame.columns)]
    # every rule counted in one pass (polars runs the expressions in parallel); the rows of
    # the rules that fail are read afterwards
    conditions = {r.condition: _condition_sur(frame, r.condition) for r in rules}
    echecs_regles = [expression_echec(r, conditions[r.condition]).fill_null(False) for r in rules]
    comptes = (
        frame.select(e.sum().alias(str(i)) for i, e in enumerate(echecs_regles)).row(0)
        if rules
        else ()
    )
    echecs = []
    for regle, echec, compte in zip(rules, echecs_regles, comptes, strict=True):
        if compte:
            failed = frame.filter(echec)
            echecs.append(
                AttenteEchouee(
                    attente=TYPES_ATTENTES.get(regle.sorte, regle.sorte),
                    colonne=regle.colonne,
                    parametres=_json({"valeur": regle.valeur, "si": regle.condition}),
                    nb_inattendus=failed.height,
                    exemples=_json(failed[regle.colonnes[0]].head(NB_EXEMPLES).to_list()),
                )
            )
    return len(rules), echecs


_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": NB_EXEMPLES}
