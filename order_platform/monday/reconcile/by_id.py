"""Archive or delete items by id, many aliased per request, for the repairs that are not a line's own
planned change: a second item of one line, an item of a line gone from ORDER_LIST or scope (archived),
a subitem added by hand (deleted).

Both mutations are idempotent: after an ambiguous answer (timeout, dropped connection, 5xx) the batch
is simply sent again; an item already gone counts as done.
"""

from __future__ import annotations

import logging

from order_platform.monday.api.client import AmbiguousMutationError, MondayClient, MondayRequestError, error_code
from order_platform.monday.apply.executor import NOT_FOUND_CODES

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def apply_by_id(client: MondayClient, mutation: str, item_ids: list[str], batch: int) -> dict[str, str]:
    """`mutation` (archive_item | delete_item) on each id; returns the ids that failed -> error."""
    failed: dict[str, str] = {}
    ids = list(dict.fromkeys(item_ids))
    for start in range(0, len(ids), max(1, batch)):
        failed.update(_batch(client, mutation, ids[start : start + batch]))
    return failed


def _batch(client: MondayClient, mutation: str, ids: list[str]) -> dict[str, str]:
    definitions = ", ".join(f"$i{n}: ID" for n in range(len(ids)))
    fields = " ".join(f"m{n}: {mutation}(item_id: $i{n}) {{ id }}" for n in range(len(ids)))
    variables = {f"i{n}": item_id for n, item_id in enumerate(ids)}
    document = f"mutation ({definitions}) {{ {fields} }}"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            response = client.mutate(document, variables, units=len(ids))
        except AmbiguousMutationError as exc:
            log.warning("%s of %d item(s) ambiguous (%s); sending again", mutation, len(ids), exc.message)
            client.backoff(attempt)
            continue
        except MondayRequestError as exc:
            if len(ids) == 1:
                return {} if exc.code in NOT_FOUND_CODES else {ids[0]: f"{exc.code}: {exc.message}"}
            half = len(ids) // 2  # one bad id rejects the request: bisect
            return {**_batch(client, mutation, ids[:half]), **_batch(client, mutation, ids[half:])}
        errors = response.errors_by_alias()
        failed: dict[str, str] = {}
        for n, item_id in enumerate(ids):
            if (response.data.get(f"m{n}") or {}).get("id"):
                continue
            error = errors.get(f"m{n}", {"message": "no result"})
            if error_code(error) not in NOT_FOUND_CODES:
                failed[item_id] = f"{error_code(error)}: {error.get('message', '')}"
        return failed
    return {item_id: f"{mutation}: no answer after {MAX_ATTEMPTS} attempts" for item_id in ids}
