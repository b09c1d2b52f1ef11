"""Failure notices: what an operator needs to act on a failed run, logged and posted as JSON.

A run-failure sensor (`defs/schedules.py`) and `observatory run` build a `FailureSummary`
(job, run, failed steps and the root cause of each), log it and POST it to
`OBSERVATORY_WEBHOOK_URL` when that variable is set (Slack/Mattermost-compatible: the payload
has a `text` field). The URL is a secret (it usually embeds a token): it is read from the
environment only and never logged; values of secret-looking environment variables are masked
in every summary.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import requests

logger = logging.getLogger(__name__)

WEBHOOK_ENV = "OBSERVATORY_WEBHOOK_URL"
WEBHOOK_TIMEOUT = 10.0  # seconds; a notifier must not hang the sensor daemon
SQL_STEP = "pub_sql"
CADENCE_TAG = "observatory/cadence"
# the run tags a summary keeps: what launched the run, its cadence, the partner it is for
KEPT_TAGS = ("dagster/schedule_name", "dagster/sensor_name", CADENCE_TAG, "partenaire")
_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|WEBHOOK|API_?KEY|_KEY$|DSN)", re.I)
_MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words


class ErrorInfo(Protocol):
    """Dagster's `SerializableErrorInfo`, as far as a notice reads it."""

    message: str
    cls_name: str | None
    cause: ErrorInfo | None


def innermost(error: ErrorInfo) -> ErrorInfo:
    """The innermost error: Dagster wraps the asset's exception in its own."""
    while getattr(error, "cause", None) is not None:
        error = error.cause  # type: ignore[assignment]
    return error


def root_cause(error: ErrorInfo) -> str:
    """`DownloadError: <message>` of the innermost error, its class named once."""
    error = innermost(error)
    message = error.message.strip()
    if not error.cls_name:
        return message
    # the message starts with the qualified class (`observatory.sources.http.DownloadError: …`)
    message = re.sub(rf"^(?:[\w.]+\.)?{re.escape(error.cls_name)}: ", "", message)
    return f"{error.cls_name}: {message}"


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """`text` with the values of secret-looking environment variables replaced by `***`."""
    env = os.environ if environ is None else environ
    secrets = sorted(
        (v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_SECRET_LENGTH),
        key=len,
        reverse=True,
    )
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


class DefinitionsError(RuntimeError):
    """The job could not be built (a SQL model, a mapping, a schema is broken)."""


@dataclass(frozen=True)
class StepFailure:
    step: str
    cause: str


@dataclass(frozen=True)
class FailureSummary:
    """What an operator needs to act on a failed run, with secrets masked."""

    job: str
    run_id: str
    message: str
    steps: tuple[StepFailure, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def text(self) -> str:
        origin = self.tags.get("dagster/schedule_name") or self.tags.get("dagster/sensor_name")
        head = f"observatory: run {self.run_id[:8]} of {self.job} failed"
        head += f" (launched by {origin})" if origin else ""
        lines = [head, f"  {self.message}"] if self.message else [head]
        lines += [f"  - {s.step}: {s.cause}" for s in self.steps]
        if not self.steps:
            lines.append("  (no step failed: the run failed before or around its steps)")
        if self.steps and all(s.step == SQL_STEP for s in self.steps):
            lines.append(
                "  The Parquet release is published (`latest`); only its SQL copy failed, "
                "caught up by the next run."
            )
        else:
            lines.append("  The previous release stays `latest`.")
        return redact("\n".join(lines))

    def payload(self) -> dict[str, Any]:
        return {
            "text": self.text(),
            "event": "run_failure",
            "job": self.job,
            "run_id": self.run_id,
            "message": redact(self.message),
            "failed_steps": [{"step": s.step, "cause": redact(s.cause)} for s in self.steps],
            "tags": {k: redact(v) for k, v in self.tags.items()},
        }


def summarize_run(
    job: str,
    run_id: str,
    message: str | None,
    failures: Sequence[tuple[str | None, ErrorInfo | None]],
    tags: Mapping[str, str],
) -> FailureSummary:
    """The summary of a failed run: its failed steps (step key, error) and the tags kept."""
    steps = tuple(
        StepFailure(step or "?", root_cause(error) if error else "unknown error")
        for step, error in failures
    )
    return FailureSummary(
        job=job,
        run_id=run_id,
        message=(message or "").strip(),
        steps=steps,
        tags={k: v for k, v in tags.items() if k in KEPT_TAGS},
    )


@dataclass(frozen=True)
class RunOutcome:
    """What `observatory run` (`materialize_all`) ended with."""

    success: bool
    release: Path | None
    errors: list[str]
    run_id: str
    new_release: bool = False  # false when nothing changed since `latest`
    failed_steps: tuple[str, ...] = ()  # step keys that failed (`pub_sql`: the SQL copy only)
    rien_a_rejouer: bool = False  # nothing changed since the last successful run: none ran

    @property
    def sql_only(self) -> bool:
        """The Parquet release is published; only its SQL copy (`pub_sql`) failed."""
        return (
            self.release is not None and self.failed_steps == (SQL_STEP,) and len(self.errors) == 1
        )


def summarize_outcome(outcome: RunOutcome, job: str = "observatory run") -> FailureSummary:
    """The summary of a failed `materialize_all` (the CLI's in-process run: no sensor sees it)."""
    steps = []
    for line in outcome.errors:
        step, _, cause = line.partition(": ")
        steps.append(StepFailure(step, cause) if cause else StepFailure("?", line))
    message = "" if steps else "no release was published"
    return FailureSummary(job=job, run_id=outcome.run_id, message=message, steps=tuple(steps))


class _Log(Protocol):
    def error(self, msg: str, *args: object) -> None: ...
    def warning(self, msg: str, *args: object) -> None: ...
    def info(self, msg: str, *args: object) -> None: ...


def post_webhook(
    summary: FailureSummary,
    *,
    url: str | None = None,
    session: requests.Session | None = None,
    timeout: float = WEBHOOK_TIMEOUT,
    log: _Log = logger,
) -> bool:
    """POST the summary to `url` (default `$OBSERVATORY_WEBHOOK_URL`); True if accepted.

    Never raises and never logs the URL or a request error's text (both may hold a token).
    """
    url = url or os.environ.get(WEBHOOK_ENV)
    if not url:
        return False
    http = session or requests
    try:
        response = http.post(url, json=summary.payload(), timeout=timeout)
    except requests.RequestException as error:
        log.warning("failure notice not delivered to the webhook: %s", type(error).__name__)
        return False
    if not 200 <= response.status_code < 300:
        log.warning("failure notice refused by the webhook: HTTP %s", response.status_code)
        return False
    log.info("failure notice delivered to the webhook")
    return True


def report_failure(
    summary: FailureSummary, *, log: _Log = logger, session: requests.Session | None = None
) -> bool:
    """Log the summary, then post it to the webhook when one is configured."""
    log.error("%s", summary.text())
    return post_webhook(summary, session=session, log=log)
