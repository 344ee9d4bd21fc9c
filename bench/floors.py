"""Each main page's raw-SQL floor: the fewest, plainest statements that yield the
figures the page shows, written by hand and run directly on a connection (no ORM, no
Flask, no template). A page's time divided by its floor says how much the application
adds on top of the database work it cannot avoid.

A floor is a list of (SQL, parameters) built from the day and the department's
values; the harness runs all of them, fetching every row, `--repeat` times.
"""
from datetime import date, timedelta

from wellness.rules import add_months

IN_PROGRESS = "('open', 'scheduled')"
ACTIVE_APPOINTMENT = "('booked', 'confirmed', 'reschedule_requested')"

# Counts by unit and dashboard state of every evaluation in progress (wellness.rules.dashboard_state).
STATE_COUNTS = f"""
SELECT o.unit_id, CASE
         WHEN o.status = 'leave' THEN 'paused'
         WHEN e.due_on < :day THEN 'overdue'
         WHEN e.status = 'open' AND e.due_on <= :soon THEN 'due_soon'
         WHEN a.status = 'confirmed' THEN 'confirmed'
         WHEN e.status = 'scheduled' THEN 'awaiting_confirmation'
         ELSE 'open' END AS state, count(*)
FROM wellness_evaluations e
JOIN officers o ON o.id = e.officer_id
LEFT JOIN appointments a ON a.evaluation_id = e.id AND a.status IN {ACTIVE_APPOINTMENT}
WHERE e.status IN {IN_PROGRESS} AND o.status <> 'separated'
GROUP BY 1, 2"""

# Per unit: officers, officers evaluated within the interval, evaluations completed within it.
UNIT_COMPLIANCE = """
SELECT u.id, u.name, count(o.id), count(CASE WHEN p.last_on >= :recent THEN 1 END), coalesce(sum(p.recent), 0)
FROM units u
JOIN officers o ON o.unit_id = u.id
LEFT JOIN (SELECT officer_id, max(completed_on) AS last_on,
                  count(CASE WHEN completed_on > :recent THEN 1 END) AS recent
           FROM wellness_evaluations WHERE status = 'completed' GROUP BY officer_id) p ON p.officer_id = o.id
WHERE o.status <> 'separated'
GROUP BY u.id, u.name"""

LICENSES = "SELECT count(*) FROM clinicians WHERE license_expires <= :soon"

ROSTER = """
SELECT o.id, o.badge_number, o.last_name, o.first_name, o.rank, o.status, u.name
FROM officers o JOIN units u ON u.id = o.unit_id
ORDER BY o.last_name, o.first_name, o.id LIMIT 50"""
ROSTER_COUNT = "SELECT count(*) FROM officers"


def floors(day: date, interval_months: int = 12) -> dict[str, list[tuple[str, dict]]]:
    """The floor of each page that has one, by the harness's page names."""
    values = {"day": day, "soon": day + timedelta(days=30), "recent": add_months(day, -interval_months)}
    dashboard = [(STATE_COUNTS, values), (UNIT_COMPLIANCE, values)]
    return {
        # The measure: the two aggregate queries that yield every figure of the
        # dashboard (its counts and its per-unit compliance), not its list of 50.
        "wellness dashboard": dashboard,
        "wellness dashboard (overdue)": dashboard,
        "home (hr)": [(STATE_COUNTS, values), (LICENSES, values)],
        "roster": [(ROSTER_COUNT, {}), (ROSTER, {})],
    }
