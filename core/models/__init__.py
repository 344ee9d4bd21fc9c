"""Core models, one module per entity."""
from core.models.audit import AuditChainHead, AuditEntry
from core.models.email_change import EmailChange, EmailChangeStatus
from core.models.grant import PRIVILEGED, GrantAction, GrantStatus, RoleGrant
from core.models.import_job import ImportJob, ImportState
from core.models.officer import Officer, OfficerStatus, SupervisorSpell, Unit
from core.models.outbox import OutboxMessage, OutboxStatus
from core.models.user import (AccountStatus, AccountToken, LoginSession, RecoveryCode, Role, TokenPurpose, User,
                              UserRole)

__all__ = [
    "AccountStatus", "AccountToken", "AuditChainHead", "AuditEntry", "GrantAction", "GrantStatus", "ImportJob",
    "ImportState", "LoginSession",
    "EmailChange", "EmailChangeStatus", "Officer", "OfficerStatus",
    "OutboxMessage", "OutboxStatus", "PRIVILEGED", "RecoveryCode",
    "Role", "RoleGrant", "SupervisorSpell", "TokenPurpose", "Unit", "User", "UserRole",
]
