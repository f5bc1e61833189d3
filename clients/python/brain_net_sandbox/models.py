"""What the service answers, as frozen dataclasses named after the API's JSON fields.

Top-level objects keep the whole JSON they were read from in `raw`, so fields that a newer
service adds are at hand before this client knows them. Fields an older service lacks take
a neutral default instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .request_types import InputFile, JsonObject

#: The statuses an execution does not leave.
FINISHED_STATUSES = frozenset({"completed", "failed", "timeout", "cancelled"})


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True)
class Frame:
    file: str
    line: int | None
    function: str
    source: str | None

    @classmethod
    def from_json(cls, data: JsonObject) -> Frame:
        return cls(data["file"], data.get("line"), data["function"], data.get("source"))


@dataclass(frozen=True)
class ExceptionInfo:
    type: str
    message: str
    line: int | None
    frames: tuple[Frame, ...]
    frames_omitted: int
    cause: ExceptionInfo | None
    cause_relation: str | None

    @classmethod
    def from_json(cls, data: JsonObject) -> ExceptionInfo:
        cause = data.get("cause")
        return cls(
            type=data["type"],
            message=data["message"],
            line=data.get("line"),
            frames=tuple(Frame.from_json(frame) for frame in data.get("frames", ())),
            frames_omitted=data.get("frames_omitted", 0),
            cause=None if cause is None else ExceptionInfo.from_json(cause),
            cause_relation=data.get("cause_relation"),
        )


@dataclass(frozen=True)
class Variable:
    """A global after the run: its `value` when JSON holds it, else a bounded `repr`."""

    type: str
    value: Any
    repr: str | None
    truncated: bool
    #: A DataFrame, Series or array as data (kind, shape, first values), as the API gives it.
    preview: JsonObject | None

    @classmethod
    def from_json(cls, data: JsonObject) -> Variable:
        return cls(
            type=data["type"],
            value=data.get("value"),
            repr=data.get("repr"),
            truncated=data.get("truncated", False),
            preview=data.get("preview"),
        )


@dataclass(frozen=True)
class DebugInfo:
    #: None unless the request had `debug_mode` (on by default).
    variables_after: Mapping[str, Variable] | None
    exceptions: tuple[ExceptionInfo, ...]
    #: The profile as the API gives it; None unless the request asked for `profile`.
    profile: JsonObject | None

    @classmethod
    def from_json(cls, data: JsonObject) -> DebugInfo:
        variables = data.get("variables_after")
        return cls(
            variables_after=(
                None
                if variables is None
                else {name: Variable.from_json(value) for name, value in variables.items()}
            ),
            exceptions=tuple(ExceptionInfo.from_json(item) for item in data.get("exceptions", ())),
            profile=data.get("profile"),
        )


@dataclass(frozen=True)
class OutputFile:
    """A file the code wrote under `out/`; `Sandbox.output_file()` reads its bytes."""

    path: str
    size: int
    media_type: str
    sha256: str
    url: str

    @classmethod
    def from_json(cls, data: JsonObject) -> OutputFile:
        return cls(data["path"], data["size"], data["media_type"], data["sha256"], data["url"])


@dataclass(frozen=True)
class OmittedFile:
    path: str
    size: int

    @classmethod
    def from_json(cls, data: JsonObject) -> OmittedFile:
        return cls(data["path"], data["size"])


@dataclass(frozen=True)
class Figure:
    """A matplotlib figure; `Sandbox.figure()` reads its PNG unless it has an `error`."""

    index: int
    title: str | None
    width: int | None
    height: int | None
    size: int | None
    media_type: str
    url: str | None
    error: str | None

    @classmethod
    def from_json(cls, data: JsonObject) -> Figure:
        return cls(
            index=data["index"],
            title=data.get("title"),
            width=data.get("width"),
            height=data.get("height"),
            size=data.get("size"),
            media_type=data.get("media_type", "image/png"),
            url=data.get("url"),
            error=data.get("error"),
        )


@dataclass(frozen=True)
class ModuleHint:
    """For a run that failed with ModuleNotFoundError: the runtimes that have the module."""

    module: str
    runtimes: tuple[str, ...]
    unchecked: tuple[str, ...]

    @classmethod
    def from_json(cls, data: JsonObject) -> ModuleHint:
        return cls(data["module"], tuple(data["runtimes"]), tuple(data.get("unchecked", ())))


@dataclass(frozen=True)
class CallbackStatus:
    url: str
    status: str
    attempts: int
    last_error: str | None
    delivered_at: datetime | None

    @classmethod
    def from_json(cls, data: JsonObject) -> CallbackStatus:
        return cls(
            url=data["url"],
            status=data["status"],
            attempts=data.get("attempts", 0),
            last_error=data.get("last_error"),
            delivered_at=_time(data.get("delivered_at")),
        )


@dataclass(frozen=True)
class Execution:
    """An execution as GET /execution/{id} shows it (`status` may not be final yet)."""

    execution_id: str
    status: str
    tenant: str | None
    processor_id: str | None
    #: stdout.
    output: str
    stderr: str
    #: What went wrong, in one line, with the user's line: "ZeroDivisionError: ... (line 3)".
    error: str | None
    exit_code: int | None
    truncated: bool
    debug_info: DebugInfo
    created_at: datetime | None
    start_time: datetime | None
    end_time: datetime | None
    execution_time: float | None
    batch_id: str | None
    batch_index: int | None
    files: tuple[OutputFile, ...]
    files_truncated: bool
    files_omitted: tuple[OmittedFile, ...]
    figures: tuple[Figure, ...]
    figures_omitted: int
    runtime: str | None
    module_hint: ModuleHint | None
    #: Only GET /execution/{id} tells it; None in other answers and without `callback_url`.
    callback: CallbackStatus | None
    raw: JsonObject = field(repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @classmethod
    def from_json(cls, data: JsonObject) -> Execution:
        hint = data.get("module_hint")
        callback = data.get("callback")
        return cls(
            execution_id=data["execution_id"],
            status=data["status"],
            tenant=data.get("tenant"),
            processor_id=data.get("processor_id"),
            output=data.get("output", ""),
            stderr=data.get("stderr", ""),
            error=data.get("error"),
            exit_code=data.get("exit_code"),
            truncated=data.get("truncated", False),
            debug_info=DebugInfo.from_json(data.get("debug_info") or {}),
            created_at=_time(data.get("created_at")),
            start_time=_time(data.get("start_time")),
            end_time=_time(data.get("end_time")),
            execution_time=data.get("execution_time"),
            batch_id=data.get("batch_id"),
            batch_index=data.get("batch_index"),
            files=tuple(OutputFile.from_json(item) for item in data.get("files", ())),
            files_truncated=data.get("files_truncated", False),
            files_omitted=tuple(
                OmittedFile.from_json(item) for item in data.get("files_omitted", ())
            ),
            figures=tuple(Figure.from_json(item) for item in data.get("figures", ())),
            figures_omitted=data.get("figures_omitted", 0),
            runtime=data.get("runtime"),
            module_hint=None if hint is None else ModuleHint.from_json(hint),
            callback=None if callback is None else CallbackStatus.from_json(callback),
            raw=data,
        )


@dataclass(frozen=True)
class Submission:
    """The answer to a submit: the execution's id and its status then."""

    execution_id: str
    status: str
    #: True when an Idempotency-Key named an earlier submit: this is that execution.
    replayed: bool
    raw: JsonObject = field(repr=False, compare=False)


@dataclass(frozen=True)
class Batch:
    """A finished batch, with the results of all its executions in order."""

    batch_id: str
    status: str
    total: int
    #: How many of its executions ended in each status.
    counts: Mapping[str, int]
    items: tuple[Execution, ...]
    #: The JSON of the batch's first page.
    raw: JsonObject = field(repr=False, compare=False)


@dataclass(frozen=True)
class UploadedFile:
    """An upload kept for reuse; name it in a request's `files` with `as_input()`."""

    file_id: str
    name: str
    size: int
    sha256: str
    media_type: str
    created_at: datetime | None
    expires_at: datetime | None
    raw: JsonObject = field(repr=False, compare=False)

    def as_input(self, path: str | None = None) -> InputFile:
        """The entry of `files` that puts this upload at `path` (by default its name)."""
        return {"path": self.name if path is None else path, "file_id": self.file_id}

    @classmethod
    def from_json(cls, data: JsonObject) -> UploadedFile:
        return cls(
            file_id=data["file_id"],
            name=data.get("name", ""),
            size=data["size"],
            sha256=data["sha256"],
            media_type=data.get("media_type", "application/octet-stream"),
            created_at=_time(data.get("created_at")),
            expires_at=_time(data.get("expires_at")),
            raw=data,
        )


@dataclass(frozen=True)
class Package:
    name: str
    version: str


@dataclass(frozen=True)
class Runtime:
    """A runtime a request may name; its facts are None when its image could not be read."""

    name: str
    image: str
    image_id: str | None
    default: bool
    python_version: str | None
    packages: tuple[Package, ...] | None
    modules: tuple[str, ...] | None
    error: str | None

    @classmethod
    def from_json(cls, data: JsonObject) -> Runtime:
        packages = data.get("packages")
        modules = data.get("modules")
        return cls(
            name=data["name"],
            image=data.get("image", ""),
            image_id=data.get("image_id"),
            default=data.get("default", False),
            python_version=data.get("python_version"),
            packages=(
                None
                if packages is None
                else tuple(Package(item["name"], item["version"]) for item in packages)
            ),
            modules=None if modules is None else tuple(modules),
            error=data.get("error"),
        )


@dataclass(frozen=True)
class Runtimes:
    #: The name of the runtime a request without `runtime` runs in.
    default: str
    items: tuple[Runtime, ...]
    raw: JsonObject = field(repr=False, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(runtime.name for runtime in self.items)

    @classmethod
    def from_json(cls, data: JsonObject) -> Runtimes:
        return cls(
            default=data["default"],
            items=tuple(Runtime.from_json(item) for item in data["items"]),
            raw=data,
        )


@dataclass(frozen=True)
class OutputEvent:
    """A chunk the code printed; `id` numbers the chunks from 1, stdout and stderr together."""

    id: int | None
    stream: str
    data: str


@dataclass(frozen=True)
class StatusEvent:
    id: int | None
    status: str


@dataclass(frozen=True)
class ResultEvent:
    """The last event of a stream: the finished execution."""

    id: int | None
    execution: Execution


@dataclass(frozen=True)
class OtherEvent:
    """An event this client does not know, from a newer service; `data` is parsed if JSON."""

    id: int | None
    event: str
    data: Any


StreamEvent = OutputEvent | StatusEvent | ResultEvent | OtherEvent
