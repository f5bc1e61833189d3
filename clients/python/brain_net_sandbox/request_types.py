"""The bodies the service takes, as TypedDicts: what a request may hold, checked by a type checker.

No `from __future__ import annotations` here: TypedDict reads `Required` from the evaluated
annotations at run time.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Required, TypedDict

JsonObject = Mapping[str, Any]


class InputFile(TypedDict, total=False):
    """A file put in the code's working directory: inline `content` or an upload's `file_id`."""

    path: Required[str]
    content: str
    encoding: Literal["utf8", "base64"]
    file_id: str


class RunOptions(TypedDict, total=False):
    """Fields of a request that every input of a batch shares (see docs/api.md)."""

    timeout: float
    memory_mb: int
    cpus: float
    pids: int
    debug_mode: bool
    profile: bool
    callback_url: str
    runtime: str


class BatchInput(TypedDict, total=False):
    """What one run of a batch's code gets of its own."""

    input_data: JsonObject
    stdin: str
    files: Sequence[InputFile]


class ExecuteOptions(RunOptions, BatchInput, total=False):
    """The fields of POST /execute besides `code`."""

    processor_id: str


class ExecuteRequest(ExecuteOptions, total=False):
    """A whole POST /execute body: an item of a batch given as `items`."""

    code: str
