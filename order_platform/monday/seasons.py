"""The season calendar: which AAG seasons are open on a given day, so the board's scope follows the
calendar instead of naming a season that someone must change at every season turn.

AAG SEASON values are `<YEAR> <NAME>` (`2026 FALL`). Each season ships in its delivery window
(months of its year; the windows are the company's, in the mapping's `season_calendar`). On a day,
the *current* season is the one whose window holds that day; the open seasons are the current one
and the ones after it: `open_seasons: 2` on 2026-12-05 is `2026 HOLIDAY` (shipping Oct-Dec) and
`2027 SPRING`. On 2027-01-01 the scope moves to `2027 SPRING` and `2027 SUMMER`.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, model_validator

from order_platform.config.loading import StrictModel


class SeasonWindow(StrictModel):
    name: str  # SPRING, SUMMER, FALL, HOLIDAY
    first_month: int = Field(ge=1, le=12)  # delivery window: months of the season's year
    last_month: int = Field(ge=1, le=12)


DEFAULT_WINDOWS = (
    SeasonWindow(name="SPRING", first_month=1, last_month=3),
    SeasonWindow(name="SUMMER", first_month=4, last_month=6),
    SeasonWindow(name="FALL", first_month=7, last_month=9),
    SeasonWindow(name="HOLIDAY", first_month=10, last_month=12),
)


class SeasonCalendar(StrictModel):
    """The seasons of a year in order, each with its delivery window; together they cover the year."""

    seasons: list[SeasonWindow] = Field(default_factory=lambda: list(DEFAULT_WINDOWS))

    @model_validator(mode="after")
    def _covers_the_year(self) -> SeasonCalendar:
        months = [m for s in self.seasons for m in range(s.first_month, s.last_month + 1)]
        if sorted(months) != list(range(1, 13)) or months != sorted(months):
            raise ValueError("season_calendar: the delivery windows must cover January to December once, in order")
        return self

    def current(self, day: dt.date) -> tuple[int, int]:
        """(year, index of the season) shipping on `day`."""
        index = next(i for i, s in enumerate(self.seasons) if s.first_month <= day.month <= s.last_month)
        return day.year, index

    def open_seasons(self, day: dt.date, count: int) -> list[str]:
        """The AAG SEASON values of the current season and the `count - 1` after it."""
        year, index = self.current(day)
        names = []
        for _ in range(count):
            names.append(f"{year} {self.seasons[index].name}")
            index += 1
            if index == len(self.seasons):
                year, index = year + 1, 0
        return names
