"""Cutting a page: one helper for every paged list, and the Page the templates read
(shaped like Flask-SQLAlchemy's Pagination: items, total, page, pages, has_prev, ...)."""
from collections.abc import Sequence
from dataclasses import dataclass, replace
from math import ceil

from sqlalchemy import Select, func, select

from core.db import db


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(ceil(self.total / self.per_page), 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    def map(self, shape) -> "Page":
        """The same page with each item passed through `shape` (a row into a line)."""
        return replace(self, items=[shape(item) for item in self.items])


def paginate(source: Select | Sequence, page: int, per_page: int, *, rows: bool = False) -> Page:
    """Page number `page` (1 and up; below 1 counts as 1) of `source`, `per_page` items.

    A query costs two statements whatever its size: one COUNT of the query without its
    ordering, and one slice (LIMIT/OFFSET). Its items are the first column of each row
    (an entity, for `select(Model)`), or the whole rows with `rows=True`. A list
    already in memory (one whose order needs every line, like the ranked matrix) is
    sliced as it is. A page past the last one is empty, never an error."""
    page = max(page, 1)
    start = (page - 1) * per_page
    if not isinstance(source, Select):
        return Page(list(source[start:start + per_page]), len(source), page, per_page)
    total = db.session.scalar(select(func.count()).select_from(source.order_by(None).subquery()))
    result = db.session.execute(source.limit(per_page).offset(start))
    return Page(list(result) if rows else list(result.scalars()), total, page, per_page)
