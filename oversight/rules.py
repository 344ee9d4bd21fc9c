"""The command role's figures as tables and series, with small numbers suppressed
(core.suppression) and totals that are the sum of what is shown. Pure."""
from dataclasses import dataclass, field
from datetime import date, timedelta

from core.suppression import NOTHING, Cell, count_cell, hidden, rate_cell


# A figure that is not small itself but would give away one that is.
NOT_SHOWN = Cell("not shown", None, True)


@dataclass
class Row:
    label: str
    cells: list[Cell]
    suppressed: bool = False   # left out of the total (some of its cells are not shown)


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]                  # the first is the group's name
    rows: list[Row] = field(default_factory=list)
    total: Row | None = None
    note: str = ""                      # how many groups were left out of the total, never their size

    def has_rows(self) -> bool:
        return bool(self.rows)


@dataclass
class Series:
    key: str
    title: str
    months: list[date]
    points: list[Cell]
    unit: str = "%"
    note: str = ""


def split(part: int, whole: int, threshold: int) -> tuple[list[Cell], bool]:
    """A group of `whole` people of whom `part` did something: [whole, part, rest, rate].
    The group's size shows from the threshold up; the part, the rest and the rate show
    only together, when each side is at least the threshold (one shown side and the size
    would give away the other). A side under the threshold says "fewer than N"; a side
    that is not small but is hidden with it, and the rate, say "not shown" (never a false
    "fewer than N" for 30 of 30). Returns the cells and whether the split is shown."""
    size = count_cell(whole, threshold)
    if size.suppressed:
        return [size, hidden(threshold), hidden(threshold), hidden(threshold)], False
    if whole == 0:
        return [size, NOTHING, NOTHING, NOTHING], False
    rate = rate_cell(part, whole, threshold)
    if rate.suppressed:
        sides = [count_cell(n, threshold) if n < threshold else NOT_SHOWN for n in (part, whole - part)]
        return [size, *sides, NOT_SHOWN], False
    return [size, count_cell(part, threshold), count_cell(whole - part, threshold), rate], True


def split_table(key: str, title: str, columns: list[str], groups: list[tuple[str, int, int]], threshold: int,
                total_label: str) -> Table:
    """One row per (label, part, whole) through `split`; the total adds up only the rows
    whose split is shown, so nothing hidden can be had by subtracting."""
    table = Table(key, title, columns)
    part_sum = whole_sum = left_out = 0
    for label, part, whole in groups:
        cells, shown = split(part, whole, threshold)
        table.rows.append(Row(label, cells, suppressed=not shown))
        if shown:
            part_sum, whole_sum = part_sum + part, whole_sum + whole
        elif whole:
            left_out += 1
    if whole_sum:
        cells, _ = split(part_sum, whole_sum, threshold)
        table.total = Row(total_label, cells)
    table.note = left_out_note(left_out, threshold)
    return table


def left_out_note(left_out: int, threshold: int, what: str = "group") -> str:
    if not left_out:
        return ""
    plural = what if left_out == 1 else what + "s"
    return (f"{left_out} {plural} with a figure under {threshold} {'is' if left_out == 1 else 'are'} "
            f"left out of the total: a figure under {threshold} shows as \u201cfewer than {threshold}\u201d, "
            "and one that would give it away as \u201cnot shown\u201d.")


def ranks(values: list[float]) -> list[float]:
    """Ranks 1..n, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return result


def spearman(xs: list[float], ys: list[float]) -> float | None:
    """Spearman's rank correlation (Pearson's on the ranks, so ties are fair); None when
    it is undefined (fewer than two, or one side all equal)."""
    if len(xs) != len(ys) or len(xs) < 2:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if not vx or not vy:
        return None
    return cov / (vx * vy) ** 0.5


def agreement_words(rho: float | None) -> str:
    """How far performance and seniority order the same people alike, in words."""
    if rho is None:
        return "cannot be told"
    if rho >= 0.7:
        return "agree strongly"
    if rho >= 0.4:
        return "agree somewhat"
    if rho >= 0.1:
        return "barely agree"
    if rho > -0.1:
        return "unrelated"
    return "disagree"


# --- kept as JSON (the quarterly report keeps its figures as they were) --------------------

def _cell_dict(cell: Cell) -> dict:
    return {"text": cell.text, "value": cell.value, "suppressed": cell.suppressed, "count": cell.count}


def _cell(d: dict) -> Cell:
    return Cell(d["text"], d["value"], d["suppressed"], d.get("count"))


def _row_dict(row: Row) -> dict:
    return {"label": row.label, "cells": [_cell_dict(c) for c in row.cells], "suppressed": row.suppressed}


def _row(d: dict) -> Row:
    return Row(d["label"], [_cell(c) for c in d["cells"]], d["suppressed"])


def table_to_dict(table: Table) -> dict:
    return {"key": table.key, "title": table.title, "columns": table.columns,
            "rows": [_row_dict(r) for r in table.rows],
            "total": _row_dict(table.total) if table.total else None, "note": table.note}


def table_from_dict(d: dict) -> Table:
    return Table(d["key"], d["title"], d["columns"], [_row(r) for r in d["rows"]],
                 _row(d["total"]) if d["total"] else None, d["note"])


def series_to_dict(series: Series) -> dict:
    return {"key": series.key, "title": series.title, "months": [m.isoformat() for m in series.months],
            "points": [_cell_dict(c) for c in series.points], "unit": series.unit, "note": series.note}


def series_from_dict(d: dict) -> Series:
    return Series(d["key"], d["title"], [date.fromisoformat(m) for m in d["months"]],
                  [_cell(c) for c in d["points"]], d["unit"], d["note"])


def quarter_of(day: date) -> tuple[date, date]:
    """The calendar quarter holding `day`: its first and last day."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    end = date(day.year + (first_month == 10), 1 if first_month == 10 else first_month + 3, 1)
    return start, end - timedelta(days=1)


def parse_quarter(text: str) -> tuple[date, date] | None:
    """'2026Q3' or '2026-Q3' -> the quarter's first and last day; None if not one."""
    text = (text or "").strip().upper().replace("-", "")
    if len(text) != 6 or text[4] != "Q" or not text[:4].isdigit() or text[5] not in "1234":
        return None
    year, q = int(text[:4]), int(text[5])
    if not 2000 <= year <= 2100:
        return None
    return quarter_of(date(year, 3 * q - 2, 1))


def quarter_name(start: date) -> str:
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
