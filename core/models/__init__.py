"""Core models, one module per entity."""
from core.models.audit import AuditEntry
from core.models.import_job import ImportJob, ImportState
from core.models.officer import Officer, OfficerStatus, Unit
from core.models.outbox import OutboxMessage, OutboxStatus
from core.models.user import AccountStatus, AccountToken, LoginSession, Role, TokenPurpose, User, UserRole

__all__ = [
    "AccountStatus", "AccountToken", "AuditEntry", "ImportJob", "ImportState", "LoginSession",
    "Officer", "OfficerStatus",
    "OutboxMessage", "OutboxStatus",
    "Role", "TokenPurpose", "Unit", "User", "UserRole",
]
