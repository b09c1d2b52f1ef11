"""Partner activity: counts from the partners' staged files, then indicators under secrecy.

Built from the partner mappings (`schemas/partners/*.yaml`) whose `type_fichier` carries
activity counts (diagnostics, accompaniments, pass numérique): a new partner of a known kind
feeds the indicators without code. With no file in any inbox, the indicators have no rows.
"""

import dagster as dg
import polars as pl

from observatory.defs.partners import stg_key
from observatory.defs.resources import ObservatoryResource
from observatory.partners.mappings import PartnerMapping
from observatory.transforms import partner_activity, secret_publication, secret_suppression
from observatory.validation.store import write_quarantine

INT_ACTIVITE = "int__activite_partenaires"


def build_activity_assets(mappings: dict[str, PartnerMapping]) -> list[dg.AssetsDefinition]:
    """`int__activite_partenaires` (counts, coverage) and `ind_activite_partenaires`."""
    sources = {
        stg_key(m).to_user_string(): m.type_fichier
        for m in mappings.values()
        if m.type_fichier in partner_activity.MESURES
    }

    @dg.asset(
        name=INT_ACTIVITE,
        group_name="intermediate",
        ins={name: dg.AssetIn(name) for name in sources},
        description="Partner activity counts per territory, year and measure, with coverage.",
    )
    def _comptes(
        observatory: ObservatoryResource,
        int__territoires: pl.DataFrame,
        int__appartenances: pl.DataFrame,
        **staged: pl.DataFrame,
    ) -> dg.Output[pl.DataFrame]:
        comptes, quarantaine = partner_activity.compte_activite(
            [(sources[name], frame) for name, frame in sorted(staged.items())],
            int__territoires,
        )
        path = write_quarantine(observatory.settings, INT_ACTIVITE, quarantaine)
        frame = partner_activity.agrege_comptes(comptes, int__appartenances)
        return dg.Output(
            frame,
            metadata={
                "lignes_entree": sum(f.height for f in staged.values()),
                "codes_hors_cog": quarantaine.height,
                "quarantaine": str(path),
            },
        )

    @dg.asset(name="ind_activite_partenaires", group_name="indicators")
    def _indicateurs(
        observatory: ObservatoryResource,
        int__activite_partenaires: pl.DataFrame,
        int__appartenances: pl.DataFrame,
        ind_besoin: pl.DataFrame,
    ) -> dg.Output[pl.DataFrame]:
        """Shares of diagnosed people, accompaniments per need, pass used: secret below 5, and
        within 5 of what an earlier release revealed (read fresh: releases are not assets)."""
        cellules = secret_suppression.applique_secret(
            int__activite_partenaires,
            int__appartenances,
            observatory.historique_secret(),
        )
        frame = partner_activity.indicateurs_activite(cellules, ind_besoin)
        return dg.Output(
            frame,
            metadata={"lignes": frame.height, "secrets": int(frame["secret"].sum())},
        )

    return [_comptes, _indicateurs]


@dg.asset_check(
    asset="pub_indicateurs",
    name="secret_statistique",
    blocking=True,
    additional_ins={
        "int__activite_partenaires": dg.AssetIn(INT_ACTIVITE),
        "int__appartenances": dg.AssetIn("int__appartenances"),
    },
    description=(
        "Aucune valeur sur une ligne secrète, aucun compte de partenaire de 1 à 4, ni non nul "
        "à moins de 5 d'une valeur qu'une release précédente a révélée, et aucun compte masqué "
        "que "
        "les valeurs publiées encadrent à moins de 5 près (audit par programmation linéaire)."
    ),
)
def secret_statistique(
    observatory: ObservatoryResource,
    pub_indicateurs: pl.DataFrame,
    int__activite_partenaires: pl.DataFrame,
    int__appartenances: pl.DataFrame,
) -> dg.AssetCheckResult:
    """Blocking: no published count, direct or by subtraction, small enough to identify a person."""
    found = secret_publication.violations_secret(pub_indicateurs)
    etroites = secret_publication.audit_publication(
        int__activite_partenaires,
        int__appartenances,
        pub_indicateurs,
        observatory.historique_secret(),
    )
    return dg.AssetCheckResult(
        passed=found.is_empty() and etroites.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "nb_lignes": found.height,
            "exemples": dg.MetadataValue.json(found.head(5).to_dicts()),
            "nb_cellules_etroites": etroites.height,
            "cellules_etroites": dg.MetadataValue.json(etroites.head(5).to_dicts()),
        },
    )
