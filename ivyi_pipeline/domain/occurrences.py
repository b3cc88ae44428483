"""When an occasion occurs: yearly recurrences, lead windows and their month-day ranges."""

import calendar
from datetime import date, timedelta


def occurrence_in_year(original: date, year: int) -> date:
    """The occasion's date in year; 29 February falls on the 28th in common years."""
    if original.month == 2 and original.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return original.replace(year=year)


def occurrences_between(original: date, recurs_yearly: bool, start: date, end: date) -> list[date]:
    """Every occurrence of an occasion within [start, end], none before the original date."""
    if not recurs_yearly:
        return [original] if start <= original <= end else []
    found = []
    for year in range(max(start.year, original.year), end.year + 1):
        day = occurrence_in_year(original, year)
        if start <= day <= end and day >= original:
            found.append(day)
    return found


def month_day(day: date) -> int:
    """MMDD as an integer, the indexed key of yearly occasions."""
    return day.month * 100 + day.day


def month_day_ranges(start: date, end: date) -> list[tuple[int, int]]:
    """Inclusive MMDD ranges that hold every yearly occurrence in [start, end].

    The ranges may hold a little more (29 February rows ride along with the 28th);
    occurrences_between makes the exact cut.
    """
    if end < start:
        return []
    if (end - start) >= timedelta(days=365):
        return [(101, 1231)]
    lo, hi = month_day(start), month_day(end)
    if hi == 228:
        hi = 229
    if start.year == end.year:
        return [(lo, hi)]
    return [(lo, 1231), (101, hi)]


def lead_window_end(today: date, lead_days: int) -> date:
    """The last occurrence date the lead window reaches on `today`: detection looks at
    [today, today + lead_days]."""
    return today + timedelta(days=lead_days)
