"""Use cases of 360-degree reviews, one module per area (see evaluations/__init__.py)."""
