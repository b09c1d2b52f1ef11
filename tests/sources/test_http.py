"""Live downloads (`observatory.sources.http`) against RECORDED responses, never the network.

Every test replays bodies from tests/fixtures/http/ (see its README: built in the shape the
real services answer, not byte-for-byte captures) through `responses`, which fails any request
that was not registered. Sleeps between attempts are recorded instead of slept.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses

from observatory.settings import PROJECT_ROOT
from observatory.sources.http import (
    MAX_RETRY_AFTER,
    USER_AGENT,
    DownloadError,
    fetch_paginated_json,
    fetch_url,
)
from observatory.sources.live import LIVE_URLS, fetch_live_file

FIXTURES = PROJECT_ROOT / "tests/fixtures/http"
INSEE_CSV = "https://www.insee.fr/fr/statistiques/fichier/8740222/v_commune_2026.csv"
INSEE_ZIP = "https://www.insee.fr/fr/statistiques/fichier/8984752/FILOSOFI_CC_csv.zip"
FRANCE_SERVICES = "https://www.data.gouv.fr/fr/datasets/r/31576dff-fd61-4de9-819f-32c2f880b142"
FRANCE_SERVICES_STATIC = (
    "https://static.data.gouv.fr/resources/liste-des-structures-france-services/"
    "20260915-080012/france-services.csv"
)
GEO_API = "https://geo.api.gouv.fr/communes?zone=metro,drom,com&fields=code,nom,population"
AIDANTS = "https://aidantsconnect.beta.gouv.fr/api/organisations/?format=json"
V_COMMUNE_HEAD = (
    b"TYPECOM,COM,REG,DEP,CTCD,ARR,TNCC,NCC,NCCENR,LIBELLE,CAN,COMPARENT\n"
    b"COM,01001,84,01,01D,012,5,ABERGEMENT CLEMENCIAT,Abergement-Cl\xc3\xa9menciat,"
    b"L'Abergement-Cl\xc3\xa9menciat,0108,\n"
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def sleeps() -> list[float]:
    """The waits between attempts, recorded instead of slept."""
    return []


def insee_500(mocked: responses.RequestsMock, url: str = INSEE_CSV) -> None:
    mocked.get(url, body=fixture("insee_500_error.html"), status=500, content_type="text/html")


def test_500_then_200_is_retried_after_a_backoff(mocked, sleeps) -> None:
    insee_500(mocked)
    mocked.get(INSEE_CSV, body=V_COMMUNE_HEAD, content_type="text/csv")
    fetched = fetch_url(INSEE_CSV, sleep=sleeps.append)
    assert fetched.attempts == 2
    assert fetched.content == V_COMMUNE_HEAD
    assert fetched.status == 200
    assert fetched.final_url == INSEE_CSV
    assert fetched.content_type == "text/csv"
    assert fetched.retrieved_at.tzinfo is UTC
    assert len(mocked.calls) == 2
    assert sleeps == [1.0]


def test_persistent_503_fails_after_max_attempts_naming_the_url(mocked, sleeps) -> None:
    mocked.get(
        INSEE_ZIP, body=fixture("insee_500_error.html"), status=503, content_type="text/html"
    )
    with pytest.raises(DownloadError) as error:
        fetch_url(INSEE_ZIP, expect="zip", max_attempts=3, sleep=sleeps.append)
    message = str(error.value)
    assert INSEE_ZIP in message
    assert "giving up after 3 attempts" in message
    assert "HTTP 503" in message
    assert "HTML error page ('Erreur 500 - Une erreur est survenue | Insee')" in message
    assert error.value.status == 503
    assert len(mocked.calls) == 3
    assert sleeps == [1.0, 2.0]  # exponential backoff


def test_connect_timeout_is_retried_then_reported(mocked, sleeps) -> None:
    mocked.get(INSEE_CSV, body=requests.exceptions.ConnectTimeout("connect timed out"))
    mocked.get(INSEE_CSV, body=V_COMMUNE_HEAD, content_type="text/csv")
    assert fetch_url(INSEE_CSV, sleep=sleeps.append).attempts == 2

    mocked.get(GEO_API, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(DownloadError, match="timed out") as error:
        fetch_url(GEO_API, expect="json", max_attempts=2, sleep=sleeps.append)
    assert GEO_API in str(error.value)
    assert len(mocked.calls) == 4


def test_truncated_body_is_retried(mocked, sleeps) -> None:
    mocked.get(
        INSEE_CSV,
        body=V_COMMUNE_HEAD[:40],
        headers={"Content-Length": str(len(V_COMMUNE_HEAD))},
        content_type="text/csv",
    )
    mocked.get(INSEE_CSV, body=V_COMMUNE_HEAD, content_type="text/csv")
    fetched = fetch_url(INSEE_CSV, sleep=sleeps.append)
    assert (fetched.attempts, fetched.content) == (2, V_COMMUNE_HEAD)


@pytest.mark.parametrize(("status", "hint"), [(404, "no longer"), (410, "no longer"), (403, "")])
def test_4xx_is_not_retried_and_says_what_failed(mocked, sleeps, status: int, hint: str) -> None:
    mocked.get(INSEE_CSV, body=b"Not Found", status=status, content_type="text/plain")
    with pytest.raises(DownloadError) as error:
        fetch_url(INSEE_CSV, sleep=sleeps.append)
    message = str(error.value)
    assert message.startswith(f"{INSEE_CSV}: HTTP {status}")
    assert hint in message
    assert "attempts" not in message
    assert error.value.status == status
    assert len(mocked.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (fixture("datagouv_dataset_page.html"), "text/html; charset=utf-8"),
        # Served with a data content type, still an HTML page: caught by its first bytes.
        (fixture("insee_500_error.html"), "text/csv"),
        (b"\n  <html><body>Maintenance</body></html>", "application/octet-stream"),
    ],
)
def test_html_page_where_a_csv_was_expected_is_refused(
    mocked, sleeps, body: bytes, content_type: str
) -> None:
    mocked.get(FRANCE_SERVICES, body=body, status=200, content_type=content_type)
    with pytest.raises(DownloadError, match="expected a csv file but got an HTML page") as error:
        fetch_url(FRANCE_SERVICES, sleep=sleeps.append)
    assert FRANCE_SERVICES in str(error.value)
    assert len(mocked.calls) == 1  # a page instead of a file does not heal by retrying


def test_html_check_is_skipped_for_expect_any(mocked) -> None:
    mocked.get(
        FRANCE_SERVICES, body=fixture("datagouv_dataset_page.html"), content_type="text/html"
    )
    assert fetch_url(FRANCE_SERVICES, expect="any").content.startswith(b"<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("expect", "body", "content_type"),
    [
        ("zip", V_COMMUNE_HEAD, "text/csv"),  # insee.fr answering a CSV where a zip was due
        ("xlsx", b"CODGEO;DENS7\n01001;5\n", "application/vnd.ms-excel"),
        ("json", V_COMMUNE_HEAD, "application/json"),
        ("parquet", b"PAR1 not really", "application/octet-stream"),
        ("csv", b"PK\x03\x04\x14\x00\x00\x00", "application/zip"),
    ],
)
def test_bytes_of_another_format_are_refused(
    mocked, expect: str, body: bytes, content_type: str
) -> None:
    mocked.get(INSEE_ZIP, body=body, content_type=content_type)
    with pytest.raises(DownloadError, match=f"expected a {expect} file") as error:
        fetch_url(INSEE_ZIP, expect=expect)
    assert INSEE_ZIP in str(error.value)


def test_empty_body_is_an_error(mocked) -> None:
    mocked.get(INSEE_CSV, body=b"", content_type="text/csv")
    with pytest.raises(DownloadError, match="empty body") as error:
        fetch_url(INSEE_CSV)
    assert INSEE_CSV in str(error.value)


def test_redirect_is_followed_and_final_url_recorded(mocked) -> None:
    mocked.get(FRANCE_SERVICES, status=302, headers={"Location": FRANCE_SERVICES_STATIC})
    mocked.get(
        FRANCE_SERVICES_STATIC,
        body=fixture("france_services_excerpt.csv"),
        content_type="text/csv; charset=utf-8",
    )
    fetched = fetch_url(FRANCE_SERVICES)
    assert fetched.url == FRANCE_SERVICES
    assert fetched.final_url == FRANCE_SERVICES_STATIC
    assert fetched.content == fixture("france_services_excerpt.csv")
    assert fetched.attempts == 1


def test_error_after_redirect_names_both_urls(mocked) -> None:
    mocked.get(FRANCE_SERVICES, status=302, headers={"Location": FRANCE_SERVICES_STATIC})
    mocked.get(FRANCE_SERVICES_STATIC, status=404)
    with pytest.raises(DownloadError) as error:
        fetch_url(FRANCE_SERVICES)
    assert f"{FRANCE_SERVICES} (redirected to {FRANCE_SERVICES_STATIC}): HTTP 404" in str(
        error.value
    )


def test_user_agent_names_the_project(mocked) -> None:
    mocked.get(
        GEO_API, body=fixture("geo_api_communes_excerpt.json"), content_type="application/json"
    )
    session = requests.Session()
    fetch_url(GEO_API, expect="json", session=session)
    sent = mocked.calls[0].request.headers
    assert sent["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("observatory/0.1.0 (+observatoire de l'inclusion numerique)")
    assert sent["Accept"].startswith("application/json")
    # A session given by the caller stays open for its next requests.
    mocked.get(INSEE_CSV, body=V_COMMUNE_HEAD, content_type="text/csv")
    assert fetch_url(INSEE_CSV, session=session).content == V_COMMUNE_HEAD


@pytest.mark.real_data
def test_progress_is_reported_and_logged(mocked, caplog: pytest.LogCaptureFixture) -> None:
    body = (PROJECT_ROOT / "assets/cog_2026/communes.csv").read_bytes()  # 4.6 MB, real
    mocked.get(INSEE_CSV, body=body, content_type="text/csv", auto_calculate_content_length=True)
    calls: list[tuple[int, int | None]] = []
    with caplog.at_level(logging.INFO, logger="observatory.sources.http"):
        fetched = fetch_url(INSEE_CSV, progress=lambda done, total: calls.append((done, total)))
    assert fetched.content == body
    assert len(calls) > 10
    assert calls[-1] == (len(body), len(body))
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(set(done)) == len(done)
    logged = [r.getMessage() for r in caplog.records if INSEE_CSV in r.getMessage()]
    assert 3 <= len(logged) <= 11
    assert all("%" in line for line in logged)


def test_progress_without_content_length_reports_unknown_total(mocked) -> None:
    mocked.get(INSEE_CSV, body=V_COMMUNE_HEAD, content_type="text/csv")
    calls: list[tuple[int, int | None]] = []
    fetch_url(INSEE_CSV, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(len(V_COMMUNE_HEAD), None)]


def test_retry_after_seconds_is_honoured(mocked, sleeps) -> None:
    mocked.get(GEO_API, status=429, headers={"Retry-After": "7"}, body=b"Too Many Requests")
    mocked.get(
        GEO_API, body=fixture("geo_api_communes_excerpt.json"), content_type="application/json"
    )
    fetched = fetch_url(GEO_API, expect="json", sleep=sleeps.append)
    assert fetched.attempts == 2
    assert sleeps == [7.0]


def test_retry_after_http_date_is_honoured_and_a_long_one_capped(mocked, sleeps) -> None:
    in_30s = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    mocked.get(INSEE_CSV, status=503, headers={"Retry-After": in_30s}, body=b"")
    mocked.get(INSEE_CSV, status=503, headers={"Retry-After": "86400"}, body=b"")
    mocked.get(INSEE_CSV, body=V_COMMUNE_HEAD, content_type="text/csv")
    assert fetch_url(INSEE_CSV, sleep=sleeps.append).attempts == 3
    assert 27 <= sleeps[0] <= 30
    assert sleeps[1] == MAX_RETRY_AFTER


def aidants_pages(mocked: responses.RequestsMock) -> list[dict]:
    pages = [json.loads(fixture(f"aidants_connect_organisations_page{n}.json")) for n in (1, 2, 3)]
    for url, n in ((AIDANTS, 1), (f"{AIDANTS}&page=2", 2), (f"{AIDANTS}&page=3", 3)):
        mocked.get(
            url,
            body=fixture(f"aidants_connect_organisations_page{n}.json"),
            content_type="application/json",
            match=[responses.matchers.query_string_matcher(url.partition("?")[2])],
        )
    return pages


def test_paginated_api_is_followed_over_three_pages(mocked, sleeps) -> None:
    pages = aidants_pages(mocked)
    result = fetch_paginated_json(AIDANTS, sleep=sleeps.append)
    assert [call.request.url for call in mocked.calls] == [
        AIDANTS,
        f"{AIDANTS}&page=2",
        f"{AIDANTS}&page=3",
    ]
    assert result.count == 5
    assert len(result.pages) == 3 and result.attempts == 3
    assert result.results == [item for page in pages for item in page["results"]]
    assert [r["code_insee"] for r in result.results] == [
        "16015",
        "16015",
        "01001",
        "2A004",
        "97411",
    ]
    landed = result.as_fetched()
    assert landed.url == AIDANTS
    assert json.loads(landed.content) == result.results
    assert landed.final_url == f"{AIDANTS}&page=3"


def test_pagination_retries_a_failing_page(mocked, sleeps) -> None:
    page2 = f"{AIDANTS}&page=2"
    mocked.get(
        page2,
        status=502,
        body=b"Bad Gateway",
        match=[responses.matchers.query_string_matcher("format=json&page=2")],
    )
    aidants_pages(mocked)
    result = fetch_paginated_json(AIDANTS, sleep=sleeps.append)
    assert len(result.results) == 5
    assert result.attempts == 4
    assert sleeps == [1.0]


def test_pagination_refuses_a_partial_list(mocked) -> None:
    page = json.loads(fixture("aidants_connect_organisations_page3.json"))
    page["count"] = 7  # announced more items than the pages hold
    mocked.get(AIDANTS, json=page)
    with pytest.raises(DownloadError, match="announced 7 items but 1 pages gave 1") as error:
        fetch_paginated_json(AIDANTS)
    assert AIDANTS in str(error.value)


def test_pagination_stops_at_the_page_limit_and_on_a_loop(mocked) -> None:
    aidants_pages(mocked)
    with pytest.raises(DownloadError, match="more than 2 pages"):
        fetch_paginated_json(AIDANTS, max_pages=2)
    mocked.reset()
    looping = json.loads(fixture("aidants_connect_organisations_page1.json"))
    looping["next"] = AIDANTS
    mocked.get(AIDANTS, json=looping)
    with pytest.raises(DownloadError, match="pagination loop"):
        fetch_paginated_json(AIDANTS)


def test_pagination_refuses_a_page_without_results(mocked) -> None:
    mocked.get(AIDANTS, json={"detail": "Page invalide."})
    with pytest.raises(DownloadError, match="expected a JSON object with a 'results' list"):
        fetch_paginated_json(AIDANTS)


def test_fixture_readme_describes_every_fixture() -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    for path in FIXTURES.iterdir():
        if path.name != "README.md":
            assert re.sub(r"page\d", "page{1,2,3}", path.name) in readme, path.name


def test_fetch_live_file_lands_the_primary_url(mocked) -> None:
    """`live.fetch_live_file`: a plain file as received, a paginated API as one JSON array."""
    pages = aidants_pages(mocked)
    (aidants,) = LIVE_URLS["aidants_connect__structures"].files
    assert aidants.url.url == AIDANTS
    landed = fetch_live_file(aidants)
    assert json.loads(landed.content) == [i for page in pages for i in page["results"]]
    assert landed.attempts == 3

    (france_services,) = LIVE_URLS["france_services__lieux"].files
    assert france_services.url.url == FRANCE_SERVICES
    mocked.get(FRANCE_SERVICES, status=302, headers={"Location": FRANCE_SERVICES_STATIC})
    mocked.get(FRANCE_SERVICES_STATIC, body=fixture("france_services_excerpt.csv"))
    fetched = fetch_live_file(france_services)
    assert fetched.content == fixture("france_services_excerpt.csv")
    assert fetched.final_url == FRANCE_SERVICES_STATIC
