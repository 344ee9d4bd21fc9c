"""Every route × every role: the server allows exactly the roles that may use it.

ROUTES lists every rule of the app; a test fails when a new route is added without
being listed here, so no page ships without its role check being tested.
"""
import pytest

from core import clock
from tests import factories

ROLES = ["anonymous", "officer", "clinician", "hr", "admin", "command"]
PUBLIC = set(ROLES)
SIGNED_IN = {"officer", "clinician", "hr", "admin", "command"}

# (method, path, roles allowed). {officer}/{user} are filled in per test.
ROUTES = [
    ("GET", "/login", PUBLIC),
    ("POST", "/login", PUBLIC),
    ("POST", "/password/forgot", PUBLIC),
    ("GET", "/healthz", PUBLIC),
    ("GET", "/password/forgot", PUBLIC),
    ("GET", "/password/link", PUBLIC),
    ("POST", "/password/link", PUBLIC),
    ("GET", "/password/set", PUBLIC),   # without a link exchanged in this browser: back to /password/link
    ("POST", "/password/set", PUBLIC),
    ("GET", "/account/email/confirm", PUBLIC),    # the code rides in the fragment, posted by the page
    ("POST", "/account/email/confirm", PUBLIC),
    ("GET", "/login/code", PUBLIC),     # without a password given in this browser: back to /login
    ("POST", "/login/code", PUBLIC),
    ("GET", "/login/setup", PUBLIC),
    ("POST", "/login/setup", PUBLIC),
    ("GET", "/account/two-step", SIGNED_IN),
    ("GET", "/account/two-step/setup", SIGNED_IN),
    ("POST", "/account/two-step/setup", SIGNED_IN),
    ("POST", "/account/two-step/recovery-codes", SIGNED_IN),
    ("POST", "/account/two-step/off", SIGNED_IN),
    ("GET", "/", SIGNED_IN),
    ("GET", "/account/password", SIGNED_IN),
    ("POST", "/account/password", SIGNED_IN),
    ("POST", "/logout", SIGNED_IN),
    ("GET", "/roster/", {"hr", "admin"}),
    ("GET", "/roster/{officer}", {"hr", "admin"}),
    ("GET", "/roster/export.csv", {"hr", "admin"}),
    ("GET", "/roster/import", {"hr"}),
    ("POST", "/roster/import", {"hr"}),
    ("GET", "/roster/import/{roster_import}", {"hr"}),
    ("GET", "/roster/import/{roster_import}/status", {"hr"}),
    ("POST", "/roster/import/{roster_import}/confirm", {"hr"}),
    ("GET", "/roster/accounts", {"hr", "admin"}),
    ("POST", "/roster/accounts", {"hr", "admin"}),
    ("GET", "/admin/accounts", {"admin"}),
    ("GET", "/admin/accounts/new", {"admin"}),
    ("POST", "/admin/accounts/new", {"admin"}),
    ("GET", "/admin/accounts/{user}", {"admin"}),
    ("POST", "/admin/accounts/{user}/roles", {"admin"}),
    ("GET", "/admin/grants", {"admin"}),
    ("POST", "/admin/grants/{grant}/approve", {"admin"}),
    ("POST", "/admin/grants/{grant}/reject", {"admin"}),
    ("GET", "/admin/accounts/{user}/disable", {"admin"}),
    ("POST", "/admin/accounts/{user}/disable", {"admin"}),
    ("POST", "/admin/accounts/{user}/enable", {"admin"}),
    ("POST", "/admin/accounts/{user}/unlock", {"admin"}),
    ("POST", "/admin/accounts/{user}/invite", {"admin"}),
    ("POST", "/admin/accounts/{user}/two-step-reset", {"admin"}),
    ("GET", "/admin/access-review", {"admin"}),
    ("GET", "/admin/access-review.csv", {"admin"}),
    ("GET", "/admin/audit", {"admin"}),
    ("GET", "/admin/audit.csv", {"admin"}),
    ("GET", "/admin/outbox/", {"admin"}),
    ("GET", "/admin/outbox/m/{message}", {"admin"}),
    ("POST", "/admin/outbox/m/{message}/retry", {"admin"}),
    ("GET", "/admin/outbox/reminders", {"hr"}),
    ("GET", "/wellness/audit", {"hr"}),
    ("GET", "/wellness/audit.csv", {"hr"}),
    ("GET", "/admin/outbox/export.csv", {"admin"}),
    ("GET", "/notices/", {"hr", "admin"}),
    ("GET", "/notices/new", {"hr"}),
    ("POST", "/notices/new", {"hr"}),
    ("GET", "/notices/{notice}", {"hr", "admin"}),
    ("GET", "/notices/{notice}/approve", {"hr", "admin"}),   # the confirmation: changes nothing
    ("POST", "/notices/{notice}/approve", {"hr", "admin"}),
    ("POST", "/notices/{notice}/reject", {"hr", "admin"}),
    # Only the notice's author (an HR member, not the test's): nobody else.
    ("GET", "/notices/{notice}/edit", set()),
    ("POST", "/notices/{notice}/edit", set()),
    ("POST", "/notices/{notice}/withdraw", set()),
    ("POST", "/notices/{notice}/undo-withdraw", set()),
    # Wellness. Officers and clinicians reach only their own records: the test's officer
    # and clinician own none of the targets, so they get 404 there (existence is private).
    ("GET", "/wellness/", {"hr"}),
    ("GET", "/wellness/dashboard.csv", {"hr"}),
    ("GET", "/wellness/attention", {"hr"}),
    ("POST", "/wellness/attention/{item}/keep", {"hr"}),
    ("GET", "/wellness/officers/{officer}", {"hr"}),
    ("GET", "/wellness/incidents", {"hr"}),
    ("POST", "/wellness/incident-types", {"hr"}),
    ("GET", "/wellness/incidents/new", {"hr"}),
    ("POST", "/wellness/incidents/new", {"hr"}),
    ("GET", "/wellness/incidents/{incident}", {"hr"}),
    ("GET", "/wellness/incidents/{incident}/edit", {"hr"}),
    ("POST", "/wellness/incidents/{incident}/edit", {"hr"}),
    ("GET", "/wellness/incidents/{incident}/affected", {"hr"}),
    ("POST", "/wellness/incidents/{incident}/affected", {"hr"}),
    ("GET", "/wellness/incidents/{incident}/withdraw", {"hr"}),
    ("POST", "/wellness/incidents/{incident}/withdraw", {"hr"}),
    ("GET", "/wellness/clinicians", {"hr"}),
    ("GET", "/wellness/clinicians/new", {"hr"}),
    ("POST", "/wellness/clinicians/new", {"hr"}),
    ("GET", "/wellness/clinicians/{clinician}", {"hr"}),
    ("POST", "/wellness/clinicians/{clinician}", {"hr"}),
    ("POST", "/wellness/clinicians/{clinician}/account", {"hr"}),
    ("POST", "/wellness/clinicians/{clinician}/hours", {"hr"}),
    ("POST", "/wellness/hours/{hours}/delete", {"hr"}),
    ("POST", "/wellness/clinicians/{clinician}/blocks", {"hr"}),
    ("POST", "/wellness/blocks/{block}/delete", {"hr"}),
    ("GET", "/wellness/evaluations/{evaluation}/book", {"hr"}),
    ("POST", "/wellness/evaluations/{evaluation}/book", {"hr"}),
    ("GET", "/wellness/appointments/{appointment}/move", {"hr"}),
    ("POST", "/wellness/appointments/{appointment}/move", {"hr"}),
    ("GET", "/wellness/appointments/{appointment}/cancel", {"hr"}),  # the confirmation; and its officer
    ("POST", "/wellness/appointments/{appointment}/cancel", {"hr"}),
    ("POST", "/wellness/appointments/{appointment}/undo-cancel", {"hr"}),  # refused unless they cancelled it
    ("POST", "/wellness/appointments/{appointment}/accept", {"hr"}),
    ("POST", "/wellness/appointments/{appointment}/refuse", {"hr"}),
    ("GET", "/wellness/appointments/{appointment}/calendar.ics", {"hr"}),  # and its officer and clinician
    ("GET", "/wellness/me", {"officer"}),
    ("POST", "/wellness/appointments/{appointment}/request-reschedule", set()),
    ("GET", "/wellness/clinic", {"clinician"}),
    ("GET", "/wellness/clinic/hours", {"clinician"}),
    ("GET", "/wellness/clinic/appointments/{appointment}", set()),
    ("POST", "/wellness/appointments/{appointment}/confirm", set()),
    ("POST", "/wellness/appointments/{appointment}/decline", set()),
    ("POST", "/wellness/appointments/{appointment}/propose", set()),
    ("POST", "/wellness/appointments/{appointment}/attended", set()),
    ("GET", "/wellness/appointments/{appointment}/no-show", set()),   # the confirmation step
    ("POST", "/wellness/appointments/{appointment}/no-show", set()),
    # Calendar feeds: each clinician and officer their own (no id in the address).
    ("GET", "/wellness/calendar-feed", {"officer", "clinician"}),
    ("POST", "/wellness/calendar-feed/new", {"officer", "clinician"}),
    ("GET", "/wellness/calendar-feed/replace", {"officer", "clinician"}),
    ("GET", "/wellness/calendar-feed/revoke", {"officer", "clinician"}),
    ("POST", "/wellness/calendar-feed/revoke", {"officer", "clinician"}),
    # The private channel: each officer their own address (no id); the link page is anyone's.
    ("GET", "/wellness/private-address", {"officer"}),
    ("POST", "/wellness/private-address", {"officer"}),
    ("GET", "/wellness/private-address/remove", {"officer"}),
    ("POST", "/wellness/private-address/remove", {"officer"}),
    ("GET", "/wellness/private-address/confirm", PUBLIC),   # the code rides in the fragment, posted by the page
    ("POST", "/wellness/private-address/confirm", PUBLIC),
    # Support after an incident: the page is everyone's (nothing recorded), the list HR's.
    ("GET", "/wellness/support", SIGNED_IN),
    ("GET", "/wellness/support-resources", {"hr"}),
    ("GET", "/wellness/support-resources/new", {"hr"}),
    ("POST", "/wellness/support-resources/new", {"hr"}),
    ("GET", "/wellness/support-resources/{support_resource}", {"hr"}),
    ("POST", "/wellness/support-resources/{support_resource}", {"hr"}),
    ("POST", "/wellness/support-resources/{support_resource}/hide", {"hr"}),
    ("POST", "/wellness/support-resources/{support_resource}/show", {"hr"}),
    ("POST", "/wellness/support-resources/{support_resource}/up", {"hr"}),
    ("POST", "/wellness/support-resources/{support_resource}/down", {"hr"}),
    # Reviews. The target cycle is published; its subject {officer} supervises one officer.
    # The test's officer is in none of it, so every review, report and activity of it is
    # a 404 for them (existence is private); HR's state changes are refused with a message.
    ("GET", "/reviews/", {"officer"}),
    ("GET", "/reviews/assignments/{assignment}", set()),
    ("POST", "/reviews/assignments/{assignment}", set()),
    ("GET", "/reviews/cycles/{cycle}/subjects/{officer}", {"hr"}),
    ("GET", "/reviews/cycles/{cycle}/subjects/{officer}.pdf", {"hr"}),
    # Only the report's subject acknowledges and responds: the test's officer is not one.
    ("POST", "/reviews/cycles/{cycle}/my-report/acknowledge", set()),
    ("POST", "/reviews/cycles/{cycle}/my-report/response", set()),
    ("GET", "/reviews/cycles/{cycle}/acknowledgements", {"hr"}),
    ("GET", "/reviews/cycles/{cycle}/upward", set()),
    ("GET", "/reviews/cycles/{cycle}/upward/{officer}", {"hr"}),
    ("GET", "/reviews/cycles/{cycle}/matrix", {"hr"}),
    ("GET", "/reviews/cycles/{cycle}/matrix.csv", {"hr"}),
    ("GET", "/reviews/cycles", {"hr"}),
    ("GET", "/reviews/cycles/new", {"hr"}),
    ("POST", "/reviews/cycles/new", {"hr"}),
    ("GET", "/reviews/cycles/{cycle}", {"hr"}),
    ("POST", "/reviews/cycles/{cycle}/settings", {"hr"}),
    ("GET", "/reviews/cycles/{cycle}/generate", {"hr"}),
    ("POST", "/reviews/cycles/{cycle}/generate", {"hr"}),
    ("POST", "/reviews/cycles/{cycle}/assignments", {"hr"}),
    ("POST", "/reviews/cycles/{cycle}/assignments/{assignment}/delete", {"hr"}),
    ("GET", "/reviews/cycles/{cycle}/assignments/{assignment}/swap", {"hr"}),
    ("POST", "/reviews/cycles/{cycle}/assignments/{assignment}/swap", {"hr"}),
    ("POST", "/reviews/cycles/{cycle}/nominations/{nomination}/approve", {"hr"}),
    ("POST", "/reviews/cycles/{cycle}/nominations/{nomination}/decline", {"hr"}),
    # Only an officer the cycle reviews nominates, in a cycle that allows it (the test's does not).
    ("GET", "/reviews/cycles/{cycle}/nominations", set()),
    ("POST", "/reviews/cycles/{cycle}/nominations", set()),
    ("POST", "/reviews/cycles/{cycle}/nominations/{nomination}/withdraw", set()),
    ("POST", "/reviews/cycles/{cycle}/open", {"hr"}),
    ("GET", "/reviews/cycles/{cycle}/close", {"hr"}),
    ("POST", "/reviews/cycles/{cycle}/close", {"hr"}),
    ("POST", "/reviews/cycles/{cycle}/metrics-period", {"hr"}),
    ("POST", "/reviews/cycles/{cycle}/results/correct", {"hr"}),
    # A unit's pooled upward result: HR, and supervisors of the unit reviewed upward in the cycle.
    ("GET", "/reviews/cycles/{cycle}/units/{unit}/upward", {"hr"}),
    ("POST", "/reviews/cycles/{cycle}/publish", {"hr"}),
    ("POST", "/reviews/cycles/{cycle}/delete", {"hr"}),
    ("GET", "/reviews/rubrics", {"hr"}),
    ("POST", "/reviews/rubrics", {"hr"}),
    ("GET", "/reviews/rubrics/{rubric}", {"hr"}),
    ("POST", "/reviews/rubrics/{rubric}", {"hr"}),
    ("GET", "/reviews/criteria/{criterion}", {"hr"}),
    ("POST", "/reviews/criteria/{criterion}", {"hr"}),
    ("POST", "/reviews/criteria/{criterion}/delete", {"hr"}),
    ("GET", "/reviews/metrics", {"hr"}),
    ("POST", "/reviews/metrics", {"hr"}),
    ("GET", "/reviews/metrics/imports/{metrics_import}", {"hr"}),
    ("GET", "/reviews/metrics/imports/{metrics_import}/status", {"hr"}),
    ("POST", "/reviews/metrics/imports/{metrics_import}/confirm", {"hr"}),
    ("GET", "/reviews/activities", {"officer"}),
    ("POST", "/reviews/activities", {"officer"}),
    ("POST", "/reviews/activities/{activity}/verify", set()),
    ("POST", "/reviews/activities/{activity}/reject", set()),
    # Who has looked at my record: the signed-in officer's own, no id in the address.
    ("GET", "/wellness/looked", {"officer"}),
    ("GET", "/wellness/self-referral", {"officer"}),
    ("POST", "/wellness/self-referral", {"officer"}),
    ("GET", "/reviews/looked", {"officer"}),
    # The command role's name-free figures and the quarterly reports (HR may open them too).
    ("GET", "/oversight/", {"command", "hr"}),
    ("GET", "/oversight/compliance.csv", {"command", "hr"}),
    ("GET", "/oversight/reports", {"command", "hr"}),
    ("POST", "/oversight/reports", {"command", "hr"}),
    ("GET", "/oversight/reports/{report}", {"command", "hr"}),
    ("GET", "/oversight/reports/{report}.pdf", {"command", "hr"}),
    ("GET", "/oversight/reports/{report}/check", {"command", "hr"}),
]
# Routes reached with a one-time token rather than a role: old-style links, mailed before
# tokens left the address (tested in test_no_giveaways.py); a calendar feed's secret
# address (test_calendar_feeds.py).
TOKEN_ROUTES = {"/password/set/<token>", "/calendar/<token>.ics"}


def test_every_route_is_in_the_matrix(app):
    listed = {(m, p) for m, p, _ in ROUTES}
    placeholders = {"<int:officer_id>": "{officer}", "<int:user_id>": "{user}", "<int:message_id>": "{message}",
                    "<int:incident_id>": "{incident}", "<int:clinician_id>": "{clinician}",
                    "<int:hours_id>": "{hours}", "<int:block_id>": "{block}", "<int:evaluation_id>": "{evaluation}",
                    "<int:appointment_id>": "{appointment}", "<int:notice_id>": "{notice}",
                    "<int:cycle_id>": "{cycle}", "<int:assignment_id>": "{assignment}", "<int:rubric_id>": "{rubric}",
                    "<int:criterion_id>": "{criterion}", "<int:activity_id>": "{activity}",
                    "<int:job_id>": "{roster_import}", "<int:import_id>": "{metrics_import}",
                    "<any(open, publish):step>": "open", "<any(verify, reject):decision>": "verify",
                    "<int:item_id>": "{item}", "<int:grant_id>": "{grant}", "<ref>": "{message}",
                    "<int:nomination_id>": "{nomination}",
                    "<int:unit_id>": "{unit}", "<int:report_id>": "{report}",
                    "<int:resource_id>": "{support_resource}",
                    "<any(compliance, incident, participation, ranking, engagement, compliance_series, "
                    "self_referrals):key>": "compliance"}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "bootstrap.static") or rule.rule in TOKEN_ROUTES:
            continue
        path = rule.rule
        for converter, placeholder in placeholders.items():
            path = path.replace(converter, placeholder)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (method, path) not in listed:
                missing.append(f"{method} {path}")
    assert missing == []


@pytest.fixture
def targets(app):
    from core.services import outbox
    from core.db import db
    officer = factories.officer()
    user = factories.user(roles=["hr"])
    outbox.enqueue(kind="test", recipient="x@pd.test", subject="s", body="b", dedup_key="perm")
    db.session.commit()
    from core.models import OutboxMessage
    message = db.session.query(OutboxMessage).one()
    from datetime import date
    from wellness.models import AvailabilityBlock, CriticalIncident
    clinician = factories.clinician()
    block = AvailabilityBlock(clinician_id=clinician.id, day=date(2030, 1, 2), note="")
    incident = CriticalIncident(type_id=1, occurred_on=date(2026, 1, 1), description="x", created_at=clock.now())
    db.session.add_all([block, incident])
    db.session.commit()
    appointment = factories.appointment(clinician_row=clinician)
    from wellness.models import AttentionItem
    item = AttentionItem(evaluation_id=appointment.evaluation_id, appointment_id=appointment.id, kind="unconfirmed",
                         opened_at=clock.now())
    db.session.add(item)
    db.session.commit()
    from notices.models import Notice
    notice = Notice(subject="s", body="b", audience="everyone", audience_label="everyone", status="pending",
                    author_id=user.id, author_label=user.email, created_at=clock.now())
    db.session.add(notice)
    db.session.commit()
    # A published review cycle in which `officer` is reviewed by the one officer reporting to them.
    from evaluations.models import Activity, Criterion, ReviewAssignment
    from evaluations.services import cycles
    from core.audit import Actor
    report = factories.officer(supervisor=officer)
    factories.user(officer_row=report)
    factories.user(officer_row=officer)
    cycle = factories.review_cycle(threshold=2)
    hr_actor = Actor.system("test")
    cycles.move(hr_actor, cycle.id, "close")
    cycles.move(hr_actor, cycle.id, "publish", period="none")
    assignment = db.session.query(ReviewAssignment).filter_by(cycle_id=cycle.id).first()
    activity = Activity(officer_id=report.id, day=date(2026, 1, 5), kind="meeting", hours=1, note="",
                        status="pending", created_at=clock.now())
    db.session.add(activity)
    db.session.commit()
    from evaluations.models import PeerNomination
    nomination = PeerNomination(cycle_id=cycle.id, subject_id=report.id, nominee_id=officer.id, created_at=clock.now())
    db.session.add(nomination)
    db.session.commit()
    reviews_targets = {"cycle": cycle.id, "assignment": assignment.id, "rubric": cycle.rubric_id,
                       "nomination": nomination.id,
                       "criterion": db.session.query(Criterion).filter_by(rubric_id=cycle.rubric_id).first().id,
                       "activity": activity.id}
    from core.services import imports
    uploads = {"roster_import": imports.submit(hr_actor, "roster", b"badge_number\n", "r.csv", confirmed=False).id,
               "metrics_import": imports.submit(hr_actor, "metrics", b"badge_number\n", "m.csv", confirmed=False).id}
    from core.models import RoleGrant
    grant = RoleGrant.ask(user.id, "clinician", Actor.for_user(factories.user(roles=["admin"])), clock.now())
    db.session.add(grant)
    db.session.commit()
    from datetime import date as _date
    from oversight.services import reports
    report_id = reports.make(hr_actor, _date(2026, 1, 1)).id
    from wellness.services import support
    support.seed_demo()
    support_resource = support.all_resources(hr_actor)[1].id
    return {**reviews_targets, **uploads, "notice": notice.id, "report": report_id,
            "support_resource": support_resource, "officer": officer.id,
            "unit": officer.unit_id,
            "user": user.id,
            "grant": grant.id,
            "message": message.ref, "incident": incident.id,
            "clinician": clinician.id, "hours": clinician.hours[0].id, "block": block.id,
            "evaluation": appointment.evaluation_id, "appointment": appointment.id, "item": item.id}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_only_its_routes(role, auth, client, targets):
    if role != "anonymous":
        me = auth.as_role(role)
        if role == "clinician":
            factories.clinician(user_row=me)  # a clinician of their own, not the targets'
    token = None
    if role != "anonymous":
        from tests.conftest import csrf_token
        token = csrf_token(client, "/account/password")
    wrong = []
    for method, path, allowed in ROUTES:
        if path == "/logout":
            continue  # would end the session mid-test; covered in test_auth.py
        url = path.format(**targets)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token} if token else {})
        status = response.status_code
        if role in allowed:
            ok = status < 400 or (method == "POST" and status in (400, 422))
        elif role == "anonymous":
            ok = status in (302, 400) and (status == 400 or "/login" in response.headers["Location"])
        else:
            ok = status in (403, 404)
        if not ok:
            wrong.append(f"{method} {url} as {role}: {status}")
    assert wrong == []


def test_forbidden_page_shows_nothing_of_the_target_and_is_logged(auth, client, targets):
    auth.as_role("officer")
    response = client.get("/admin/accounts")
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "Not allowed" in text and "New account" not in text
    from core.models import AuditEntry
    entry = AuditEntry.query.filter_by(action="access.denied").one()
    assert entry.target == "/admin/accounts" and entry.outcome == "denied"


def test_post_without_csrf_token_is_rejected_for_a_signed_in_admin(auth, client, targets):
    auth.as_role("admin")
    response = client.post(f"/admin/accounts/{targets['user']}/disable", data={"reason": "no token"})
    assert response.status_code == 400
    from core.db import db
    from core.models import AccountStatus, User
    assert db.session.get(User, targets["user"]).status == AccountStatus.ACTIVE
