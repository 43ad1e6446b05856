"""Customer names: the canonical name (the partition key), the names seen in files, table names."""

from __future__ import annotations

import hashlib
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


def raw_table_name(customer: str) -> str:
    """`TITLE NINE` -> `xTITLE_NINE_ORDER_LIST_RAW`: named after the partition key (the canonical
    customer), so a renamed workbook of the same customer replaces the same tables and slice."""
    return f"x{table_suffix(customer)}_ORDER_LIST_RAW"


def staging_table_name(customer: str) -> str:
    return f"x{table_suffix(customer)}_ORDER_LIST_STAGING"


_PLAIN_NAME = re.compile(r"[0-9A-Z]+(?: [0-9A-Z]+)*")


def table_suffix(customer: str) -> str:
    """The customer's part of its table names, distinct for distinct customers.

    Plain names (letters, digits, single spaces) and the directory's customers read as they are:
    `TITLE 9` -> `TITLE_9`, `B'HOOD` -> `B_HOOD` (any name that reads the same is that customer). Other
    names (`ACME CO.`, `CAFÉ`, `A_B`) get a short hash of the exact name as well, because replacing
    punctuation or accents alone would give two customers one table (`ACME CO` and `ACME CO.`).
    """
    readable = _NON_ALNUM.sub("_", customer.upper()).strip("_") or "CUSTOMER"
    if _PLAIN_NAME.fullmatch(customer) or customer_directory().canonical(customer) == customer:
        return readable
    return f"{readable}_{hashlib.sha1(customer.encode('utf-8')).hexdigest()[:8]}"
