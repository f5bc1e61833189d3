"""Server-Sent Events read line by line, as the WHATWG "event stream" format defines them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    event: str
    id: str | None
    data: str


def messages(lines: Iterable[bytes]) -> Iterator[Message]:
    """The messages of a stream given as its raw lines; a message cut off by the end is dropped."""
    event = ""
    data: list[str] = []
    last_id: str | None = None
    for raw in lines:
        line = raw.decode("utf-8").removesuffix("\n").removesuffix("\r")
        if not line:
            # A blank line ends a message; one without data is no message (only its id counts).
            if data:
                yield Message(event or "message", last_id, "\n".join(data))
            event, data = "", []
            continue
        if line.startswith(":"):
            continue  # a comment: the service's keep-alive
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            last_id = value
