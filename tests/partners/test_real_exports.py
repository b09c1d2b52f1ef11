"""The real raw exports of partners' places, dropped in the inbox as they are: every row is
staged in La Mednum's standard v1 or quarantined, the counts adding up exactly."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from observatory.partners.inbox import RECU, land_inbox
from observatory.partners.mappings import load_mappings
from observatory.partners.reading import read_partner
from observatory.settings import PROJECT_ROOT, Settings
from observatory.sources.mednum import Standard
from tests.conftest import report

REAL = PROJECT_ROOT / "tests/fixtures/partners/real"
RECEPTION = datetime(2024, 4, 3, 12, 0, tzinfo=UTC)
# file, partner, rows in the file, rows kept, rejected rows by reason
EXPORTS = [
    (
        "raw_hub_hubik_gironde_33_2020.csv",
        "departement_gironde",
        219,
        210,
        {"obligatoire_manquant": 9},  # no postal code in the address
    ),
    ("raw_partner_gironde_33.json", "departement_gironde", 347, 321, {"obligatoire_manquant": 26}),
    (
        "raw_hub_hubik_pyrenees_atlantiques_64_2020.csv",
        "hubik_pyrenees_atlantiques",
        142,
        90,
        {"obligatoire_manquant": 52},  # no address
    ),
    (
        "raw_partner_bus_france_services_charente_16.json",
        "bus_france_services_charente",
        12,
        12,
        {},
    ),
]


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("fichier", "partenaire", "rows_in", "kept", "rejets"), EXPORTS, ids=[e[0] for e in EXPORTS]
)
def test_real_export_dropped_in_inbox_is_fully_accounted(
    tmp_path: Path, standard: Standard, fichier, partenaire, rows_in, kept, rejets
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    inbox = settings.data_dir / "inbox" / partenaire
    inbox.mkdir(parents=True)
    shutil.copyfile(REAL / fichier, inbox / fichier)
    (outcome,) = land_inbox(settings, partenaire, now=RECEPTION)
    assert outcome.statut == RECU
    mapping = load_mappings(PROJECT_ROOT / "schemas/partners")[partenaire]
    read = read_partner(
        outcome.raw.path.read_bytes(),
        fichier,
        mapping,
        sha256=outcome.raw.sha256,
        standard=standard,
        date_reception=RECEPTION.date(),
    )
    rejected = read.quarantine.filter(pl.col("action") == "rejet")
    assert read.lignes_entree == rows_in == read.kept.height + rejected["ligne"].n_unique()
    assert read.kept.height == kept
    assert dict(rejected.group_by("code_raison").len().iter_rows()) == rejets
    assert read.kept.columns[4:-1] == list(standard.columns)
    assert read.kept["id"].is_unique().all() and read.kept["date_maj"].null_count() == 0
    assert (read.kept["sha256_origine"] == outcome.raw.sha256).all()
    report(
        f"partner export {fichier}: {rows_in} rows = {read.kept.height} staged + "
        f"{rejected['ligne'].n_unique()} quarantined ({read.quarantine.height} quarantine entries)"
    )


@pytest.mark.real_data
def test_real_values_are_read_as_written(standard: Standard) -> None:
    mappings = load_mappings(PROJECT_ROOT / "schemas/partners")
    gironde = read_partner(
        (REAL / "raw_hub_hubik_gironde_33_2020.csv").read_bytes(),
        "raw_hub_hubik_gironde_33_2020.csv",
        mappings["departement_gironde"],
        standard=standard,
    )
    assert gironde.format.separateur == ";" and gironde.format.decimale == ","
    acifop = gironde.kept.row(0, named=True)
    assert (acifop["nom"], acifop["code_postal"], acifop["adresse"]) == (
        "ACIFOP",
        "33500",
        "7 Bis rue Max Linder",
    )
    assert (acifop["latitude"], acifop["longitude"]) == (44.93815, -0.235791)
    assert acifop["date_maj"] == date(2019, 11, 18)
    assert acifop["services"] == "Maîtrise des outils numériques du quotidien"
    pa = read_partner(
        (REAL / "raw_hub_hubik_pyrenees_atlantiques_64_2020.csv").read_bytes(),
        "pa.csv",
        mappings["hubik_pyrenees_atlantiques"],
        standard=standard,
    )
    assert pa.format.ligne_entete == 1  # the "Modalités d'accompagnement" line above the header
    bus = read_partner(
        (REAL / "raw_partner_bus_france_services_charente_16.json").read_bytes(),
        "bus.json",
        mappings["bus_france_services_charente"],
        standard=standard,
    )
    first = bus.kept.row(0, named=True)
    # the bus's number, stored as a number (33630392518), is read as +33 6 30 39 25 18: a
    # mobile, so taken out before staging (issue 16: a structure's mobile is a person's line)
    assert (first["pivot"], first["code_insee"], first["telephone"]) == (
        "40109226700020",
        "16317",
        None,
    )
    mobile = bus.quarantine.filter(
        (pl.col("ligne") == first["ligne"]) & (pl.col("code_raison") == "telephone_mobile")
    )
    assert mobile.select("colonne", "valeur_brute", "action").rows() == [
        ("telephone", "06 ** ** ** 18", "valeur_ecartee")
    ]
    assert bus.kept["itinerance"].unique().to_list() == ["Itinérant"]


# file, partner, personal values taken out before staging, by reason
PERSONNELLES = [
    (
        "raw_hub_hubik_gironde_33_2020.csv",
        "departement_gironde",
        {"courriel_personnel": 10, "telephone_mobile": 12},
    ),
    (
        "raw_partner_gironde_33.json",
        "departement_gironde",
        {"courriel_personnel": 24, "telephone_mobile": 43},
    ),
    (
        "raw_hub_hubik_pyrenees_atlantiques_64_2020.csv",
        "hubik_pyrenees_atlantiques",
        {"courriel_personnel": 1, "telephone_mobile": 26},
    ),
    # the bus's own number is a mobile: a person's line (see `partners.reading`)
    (
        "raw_partner_bus_france_services_charente_16.json",
        "bus_france_services_charente",
        {"telephone_mobile": 12},
    ),
]


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("fichier", "partenaire", "retirees"), PERSONNELLES, ids=[e[0] for e in PERSONNELLES]
)
def test_real_places_lose_their_personal_data_before_staging(
    standard: Standard, fichier: str, partenaire: str, retirees: dict[str, int]
) -> None:
    """Issue 16: partner places went to staging unfiltered, and the publication's blocking
    check found the real exports' e-mails and mobiles. The registries' filter now runs on
    them: the staged rows pass the same scan, every value taken out counted and masked."""
    from observatory.sources.readers import prenoms
    from observatory.transforms.personal_data import scan_personal_data

    mapping = load_mappings(PROJECT_ROOT / "schemas/partners")[partenaire]
    read = read_partner((REAL / fichier).read_bytes(), fichier, mapping, standard=standard)
    assert scan_personal_data(read.kept, prenoms()).is_empty()
    personnelles = read.quarantine.filter(
        pl.col("code_raison").is_in(["courriel_personnel", "telephone_mobile"])
    )
    assert dict(personnelles.group_by("code_raison").len().iter_rows()) == retirees
    assert (personnelles["action"] == "valeur_ecartee").all()
    assert personnelles["valeur_brute"].str.contains(r"\*\*\*|\*\* \*\*").all()  # masked


@pytest.mark.real_data
def test_the_report_of_a_real_export_counts_the_places_the_commune_step_rejects(
    tmp_path: Path, standard: Standard, communes, communes_deleguees, coordonnees
) -> None:
    """Places kept at staging but whose commune the resolution cannot find (or finds too far)
    are not in the release: the producer's report says so, never "reprises" for them."""
    import html
    import re

    from observatory.partners.inbox import landed_partner_files
    from observatory.partners.staging import complete_reports, land_partner, stage_partner
    from observatory.transforms.lieux import resolve_communes

    partenaire, fichier = "departement_gironde", "raw_partner_gironde_33.json"
    settings = Settings(data_dir=tmp_path / "data")
    inbox = settings.data_dir / "inbox" / partenaire
    inbox.mkdir(parents=True)
    shutil.copyfile(REAL / fichier, inbox / fichier)
    mapping = load_mappings(PROJECT_ROOT / "schemas/partners")[partenaire]
    land_partner(settings, mapping)
    staged = stage_partner(settings, mapping, standard=standard)
    kept, quarantine = resolve_communes(staged.kept, communes, communes_deleguees, coordonnees)
    plus_tard = quarantine.filter(pl.col("action") == "rejet")["ligne"].n_unique()
    assert plus_tard > 0
    page = settings.data_dir / "retours" / partenaire / f"{fichier}.retour.html"
    comptes = re.compile(r"(\d+) lignes lues : (\d+) reprises, (\d+) écartées")

    def lus() -> tuple[int, ...]:
        found = comptes.search(html.unescape(page.read_text(encoding="utf-8")))
        assert found is not None
        return tuple(map(int, found.groups()))

    staged_page = page.read_text(encoding="utf-8")
    assert lus() == (347, 321, 26)
    assert complete_reports(settings, [partenaire], quarantine) == [str(page)]
    assert lus() == (347, kept.height, 26 + plus_tard) and kept.height == 321 - plus_tard
    entries = pl.read_csv(
        page.with_name(f"{fichier}.retour.csv"), separator=";", infer_schema=False
    )
    assert set(quarantine["code_raison"]) <= set(entries["code_raison"])
    assert entries.height == staged.quarantine.height + quarantine.height
    # a later run that rejects none of them: the staged report is back
    complete_reports(settings, [partenaire], quarantine.clear())
    assert page.read_text(encoding="utf-8") == staged_page
    # the producer's folder holds reports only: the state is the observatory's
    assert sorted(p.name for p in page.parent.iterdir()) == [
        f"{fichier}.retour.csv",
        f"{fichier}.retour.html",
    ]
    # the landed file altered since reception: refused, and its refusal is what stays
    (raw,) = landed_partner_files(settings, partenaire)
    raw.path.write_bytes(raw.path.read_bytes() + b" ")
    stage_partner(settings, mapping, standard=standard)
    assert complete_reports(settings, [partenaire], quarantine) == []
    assert "lignes lues" not in page.read_text(encoding="utf-8")
