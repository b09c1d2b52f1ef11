"""Aidants Connect's public organisations API (landed as one JSON array) → a flat frame."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

# Fields of each `results` item (betagouv/Aidants_Connect aidants_connect_web/api/
# serializers.py OrganisationSerializer @ 42814c5), in order: the frame's columns.
ORGANISATION_FIELDS: tuple[str, ...] = (
    "id",
    "url",
    "pivot",
    "nom",
    "commune",
    "code_postal",
    "code_insee",
    "adresse",
    "address_complement",
    "service",
    "date_de_creation",
    "date_de_modification",
)
REQUIRED_FIELDS = ("id", "nom")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def parse_organisations(payload: bytes) -> pl.DataFrame:
    """The concatenated `results` of every page (what the raw layer lands) → one row per
    organisation, every API field as a string (empty → null).

    Also accepts one page as the API serves it (`{count, next, previous, results}`), e.g. a
    recorded page. An item without `id` or `nom`, or a payload that is neither, raises
    `ValueError`: the API changed and nothing should land as lieux.
    """
    try:
        body = json.loads(payload)
    except ValueError as exc:
        raise ValueError(f"Aidants Connect organisations: not valid JSON ({exc})") from exc
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        body = body["results"]
    if not isinstance(body, list):
        raise ValueError(
            f"Aidants Connect organisations: expected a JSON array, got {type(body).__name__}"
        )
    rows = []
    for index, item in enumerate(body):
        if not isinstance(item, dict) or any(_text(item.get(k)) is None for k in REQUIRED_FIELDS):
            raise ValueError(f"Aidants Connect organisations: item {index} has no id or nom")
        rows.append(tuple(_text(item.get(f)) for f in ORGANISATION_FIELDS))
    return pl.DataFrame(rows, schema=dict.fromkeys(ORGANISATION_FIELDS, pl.String), orient="row")
