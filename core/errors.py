"""Domain errors. Services raise them; views catch DomainError and show its message.

Forbidden and NotFound are not DomainErrors: a view that shows a DomainError beside a
form lets these pass through to the 403 and 404 pages.
"""


class DomainError(Exception):
    """A request that makes no sense in the current state; the message is for the user."""


class AccessError(Exception):
    """The actor may not do this, or may not know the record exists."""


class Forbidden(AccessError):
    """The acting user may not do this (403)."""


class NotFound(AccessError):
    """No such record, or one the actor may not know exists (404)."""
