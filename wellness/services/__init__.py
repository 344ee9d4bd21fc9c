"""Use cases of wellness: clinicians, incidents, evaluations, appointments."""
