"""Domain errors. Services raise them; views catch them and show the message."""


class DomainError(Exception):
    """A request that makes no sense in the current state; the message is for the user."""


class Forbidden(DomainError):
    """The acting user may not do this."""


class NotFound(DomainError):
    """No such record (or one the actor may not know exists)."""
