"""gql over HTTP, for a live client only: gql and graphql-core take ~50 ms to import, which a dry run
(no token), the code location and every run's process would otherwise pay at start (client.py imports
this module when it makes a client)."""

from __future__ import annotations

from typing import Any

import requests
from gql import Client, GraphQLRequest
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.requests import RequestsHTTPTransport

__all__ = [
    "Client",
    "GraphQLRequest",
    "StatusTransport",
    "TransportConnectionFailed",
    "TransportProtocolError",
    "TransportQueryError",
    "TransportServerError",
]


class StatusTransport(RequestsHTTPTransport):
    """gql's requests transport, remembering the HTTP status of the last answer."""

    last_status: int | None = None

    def _get_json_result(self, response: requests.Response) -> Any:
        self.last_status = response.status_code
        return super()._get_json_result(response)
