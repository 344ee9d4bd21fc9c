"""Wellness models, one module per entity."""
from wellness.models.attention import KINDS as ATTENTION_KINDS, AttentionItem
from wellness.models.appointment import ACTIVE_APPOINTMENT, Appointment, AppointmentStatus
from wellness.models.calendar_feed import CalendarFeed
from wellness.models.clinician import AvailabilityBlock, Clinician, Modality, WeeklyHours
from wellness.models.evaluation import (
    ONE_OPEN_PREDICATE, EvaluationIncident, EvaluationKind, EvaluationStatus, WellnessEvaluation,
)
from wellness.models.incident import CriticalIncident, IncidentOfficer, IncidentType, IncidentUnit
from wellness.models.job_problem import JobProblem
from wellness.models.private_address import PrivateAddress
from wellness.models.support import SupportKind, SupportResource

__all__ = [
    "ACTIVE_APPOINTMENT", "ATTENTION_KINDS", "Appointment", "AttentionItem",
    "AppointmentStatus", "AvailabilityBlock", "CalendarFeed", "Clinician", "CriticalIncident",
    "EvaluationIncident", "EvaluationKind", "EvaluationStatus", "IncidentOfficer", "IncidentType", "IncidentUnit",
    "JobProblem", "Modality", "ONE_OPEN_PREDICATE", "PrivateAddress", "SupportKind", "SupportResource", "WeeklyHours",
    "WellnessEvaluation",
]
