"""Small-number suppression for name-free figures (the command role, HR's monthly
counts of self-referrals). Pure: values in, values out.

A figure about fewer than `threshold` people could point at someone, so it is shown as
"fewer than N" and carries no number. A rate is shown only when the group, the part and
the rest are each at least N: 28 of 30 would tell that 2 are not, just as a count of 2
would. Totals are the caller's business (oversight.rules.total: the sum of what is shown).
"""
from dataclasses import dataclass
from statistics import median


@dataclass(frozen=True)
class Cell:
    text: str                 # what a person sees: "12", "fewer than 5", "87%", "4.5 days", "—"
    value: float | None       # the number behind it; None when it is not shown
    suppressed: bool = False
    count: int | None = None  # the people it counts, when shown (what a total adds up)


def hidden(threshold: int) -> Cell:
    return Cell(f"fewer than {threshold}", None, True)


NOTHING = Cell("—", None, False)


def count_cell(n: int, threshold: int) -> Cell:
    """A count of people: shown from `threshold` up."""
    if n < threshold:
        return hidden(threshold)
    return Cell(f"{n:,}", float(n), False, n)


def rate_cell(part: int, whole: int, threshold: int) -> Cell:
    """part/whole as a percentage, shown only when whole, part and whole - part are
    each at least `threshold` (otherwise the rest could be worked out)."""
    if whole == 0:
        return NOTHING
    if whole < threshold or part < threshold or whole - part < threshold:
        return hidden(threshold)
    percent = 100.0 * part / whole
    return Cell(f"{percent:.0f}%", round(percent, 1), False, whole)


def median_cell(values, threshold: int, unit: str = "days") -> Cell:
    """The median of one value per person: shown for `threshold` people or more."""
    values = list(values)
    if not values:
        return NOTHING
    if len(values) < threshold:
        return hidden(threshold)
    m = float(median(values))
    return Cell(f"{m:g} {unit}", m, False, len(values))


def sum_cell(total: float, people: int, threshold: int, unit: str = "hours") -> Cell:
    """A sum over `people` people (hours): shown when at least `threshold` contributed."""
    if people == 0:
        return NOTHING
    if people < threshold:
        return hidden(threshold)
    return Cell(f"{total:,.1f} {unit}", round(float(total), 1), False, people)
