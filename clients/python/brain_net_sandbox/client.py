"""`Sandbox`: the service's verbs over HTTP, with the standard library only."""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from email.message import Message
from typing import IO, Any, TypeVar, Unpack

from ._sse import messages
from .errors import SandboxError
from .models import (
    Batch,
    Execution,
    OtherEvent,
    OutputEvent,
    ResultEvent,
    Runtimes,
    StatusEvent,
    StreamEvent,
    Submission,
    UploadedFile,
)
from .request_types import BatchInput, ExecuteOptions, ExecuteRequest, JsonObject, RunOptions

T = TypeVar("T")

# What ends a wait (or a stream) without an answer from the service: a read that timed out,
# a connection closed under it. A refused connection is not here: then nothing was sent.
_CUT_SHORT = (TimeoutError, ConnectionError, http.client.IncompleteRead)
# What a gateway in front of the service answers when it gives up waiting on it.
_GATEWAY_GAVE_UP = frozenset({502, 504})
# The service sends `: keep-alive` every 15 s: three missed ones mean the stream is dead.
_STREAM_IDLE_S = 45.0
# Reconnections of a stream in a row that bring no event before it gives up.
_STREAM_RECONNECTS = 3
_MAX_POLL_INTERVAL_S = 2.0
# The largest page GET /batches/{id} serves.
_BATCH_PAGE = 100


class Sandbox:
    """A client of one Brain_Net Sandbox service.

    `timeout` bounds each read of an ordinary call; `wait_timeout` how long `execute()` and
    `batch()` wait in one answer before they poll instead; `poll_interval` is the first
    pause between two polls (it doubles, up to 2 s).

    Every error answer raises `SandboxError`; a service that cannot be reached raises what
    urllib raises (an `OSError`: `urllib.error.URLError`, `TimeoutError`).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        wait_timeout: float = 60.0,
        poll_interval: float = 0.25,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._wait_timeout = wait_timeout
        self._poll_interval = poll_interval
        self._headers = {"User-Agent": "brain-net-sandbox-python"}
        if api_key is not None:
            # Bearer rather than X-API-Key: the same header carries a JWT (AUTH_MODE=jwt).
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._opener = urllib.request.build_opener()

    def execute(
        self,
        code: str | None = None,
        *,
        idempotency_key: str | None = None,
        **options: Unpack[ExecuteOptions],
    ) -> Execution:
        """Runs the code and returns the finished execution (POST /execute?wait=true).

        A wait cut short (past `wait_timeout`, a dropped connection, a gateway's 502 or 504)
        does not run the code again: the submit carries an Idempotency-Key (a fresh one
        unless given), so the client asks for the same execution's id with it and polls.
        """
        body = _execute_body(code, options)
        key = idempotency_key or _new_idempotency_key()
        answer = self._waited("/execute", body, key)
        if answer is None:
            execution_id = self._json("POST", "/execute", body, idempotency_key=key)["execution_id"]
        else:
            execution = Execution.from_json(answer)
            if execution.finished:
                return execution
            execution_id = execution.execution_id
        return self._poll(lambda: self.get(execution_id), _finished)

    def submit(
        self,
        code: str | None = None,
        *,
        idempotency_key: str | None = None,
        **options: Unpack[ExecuteOptions],
    ) -> Submission:
        """Queues the code and returns its id at once (POST /execute, 202)."""
        answer, headers = self._json_answer(
            "POST", "/execute", _execute_body(code, options), idempotency_key=idempotency_key
        )
        return Submission(
            execution_id=answer["execution_id"],
            status=answer["status"],
            replayed=headers.get("Idempotent-Replayed") == "true",
            raw=answer,
        )

    def get(self, execution_id: str) -> Execution:
        """The execution as it stands (GET /execution/{id})."""
        return Execution.from_json(self._json("GET", f"/execution/{_segment(execution_id)}"))

    def cancel(self, execution_id: str) -> Execution:
        """Cancels a queued or running execution; returns it once its container is gone.

        An execution that already finished raises `SandboxError` 409
        `EXECUTION_ALREADY_FINISHED`.
        """
        return Execution.from_json(self._json("DELETE", f"/execution/{_segment(execution_id)}"))

    def stream(
        self, execution_id: str, *, last_event_id: int | None = None
    ) -> Iterator[StreamEvent]:
        """The execution's live events (GET /execution/{id}/stream), ending with its result.

        First what it already printed, then each chunk as it comes (`OutputEvent`), status
        changes (`StatusEvent`) and last a `ResultEvent` with the finished execution. A
        connection lost before the result is reopened with the last event's id, so that
        nothing comes twice; `last_event_id` resumes from an id seen before.
        """
        path = f"/execution/{_segment(execution_id)}/stream"
        resume_from = last_event_id
        fruitless = 0  # connections in a row that brought no event
        while True:
            headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
            if resume_from is not None:
                headers["Last-Event-ID"] = str(resume_from)
            fruitless += 1
            try:
                with self._open("GET", path, headers=headers, timeout=_STREAM_IDLE_S) as response:
                    for message in messages(response):
                        event_id = _event_id(message.id)
                        if message.event == "error":
                            request_id = response.headers.get("X-Request-Id")
                            raise SandboxError(
                                None, None, "The stream failed", message.data, request_id
                            )
                        event = _event_of(message.event, event_id, message.data)
                        fruitless = 0
                        resume_from = resume_from if event_id is None else event_id
                        yield event
                        if isinstance(event, ResultEvent):
                            return
            except _CUT_SHORT:
                pass
            if fruitless > _STREAM_RECONNECTS:
                raise ConnectionError(
                    f"the stream of execution {execution_id} ended {fruitless} times in a row "
                    "before its result"
                )
            time.sleep(self._poll_interval)

    def batch(
        self,
        code: str | None = None,
        *,
        inputs: Sequence[BatchInput] | None = None,
        items: Sequence[ExecuteRequest] | None = None,
        processor_id: str | None = None,
        shared_container: bool | None = None,
        idempotency_key: str | None = None,
        **options: Unpack[RunOptions],
    ) -> Batch:
        """Runs a batch and returns it finished, every result in order (POST /executions/batch).

        One code (or `processor_id`) over `inputs`, or the whole requests of `items`, with
        `?wait=true`. `options` apply to every input; `shared_container` runs them all in
        one container. A wait cut short is handled as in `execute()`.
        """
        body: dict[str, Any] = {
            name: value
            for name, value in {
                "code": code,
                "inputs": inputs,
                "items": items,
                "processor_id": processor_id,
                "shared_container": shared_container,
            }.items()
            if value is not None
        }
        body.update(options)
        key = idempotency_key or _new_idempotency_key()
        first_page = self._waited("/executions/batch", body, key)
        if first_page is None or first_page.get("status") != "finished":
            batch_id = (
                self._json("POST", "/executions/batch", body, idempotency_key=key)["batch_id"]
                if first_page is None
                else first_page["batch_id"]
            )
            first_page = self._poll(lambda: self._batch_page(batch_id, 1), _batch_finished)
        return self._whole_batch(first_page)

    def upload(
        self,
        content: bytes | IO[bytes] | os.PathLike[str],
        name: str | None = None,
        *,
        media_type: str | None = None,
    ) -> UploadedFile:
        """Uploads a file once, to name it in many requests (POST /files).

        `content` is the bytes, a binary file open for reading, or a path (streamed, and
        named after it unless `name` is given). Without `media_type` the service guesses
        it from the name. Put it in a request with `files=[uploaded.as_input("data.csv")]`.
        """
        headers = {"Content-Type": media_type or "application/octet-stream"}
        if isinstance(content, os.PathLike):
            path = os.fspath(content)
            headers["Content-Length"] = str(os.path.getsize(path))
            with open(path, "rb") as file:
                return self._upload(file, name or os.path.basename(path), headers)
        if name is None:
            raise ValueError("name is required unless content is a path")
        return self._upload(content, name, headers)

    def runtimes(self) -> Runtimes:
        """The runtimes a request may name, with their Python and packages (GET /runtimes)."""
        return Runtimes.from_json(self._json("GET", "/runtimes"))

    def output_file(self, execution_id: str, path: str) -> bytes:
        """The bytes of a file the code wrote under `out/` (`files[].path` of its result)."""
        segments = "/".join(_segment(part) for part in path.split("/"))
        return self._bytes(f"/execution/{_segment(execution_id)}/files/{segments}")

    def figure(self, execution_id: str, index: int) -> bytes:
        """The PNG of a matplotlib figure the code drew (`figures[].index` of its result)."""
        return self._bytes(f"/execution/{_segment(execution_id)}/figures/{index}")

    def _upload(self, body: bytes | IO[bytes], name: str, headers: dict[str, str]) -> UploadedFile:
        query = urllib.parse.urlencode({"name": name})
        with self._open("POST", f"/files?{query}", data=body, headers=headers) as response:
            return UploadedFile.from_json(json.load(response))

    def _waited(self, path: str, body: JsonObject, idempotency_key: str) -> JsonObject | None:
        """The answer of POST `path`?wait=true, or None when the wait was cut short."""
        try:
            return self._json(
                "POST",
                f"{path}?wait=true",
                body,
                idempotency_key=idempotency_key,
                timeout=self._wait_timeout,
            )
        except _CUT_SHORT:
            return None
        except SandboxError as error:
            if error.code is None and error.status in _GATEWAY_GAVE_UP:
                return None
            raise

    def _batch_page(self, batch_id: str, page: int) -> JsonObject:
        query = urllib.parse.urlencode({"page": page, "limit": _BATCH_PAGE})
        return self._json("GET", f"/batches/{_segment(batch_id)}?{query}")

    def _whole_batch(self, first_page: JsonObject) -> Batch:
        items = [Execution.from_json(item) for item in first_page["items"]]
        page = first_page.get("page", 1)
        while len(items) < first_page["total"]:
            page += 1
            more = self._batch_page(first_page["batch_id"], page)["items"]
            if not more:
                break  # executions pruned since the count: the batch is what is left
            items.extend(Execution.from_json(item) for item in more)
        return Batch(
            batch_id=first_page["batch_id"],
            status=first_page["status"],
            total=first_page["total"],
            counts=first_page.get("counts", {}),
            items=tuple(items),
            raw=first_page,
        )

    def _poll(self, read: Callable[[], T], done: Callable[[T], bool]) -> T:
        """`read()` again and again, each pause twice the one before, until `done`."""
        pause = self._poll_interval
        while not done(found := read()):
            time.sleep(pause)
            pause = min(pause * 2, _MAX_POLL_INTERVAL_S)
        return found

    def _json(
        self,
        method: str,
        path: str,
        payload: JsonObject | None = None,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        return self._json_answer(
            method, path, payload, idempotency_key=idempotency_key, timeout=timeout
        )[0]

    def _json_answer(
        self,
        method: str,
        path: str,
        payload: JsonObject | None = None,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> tuple[dict[str, Any], Message]:
        """The JSON body of the answer, and its headers."""
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        with self._open(method, path, data=data, headers=headers, timeout=timeout) as response:
            return json.load(response), response.headers

    def _bytes(self, path: str) -> bytes:
        with self._open("GET", path) as response:
            content: bytes = response.read()
            return content

    def _open(
        self,
        method: str,
        path: str,
        *,
        data: bytes | IO[bytes] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> http.client.HTTPResponse:
        request = urllib.request.Request(
            self._base_url + path,
            data=data,
            headers={**self._headers, **(headers or {})},
            method=method,
        )
        try:
            response: http.client.HTTPResponse = self._opener.open(
                request, timeout=self._timeout if timeout is None else timeout
            )
        except urllib.error.HTTPError as error:
            with error:
                raise SandboxError.from_answer(
                    error.code, error.reason, error.headers, error.read()
                ) from None
        return response


def _finished(execution: Execution) -> bool:
    return execution.finished


def _batch_finished(page: JsonObject) -> bool:
    return bool(page["status"] == "finished")


def _execute_body(code: str | None, options: ExecuteOptions) -> dict[str, Any]:
    return dict(options) if code is None else {"code": code, **options}


def _new_idempotency_key() -> str:
    return f"python-client-{uuid.uuid4()}"


def _segment(value: str) -> str:
    """`value` as one segment of a URL path: an id can never reach another route."""
    return urllib.parse.quote(value, safe="")


def _event_id(value: str | None) -> int | None:
    """The service's ids are the decimal number of the last output chunk sent."""
    return int(value) if value is not None and value.isascii() and value.isdigit() else None


def _event_of(name: str, event_id: int | None, data: str) -> StreamEvent:
    try:
        parsed: Any = json.loads(data)
    except ValueError:
        parsed = data
    if name == "output":
        return OutputEvent(event_id, parsed["stream"], parsed["data"])
    if name == "status":
        return StatusEvent(event_id, parsed["status"])
    if name == "result":
        return ResultEvent(event_id, Execution.from_json(parsed))
    return OtherEvent(event_id, name, parsed)
