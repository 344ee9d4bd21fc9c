"""Wellness models, one module per entity."""
from wellness.models.appointment import ACTIVE_APPOINTMENT, Appointment, AppointmentStatus
from wellness.models.clinician import AvailabilityBlock, Clinician, Modality, WeeklyHours
from wellness.models.evaluation import EvaluationIncident, EvaluationKind, EvaluationStatus, WellnessEvaluation
from wellness.models.incident import CriticalIncident, IncidentOfficer, IncidentType, IncidentUnit

__all__ = [
    "ACTIVE_APPOINTMENT", "Appointment", "AppointmentStatus", "AvailabilityBlock", "Clinician", "CriticalIncident",
    "EvaluationIncident", "EvaluationKind", "EvaluationStatus", "IncidentOfficer", "IncidentType", "IncidentUnit",
    "Modality", "WeeklyHours", "WellnessEvaluation",
]
