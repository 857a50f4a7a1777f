"""A fully read HTTP reply, tolerant of Exchange's undecodable error bodies.

Exchange answers some refusals with a run of NUL bytes declared as gzip (wire reference 3.6);
reading such a body raises in the HTTP library, so the body is read here once and kept as
`None` when it cannot be decoded. Parsers then work on plain data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx2


@dataclass(frozen=True)
class Reply:
    status: int
    headers: httpx2.Headers
    body: bytes | None

    @property
    def request_id(self) -> str | None:
        return self.headers.get("request-id")

    def text(self) -> str:
        if not self.body:
            return ""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The JSON body, or None when there is none or it is not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


async def read_reply(http: httpx2.AsyncClient, request: httpx2.Request) -> Reply:
    response = await http.send(request, stream=True)
    try:
        try:
            body: bytes | None = await response.aread()
        except httpx2.DecodingError:
            body = None
    finally:
        await response.aclose()
    return Reply(response.status_code, response.headers, body)
