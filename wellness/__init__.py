"""Wellness evaluations: clinicians, critical incidents, appointments (issue 3)."""
