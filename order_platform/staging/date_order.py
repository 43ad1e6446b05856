"""The day/month order of a workbook's text dates, decided once per workbook and remembered per customer.

`04/05/2025` is 4 May to one customer and 5 April to another. The order is decided for all the text
date columns of a workbook together, so one row never reads `03/04/2025` two ways, in this order:

1. the evidence in the workbook: dates that read only one way (`25/12/2025`, `12/25/2025`). When
   the workbook has both kinds, the order remembered for the customer stays (a few mistyped dates
   never turn every ambiguous date around); without a remembered order the larger count wins, and a
   tie goes on to the next rule. The dates that read only the other way are cell issues;
2. the customer's `date_order` in customers.json (a person's decision);
3. the order this customer's text dates were read in before (remembered in ORDER_LIST_DATE_ORDER
   when a load with text dates is published), so unrelated edits never flip untouched dates;
4. the region folder the workbook sits in (`USA CUSTOMERS` month first; `AUS`, `EU` day first);
5. day first.

A decision that differs from the remembered order (a workbook whose dates now read only the other
way) is reported (a note in the staging metadata and the load record), never silent.
"""

from __future__ import annotations

from dataclasses import dataclass

from order_platform.staging.dates import DayMonthEvidence

DMY, MDY = "DMY", "MDY"
_SPELLED = {DMY: "day first (dd/mm/yyyy)", MDY: "month first (mm/dd/yyyy)"}


@dataclass(frozen=True)
class DateOrderContext:
    """What is known about a customer's dates besides the workbook itself."""

    configured: str | None = None  # customers.json "date_order"
    remembered: str | None = None  # the order of the customer's last published load with text dates
    region: str | None = None  # from the region folder
    region_folder: str | None = None


@dataclass(frozen=True)
class DateOrder:
    order: str  # DMY | MDY
    decided_by: str  # evidence | configured | remembered | region | default
    evidence: DayMonthEvidence
    context: DateOrderContext

    @property
    def day_first(self) -> bool:
        return self.order == DMY

    @property
    def remember(self) -> bool:
        """Whether the workbook has text dates written day/month at all (then the order was used)."""
        return self.evidence.cells > 0

    @property
    def changed(self) -> bool:
        remembered = self.context.remembered
        return self.remember and remembered is not None and remembered != self.order

    @property
    def contradicting(self) -> int:
        """Text dates that read only the other way: cell issues."""
        return self.evidence.month_first if self.day_first else self.evidence.day_first

    def notes(self) -> list[str]:
        notes = []
        if self.changed:
            assert self.context.remembered is not None
            notes.append(
                f"text dates are now read {_SPELLED[self.order]}, decided by {self._why()}; earlier loads read "
                f"them {_SPELLED[self.context.remembered]}: ambiguous dates such as 04/05/2025 change meaning"
            )
        if self.contradicting:
            notes.append(
                f"{self.contradicting} text date(s) read only {_SPELLED[DMY if not self.day_first else MDY]}, "
                f"against the workbook's {_SPELLED[self.order]}: listed as cell issues (DATE_ORDER_CONFLICT)"
            )
        return notes

    def _why(self) -> str:
        e = self.evidence
        if self.decided_by == "evidence":
            return f"the workbook ({e.day_first} date(s) only read day first, {e.month_first} only month first)"
        if self.decided_by == "region":
            return f"the region folder {self.context.region_folder!r}"
        return {"configured": "the customer's date_order in customers.json", "default": "default"}.get(
            self.decided_by, self.decided_by
        )

    def details(self) -> dict:
        """For the staging metadata."""
        return {
            "order": self.order,
            "decided_by": self.decided_by,
            "day_first_evidence": self.evidence.day_first,
            "month_first_evidence": self.evidence.month_first,
            "text_dates": self.evidence.cells,
            "remembered": self.context.remembered,
            "configured": self.context.configured,
            "region": self.context.region,
            "region_folder": self.context.region_folder,
            "changed": self.changed,
        }


def decide_date_order(evidence: DayMonthEvidence, context: DateOrderContext) -> DateOrder:
    """The order a workbook's text dates are read in (see the module docstring for the rules)."""
    if evidence.day_first and evidence.month_first and context.remembered:
        return DateOrder(context.remembered, "remembered", evidence, context)
    if evidence.day_first != evidence.month_first:
        order = DMY if evidence.day_first > evidence.month_first else MDY
        return DateOrder(order, "evidence", evidence, context)
    for decided_by, chosen in (
        ("configured", context.configured),
        ("remembered", context.remembered),
        ("region", context.region),
    ):
        if chosen:
            return DateOrder(chosen, decided_by, evidence, context)
    return DateOrder(DMY, "default", evidence, context)
