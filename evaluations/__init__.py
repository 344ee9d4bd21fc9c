"""360-degree reviews, review cycles, upward reviews, community metrics (issue 5)."""
