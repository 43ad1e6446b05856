"""Customer names: the canonical name (the partition key), the names seen in files, table names."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from pydantic import Field

from order_platform.config.loading import StrictModel, read_packaged_config

_NON_ALNUM = re.compile(r"[^0-9A-Z]+")


def _squash(name: str) -> str:
    """Compare names ignoring case, spaces and punctuation: `ED WONDER` == `EDWONDER`."""
    return _NON_ALNUM.sub("", name.upper())


DATE_ORDERS = ("DMY", "MDY")  # day first, month first
DateOrderName = Literal["DMY", "MDY"]


class CustomerEntry(StrictModel):
    """One customer of config/customers.json."""

    canonical: str
    aliases: list[str] = Field(default_factory=list)
    names_in_order_list: list[str] = Field(default_factory=list)
    date_order: DateOrderName | None = None  # how its text dates are written, when a workbook does not show it


class CustomersFile(StrictModel):
    """config/customers.json: the canonical names, their spellings, how text dates are read."""

    date_order_note: str | None = None  # for people, like `note`
    date_order_by_region_folder: dict[str, DateOrderName] = Field(default_factory=dict)
    customers: list[CustomerEntry]


@dataclass(frozen=True)
class CustomerDirectory:
    """Maps any known spelling of a customer to its canonical name; knows how its text dates are written."""

    canonical_by_squashed: dict[str, str]
    date_orders: dict[str, str] = field(default_factory=dict)  # canonical name -> DMY | MDY (customers.json)
    region_date_orders: dict[str, str] = field(default_factory=dict)  # region folder prefix -> DMY | MDY

    def date_order(self, customer: str) -> str | None:
        """The customer's configured day/month order for text dates, if any."""
        return self.date_orders.get(self.canonical(customer) or customer)

    def region_date_order(self, path: str) -> tuple[str | None, str | None]:
        """(order, folder) from the nearest folder of `path` whose name starts with a region prefix
        (`USA CUSTOMERS/...` -> MDY), ignoring case; (None, None) when no folder names a region."""
        for folder in reversed(path.replace("\\", "/").split("/")[:-1]):
            name = folder.strip().upper()
            for prefix, order in self.region_date_orders.items():
                if name.startswith(prefix.upper()):
                    return order, folder
        return None, None

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
    data = read_packaged_config(CustomersFile, "customers.json")
    mapping: dict[str, str] = {}
    for entry in data.customers:
        mapping[_squash(entry.canonical)] = entry.canonical
    # Aliases never override a canonical name (LAMBS is its own customer, not GET LAMBS).
    for entry in data.customers:
        for other in [*entry.aliases, *entry.names_in_order_list]:
            mapping.setdefault(_squash(other), entry.canonical)
    date_orders: dict[str, str] = {e.canonical: e.date_order for e in data.customers if e.date_order}
    return CustomerDirectory(mapping, date_orders, dict(data.date_order_by_region_folder))


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
    plain = _PLAIN_NAME.fullmatch(customer) or customer_directory().canonical(customer) == customer
    if plain and len(readable) <= MAX_TABLE_SUFFIX:
        return readable
    digest = hashlib.sha1(customer.encode("utf-8")).hexdigest()[:8]
    # SQL Server identifiers hold 128 characters: a long name keeps its start, the hash keeps it distinct.
    return f"{readable[: MAX_TABLE_SUFFIX - len(digest) - 1].rstrip('_')}_{digest}"


_LONGEST_TABLE_AFFIXES = len("x") + len("_ORDER_LIST_STAGING")
MAX_TABLE_SUFFIX = 128 - _LONGEST_TABLE_AFFIXES  # SQL Server's identifier limit


def shortened_table_note(customer: str) -> str | None:
    """The recorded mapping when a customer's name was too long for its table names as they are."""
    readable = _NON_ALNUM.sub("_", customer.upper()).strip("_")
    if table_suffix(customer).startswith(readable):
        return None
    return (
        f"customer name too long for a SQL Server table name (128 characters): its tables are "
        f"{raw_table_name(customer)} and {staging_table_name(customer)}"
    )
