"""Stable order-line ids: the same line gets the same id on every reload.

The id is a UUID5 of the customer and the team's order-line key (DOMAIN.md): AAG ORDER NUMBER,
PLANNED DELIVERY METHOD and CUSTOMER STYLE, extended by PO NUMBER, ALIAS/RELATED ITEM and
CUSTOMER ALT PO. ORDER TYPE is deliberately left out: it is a status (RECEIVED -> CANCELLED),
and a cancelled line must stay the same line downstream. Lines whose key is still identical get
an ordinal in source-row order, so exact duplicates stay distinct and keep their ids as long as
their relative order does.
"""

from __future__ import annotations

import uuid

import pandas as pd

LINE_ID_NAMESPACE = uuid.UUID("6c1f0a52-52a4-4f7e-9a55-3f7f4d0c2b11")
KEY_COLUMNS: tuple[str, ...] = (
    "AAG ORDER NUMBER",
    "PLANNED DELIVERY METHOD",
    "CUSTOMER STYLE",
    "PO NUMBER",
    "ALIAS/RELATED ITEM",
    "CUSTOMER ALT PO",
)


def _normalised(series: pd.Series) -> pd.Series:
    text = series.astype(object).where(series.notna(), "")
    return text.map(lambda v: " ".join(str(v).split()).upper())


def line_ids(customer: str, frame: pd.DataFrame) -> pd.Series:
    """One id per row of `frame` (rows in source order); missing key columns count as blank."""
    if frame.empty:
        return pd.Series([], dtype=object, index=frame.index)
    parts = [
        _normalised(frame[c]) if c in frame.columns else pd.Series("", index=frame.index) for c in KEY_COLUMNS
    ]
    key = parts[0].str.cat(parts[1:], sep="\x1f")
    ordinal = key.groupby(key, sort=False).cumcount().astype(str)
    names = (customer.upper() + "\x1e" + key + "\x1e" + ordinal).tolist()
    return pd.Series([str(uuid.uuid5(LINE_ID_NAMESPACE, n)) for n in names], index=frame.index, dtype=object)
