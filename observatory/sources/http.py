"""Downloads for the live profile: one robust GET per file, with retries and loud failures.

Public data servers fail in ways that must not slip into the raw layer as "data": insee.fr
refuses requests without a User-Agent and sometimes answers HTTP 500 with an HTML page,
data.gouv.fr redirects stable resource links to dated files (a link can just as well lead to a
web page), the cartographie's national export can time out with a 504. So every download:

- sends a User-Agent naming the project, with separate connect and read timeouts;
- retries (tenacity, exponential backoff, `Retry-After` honoured) on connection errors,
  timeouts, truncated bodies, HTTP 429 and 5xx — never on other 4xx, which will not heal;
- streams the body, reporting progress;
- refuses an HTML page, an empty body or bytes that are not the expected format;
- raises `DownloadError`, whose message always names the URL.

No function here touches the disk: the raw layer decides where the bytes land.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import urljoin

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from observatory import __version__

logger = logging.getLogger(__name__)
T = TypeVar("T")

Expect = Literal["csv", "json", "zip", "xlsx", "parquet", "any"]
EXPECTS: tuple[str, ...] = ("csv", "json", "zip", "xlsx", "parquet", "any")
Progress = Callable[[int, int | None], None]

# ASCII on purpose: header values travel as raw latin-1 bytes, and an ASCII value does not
# depend on how each server decodes them; "numerique" names the project just as well.
USER_AGENT = f"observatory/{__version__} (+observatoire de l'inclusion numerique)"
CONNECT_TIMEOUT = 10.0  # seconds; a server that does not accept a connection by then is down
CHUNK_SIZE = 64 * 1024
LOG_EVERY_BYTES = 5 * 1024 * 1024  # progress log step when the size is unknown
BACKOFF_BASE = 1.0  # seconds before the 2nd attempt; doubles at each attempt
BACKOFF_MAX = 60.0
MAX_RETRY_AFTER = 300.0  # a longer Retry-After is capped (and logged), not obeyed blindly
ERROR_BODY_LIMIT = 64 * 1024  # bytes of an error response kept to describe it
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))

_ACCEPT = {
    "json": "application/json, */*;q=0.5",
    "csv": "text/csv, text/plain;q=0.9, */*;q=0.5",
}
# What a body read can raise when the connection drops or stalls mid-file: worth retrying.
_INTERRUPTED = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip (xlsx is a zip) or an empty zip
_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body)", re.IGNORECASE)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


class DownloadError(RuntimeError):
    """A file could not be downloaded, or what came back is not the file; names the URL."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class TransientDownloadError(DownloadError):
    """A failure worth retrying (network, timeout, 429, 5xx); `retry_after` in seconds."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, url=url, status=status)
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchedFile:
    """The bytes of one download and what the server said about them."""

    url: str
    final_url: str  # after redirects (data.gouv `/datasets/r/<id>` → dated static file)
    content: bytes = field(repr=False)
    content_type: str | None
    status: int
    retrieved_at: datetime  # UTC, when the body was complete
    attempts: int

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class PaginatedJson:
    """Every `results` item of a paginated JSON API, and the pages they came from."""

    url: str
    results: list[Any]
    pages: tuple[FetchedFile, ...]
    count: int | None  # as announced by the API, when it announces one

    @property
    def attempts(self) -> int:
        return sum(page.attempts for page in self.pages)

    def to_json_bytes(self) -> bytes:
        """The concatenated results as one JSON array: what the raw layer lands."""
        return json.dumps(self.results, ensure_ascii=False, indent=1).encode("utf-8")

    def as_fetched(self) -> FetchedFile:
        """One `FetchedFile` for the raw layer: content = all results, attempts = all pages'."""
        last = self.pages[-1]
        return FetchedFile(
            url=self.url,
            final_url=last.final_url,
            content=self.to_json_bytes(),
            content_type="application/json",
            status=last.status,
            retrieved_at=last.retrieved_at,
            attempts=self.attempts,
        )


def fetch_url(
    url: str,
    *,
    timeout: float = 60,
    expect: Expect = "csv",
    session: requests.Session | None = None,
    max_attempts: int = 4,
    progress: Progress | None = None,
    sleep: Callable[[float], None] | None = None,
) -> FetchedFile:
    """Download `url` whole, retrying what may heal and refusing what is not a data file.

    `timeout` is the read timeout (seconds without a byte); connecting gets at most
    `CONNECT_TIMEOUT`. `expect` is the format the caller will parse: an HTML page, an empty
    body or bytes of another format raise `DownloadError` instead of landing as data.
    `progress(bytes_done, bytes_total_or_None)` is called for every chunk. `sleep` replaces
    `time.sleep` between attempts (tests).
    """
    if expect not in EXPECTS:
        raise ValueError(f"expect={expect!r}; expected one of {EXPECTS}")
    if max_attempts < 1:
        raise ValueError(f"max_attempts={max_attempts}; at least one attempt is needed")
    own_session = session is None
    http = session or requests.Session()
    attempts = 0

    def attempt() -> FetchedFile:
        nonlocal attempts
        attempts += 1
        return _get_once(http, url, timeout, expect, progress, attempts)

    try:
        return with_retries(
            attempt,
            max_attempts=max_attempts,
            wait=_wait,
            transient=TransientDownloadError,
            sleep=sleep or time.sleep,
            before_sleep=_log_retry,
        )
    except TransientDownloadError as last:
        raise DownloadError(
            f"{url}: giving up after {attempts} attempts; last error: {last}",
            url=url,
            status=getattr(last, "status", None),
        ) from last
    finally:
        if own_session:
            http.close()


def fetch_paginated_json(
    url: str,
    *,
    next_key: str = "next",
    results_key: str = "results",
    count_key: str | None = "count",
    max_pages: int = 500,
    session: requests.Session | None = None,
    timeout: float = 60,
    max_attempts: int = 4,
    sleep: Callable[[float], None] | None = None,
) -> PaginatedJson:
    """Follow `next` links (Django REST Framework style: `{count, next, previous, results}`).

    Each page goes through `fetch_url` (same retries and checks). Fails, naming the page, on a
    page that is not a JSON object with a `results_key` list, on a `next` link already seen
    (a loop), beyond `max_pages`, and when the announced `count` differs from the items
    received (the list changed while paging: a partial snapshot must not land).
    """
    own_session = session is None
    http = session or requests.Session()
    results: list[Any] = []
    pages: list[FetchedFile] = []
    count: int | None = None
    seen: set[str] = set()
    page_url: str | None = url
    try:
        while page_url is not None:
            if len(pages) >= max_pages:
                raise DownloadError(
                    f"{url}: more than {max_pages} pages (next: {page_url}); raise max_pages "
                    "if the API really is that long",
                    url=url,
                )
            seen.add(page_url)
            page = fetch_url(
                page_url,
                timeout=timeout,
                expect="json",
                session=http,
                max_attempts=max_attempts,
                sleep=sleep,
            )
            pages.append(page)
            body = _page_object(page, results_key)
            results.extend(body[results_key])
            if count_key is not None and isinstance(body.get(count_key), int):
                count = body[count_key]
            following = body.get(next_key)
            if following in (None, ""):
                page_url = None
            elif not isinstance(following, str):
                raise DownloadError(
                    f"{page.url}: {next_key!r} is {following!r}, not a URL", url=page.url
                )
            else:
                page_url = urljoin(page.final_url, following)
                if page_url in seen:
                    raise DownloadError(
                        f"{page.url}: {next_key!r} points back to {page_url} (pagination loop)",
                        url=page.url,
                    )
            logger.info("%s: page %d, %d items so far", url, len(pages), len(results))
    finally:
        if own_session:
            http.close()
    if count is not None and count != len(results):
        raise DownloadError(
            f"{url}: the API announced {count} items but {len(pages)} pages gave "
            f"{len(results)}; the list changed while paging, download again",
            url=url,
        )
    return PaginatedJson(url=url, results=results, pages=tuple(pages), count=count)


def _get_once(
    http: requests.Session,
    url: str,
    timeout: float,
    expect: str,
    progress: Progress | None,
    attempt: int,
) -> FetchedFile:
    """One GET: status, streamed body and content checks; transient failures are marked."""
    headers = {"User-Agent": USER_AGENT, "Accept": _ACCEPT.get(expect, "*/*")}
    try:
        response = http.get(
            url,
            headers=headers,
            timeout=(min(CONNECT_TIMEOUT, timeout), timeout),
            stream=True,
            allow_redirects=True,
        )
    except requests.Timeout as exc:
        raise TransientDownloadError(f"{url}: timed out ({exc})", url=url) from exc
    except requests.ConnectionError as exc:
        raise TransientDownloadError(f"{url}: connection failed ({exc})", url=url) from exc
    except requests.RequestException as exc:
        raise DownloadError(f"{url}: request failed ({exc})", url=url) from exc

    with response:
        where = f"{url} (redirected to {response.url})" if response.history else url
        content_type = response.headers.get("Content-Type")
        if not 200 <= response.status_code < 300:
            raise _status_error(response, url, where, content_type)
        content = _read_body(response, url, where, progress)
        retrieved_at = datetime.now(UTC)
        _check_content(content, content_type, expect, url, where, response.status_code)
        return FetchedFile(
            url=url,
            final_url=response.url,
            content=content,
            content_type=content_type,
            status=response.status_code,
            retrieved_at=retrieved_at,
            attempts=attempt,
        )


def _read_body(
    response: requests.Response, url: str, where: str, progress: Progress | None
) -> bytes:
    """Stream the body, reporting progress; a body shorter than announced is transient."""
    encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    declared = _int_or_none(response.headers.get("Content-Length"))
    total = None if encoded else declared  # Content-Length counts compressed bytes
    step = max(total // 10, 1 << 20) if total else LOG_EVERY_BYTES
    next_log = step
    buffer = bytearray()
    try:
        for chunk in response.iter_content(chunk_size=CHUNK_SIZE):
            buffer.extend(chunk)
            if progress is not None:
                progress(len(buffer), total)
            if len(buffer) >= next_log:
                share = f" ({100 * len(buffer) // total} %)" if total else ""
                logger.info("%s: %.1f MB%s", url, len(buffer) / 1e6, share)
                next_log = (len(buffer) // step + 1) * step
    except _INTERRUPTED as exc:
        raise TransientDownloadError(
            f"{where}: download interrupted after {len(buffer)} bytes ({exc})", url=url
        ) from exc
    if total is not None and len(buffer) < total:
        raise TransientDownloadError(
            f"{where}: body truncated, {len(buffer)} of {total} bytes", url=url
        )
    return bytes(buffer)


def _status_error(
    response: requests.Response, url: str, where: str, content_type: str | None
) -> DownloadError:
    """The error for a non-2xx answer: transient for 429/5xx, final for the other 4xx."""
    status = response.status_code
    reason = f"HTTP {status} {response.reason or ''}".rstrip()
    head = _read_at_most(response, ERROR_BODY_LIMIT)
    detail = ""
    if _looks_like_html(head, content_type):
        title = _html_title(head)
        detail = f"; the server sent an HTML error page{f' ({title!r})' if title else ''}"
    if status in RETRY_STATUSES:
        retry_after = _retry_after(response.headers.get("Retry-After"))
        return TransientDownloadError(
            f"{where}: {reason}{detail}", url=url, status=status, retry_after=retry_after
        )
    hint = ""
    if status in (404, 410):
        hint = (
            "; the file is not (or no longer) at this address — publishers rename files "
            "between vintages: check the dataset page and update the live URL"
        )
    elif status in (401, 403):
        hint = "; access refused (authentication, or a User-Agent/robot filter)"
    return DownloadError(f"{where}: {reason}{detail}{hint}", url=url, status=status)


def _check_content(
    content: bytes, content_type: str | None, expect: str, url: str, where: str, status: int
) -> None:
    """Refuse an empty body, an HTML page or bytes that cannot be the expected format."""
    if not content:
        raise DownloadError(f"{where}: HTTP {status} with an empty body", url=url, status=status)
    if expect == "any":
        return
    if _looks_like_html(content[:ERROR_BODY_LIMIT], content_type):
        title = _html_title(content[:ERROR_BODY_LIMIT])
        raise DownloadError(
            f"{where}: expected a {expect} file but got an HTML page"
            f"{f' ({title!r})' if title else ''} (Content-Type {content_type!r}); the link "
            "probably leads to a web page, not to the file",
            url=url,
            status=status,
        )
    start = content.lstrip(b"\xef\xbb\xbf \t\r\n")[:8]
    ok = {
        "csv": not start.startswith(_ZIP_MAGIC) and b"\x00" not in content[:4096],
        "json": start[:1] in (b"{", b"["),
        "zip": start.startswith(_ZIP_MAGIC),
        "xlsx": start.startswith(_ZIP_MAGIC),
        "parquet": content[:4] == b"PAR1" and content[-4:] == b"PAR1",
    }[expect]
    if not ok:
        raise DownloadError(
            f"{where}: expected a {expect} file but the body does not look like one (starts "
            f"with {content[:16]!r}, Content-Type {content_type!r})",
            url=url,
            status=status,
        )


def _looks_like_html(head: bytes, content_type: str | None) -> bool:
    if content_type and content_type.split(";")[0].strip().lower() in (
        "text/html",
        "application/xhtml+xml",
    ):
        return True
    return bool(_HTML_START.match(head.lstrip(b"\xef\xbb\xbf")))


def _html_title(head: bytes) -> str | None:
    match = _HTML_TITLE.search(head)
    if not match:
        return None
    title = " ".join(match.group(1).decode("utf-8", "replace").split())
    return title[:120] or None


def _read_at_most(response: requests.Response, limit: int) -> bytes:
    buffer = bytearray()
    try:
        for chunk in response.iter_content(chunk_size=CHUNK_SIZE):
            buffer.extend(chunk)
            if len(buffer) >= limit:
                break
    except requests.RequestException:
        pass  # the status already says what went wrong; the body is only a detail
    return bytes(buffer[:limit])


def with_retries(
    attempt: Callable[[], T],
    *,
    max_attempts: int,
    wait: Callable[[RetryCallState], float],
    transient: type[Exception],
    sleep: Callable[[float], None],
    before_sleep: Callable[[RetryCallState], None],
) -> T:
    """`attempt()`, called again while it raises `transient` (at most `max_attempts` calls);
    the last `transient` error is raised when they are used up: the caller says what giving up
    means. Any other error is raised at once."""
    retrying = Retrying(
        stop=stop_after_attempt(max_attempts),
        wait=wait,
        retry=retry_if_exception_type(transient),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(attempt)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delay in seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _wait(state: RetryCallState) -> float:
    """Retry-After when the server gave one (capped), else exponential backoff."""
    exc = state.outcome.exception() if state.outcome else None
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        if retry_after > MAX_RETRY_AFTER:
            logger.warning(
                "%s asks to wait %.0f s; waiting %.0f s", exc.url, retry_after, MAX_RETRY_AFTER
            )
        return min(retry_after, MAX_RETRY_AFTER)
    return min(BACKOFF_BASE * 2 ** (state.attempt_number - 1), BACKOFF_MAX)


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0
    logger.warning("attempt %d failed: %s; retrying in %.1f s", state.attempt_number, exc, wait)


def _page_object(page: FetchedFile, results_key: str) -> dict[str, Any]:
    try:
        body = json.loads(page.content)
    except ValueError as exc:
        raise DownloadError(f"{page.url}: not valid JSON ({exc})", url=page.url) from exc
    if not isinstance(body, dict) or not isinstance(body.get(results_key), list):
        keys = sorted(body) if isinstance(body, dict) else type(body).__name__
        raise DownloadError(
            f"{page.url}: expected a JSON object with a {results_key!r} list, got {keys}",
            url=page.url,
        )
    return body


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
