"""360-degree reviews: rubrics, review cycles, reviews, upward reviews, community
metrics, reports (issue 5).

- `rules.py`: the pure decisions (assignments, the anonymity threshold and totals
  without hidden groups, composite and ranks, cycle moves, reminder leads, metrics
  validation, the community score).
- `models.py`: the tables; `seal.py`: sealing anonymous reviews while they wait;
  `pdf.py`: a subject report as PDF.
- `services/`: one module per area (rubrics, cycles, reviews, metrics, reports,
  reminders, demo), as in wellness/.

How an anonymous review (upward always, peer when the cycle says so) stays unlinkable
from its author, against HR, administrators and anyone with the database:

- Who has submitted is the assignment's status (rater, subject, group); it has no
  timestamp and nothing points from it to the review.
- On submission the review is *sealed* (AES-GCM under REVIEW_SEAL_KEY, a key of its
  own kept apart from the database, padded to one size, no timestamp) into
  `held_reviews`, which references only the cycle and the subject, in a transaction of
  its own after the rater's (which marks the assignment submitted): it touches nothing
  of the rater, and it rewrites the group's other held rows with it, so they all carry
  its xmin. Drafts of anonymous reviews stay in the rater's browser.
- When a subject's group has at least the cycle's threshold of held reviews (or the
  cycle closes), one transaction of its own unseals them all and inserts them into
  `anonymous_reviews` in random order, with random UUID keys (on SQLite a WITHOUT ROWID
  table, so storage order is the key's), and deletes the held rows (then VACUUM, on
  PostgreSQL, where the role may). Every released row thus shares a transaction with at
  least threshold - 1 others and with nobody's submission.
- Results show only for groups at or above the threshold (rules.group_result); a
  hidden group is left out of every total (rules.overall, the matrix's composite).
- The audit log says "submitted an upward review in cycle X", nothing more.

- At the close, a group's reviews still held are released only if they reach the
  threshold on their own. Upward groups that never did are pooled by unit ("supervisors
  of this unit", services.pools) when the pool reaches the threshold; the rest are
  deleted unread: released alone, they could be told apart by comparing the results
  before and after, or by who submitted last.
- Saves, releases and the close take the cycle's row (reviews.lock_cycle), so they
  happen one after another: no double submit, no review lost to a racing close.

`init_app(app)` plugs the package in after core: its pages (blueprint "reviews"), its
menu entries and home panel, its reminder sweep, the metrics import, its commands and
demo data.
"""
import logging

from core import scheduler, web
from core.models import Role
from core.services import imports
from evaluations import cli, views
from evaluations.services import demo, metrics, reminders, reviews


def init_app(app) -> None:
    app.register_blueprint(views.bp)
    # A failed statement is logged without its values (see core.web.WithheldDetails).
    logging.getLogger(reviews.__name__).addFilter(web.WITHHELD_DETAILS)
    web.add_home_panel(app, Role.OFFICER, reviews.todo, "reviews/home_officer.html")
    web.add_nav(app, "My reviews", "reviews.mine", roles=(Role.OFFICER,), order=31)
    web.add_nav(app, "Reviews", "reviews.cycle_list", roles=(Role.HR,), order=35)
    scheduler.add_reminder_sweep(app, "reviews", reminders.sweep)
    imports.add_kind(app, "metrics", metrics.import_metrics)
    app.extensions.setdefault("beacon.demo", []).append(demo.seed)
    cli.register(app)
