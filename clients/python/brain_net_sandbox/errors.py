"""The one exception for every error answer of the service."""

from __future__ import annotations

import json
from collections.abc import Mapping
from email.message import Message
from typing import Any

# Enough of a body that is not a problem (a proxy's HTML page) to recognise it.
_TEXT_EXCERPT = 500


class SandboxError(Exception):
    """An error answer: its HTTP status and, from its problem+json body, the stable `code`.

    `code` is None when the answer did not come from the service itself (a proxy's 502,
    say), and `status` too when a stream failed after it began (its `error` event).
    `errors` lists the fields a validation problem names, as `{"field": ..., "messages":
    [...]}`; `retry_after` is the Retry-After header in seconds (on 429 and 503 answers);
    `problem` is the whole body, whatever it holds.
    """

    def __init__(
        self,
        status: int | None,
        code: str | None,
        title: str | None,
        detail: str | None,
        request_id: str | None = None,
        errors: tuple[Mapping[str, Any], ...] = (),
        retry_after: float | None = None,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.errors = errors
        self.retry_after = retry_after
        self.problem: Mapping[str, Any] = problem or {}
        label = " ".join(str(part) for part in (status, code) if part is not None)
        super().__init__(f"{label}: {detail or title or 'no detail'}")

    @classmethod
    def from_answer(cls, status: int, reason: str, headers: Message, body: bytes) -> SandboxError:
        """The error an answer carries, whether or not its body is problem+json."""
        problem = _json_object(body)
        request_id = problem.get("request_id") or headers.get("X-Request-Id")
        if not problem:
            excerpt = body[:_TEXT_EXCERPT].decode("utf-8", "replace").strip()
            return cls(status, None, reason, excerpt or None, request_id)
        return cls(
            status=problem.get("status", status),
            code=problem.get("code"),
            title=problem.get("title", reason),
            detail=problem.get("detail"),
            request_id=request_id,
            errors=tuple(problem.get("errors", ())),
            retry_after=_seconds(headers.get("Retry-After")),
            problem=problem,
        )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _seconds(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None  # an HTTP date: the service sends seconds, a proxy might not
