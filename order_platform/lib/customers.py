"""Customer names: the canonical name (the partition key), the names seen in files, table names."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_NON_ALNUM = re.compile(r"[^0-9A-Z]+")


def _squash(name: str) -> str:
    """Compare names ignoring case, spaces and punctuation: `ED WONDER` == `EDWONDER`."""
    return _NON_ALNUM.sub("", name.upper())


@dataclass(frozen=True)
class CustomerDirectory:
    """Maps any known spelling of a customer to its canonical name."""

    canonical_by_squashed: dict[str, str]

    def canonical(self, name: str | None) -> str | None:
        """The canonical name for `name`, or None when the directory does not know it."""
        if name is None:
            return None
        squashed = _squash(str(name))
        return self.canonical_by_squashed.get(squashed) if squashed else None

    def partition_key(self, customer_in_file_name: str) -> str:
        """The customer's partition key: its canonical name, else the file's name, upper-cased."""
        return self.canonical(customer_in_file_name) or " ".join(customer_in_file_name.upper().split())

    def is_known(self, name: str) -> bool:
        return self.canonical(name) is not None


@cache
def customer_directory() -> CustomerDirectory:
    data = json.loads(
        resources.files("order_platform.config").joinpath("customers.json").read_text(encoding="utf-8")
    )
    mapping: dict[str, str] = {}
    for entry in data["customers"]:
        canonical = entry["canonical"]
        mapping[_squash(canonical)] = canonical
    # Aliases never override a canonical name (LAMBS is its own customer, not GET LAMBS).
    for entry in data["customers"]:
        for other in [*entry["aliases"], *entry["names_in_order_list"]]:
            mapping.setdefault(_squash(other), entry["canonical"])
    return CustomerDirectory(mapping)


def raw_table_name(customer_in_file_name: str) -> str:
    """`TITLE 9` -> `xTITLE_9_ORDER_LIST_RAW` (the production naming)."""
    return f"x{table_suffix(customer_in_file_name)}_ORDER_LIST_RAW"


def staging_table_name(customer_in_file_name: str) -> str:
    return f"x{table_suffix(customer_in_file_name)}_ORDER_LIST_STAGING"


def table_suffix(customer_in_file_name: str) -> str:
    suffix = _NON_ALNUM.sub("_", customer_in_file_name.upper()).strip("_")
    if not suffix:
        raise ValueError(f"customer name {customer_in_file_name!r} gives no usable table name")
    return suffix
