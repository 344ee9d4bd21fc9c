"""No input reaches a 500: generated text, dates and numbers posted to every form and
given to every query-string filter of the app, on SQLite and PostgreSQL.

The routes come from the app's url_map, each with the roles test_permissions.py says
may use it (a route missing there fails here too). Each role signs in and first walks
every page it may open, reading each form on it (fields and their defaults), so a new
form or field is fuzzed without being listed here. For every route, hypothesis then
changes one field (or one filter) at a time to a generated value: NUL and other
control characters, text-direction overrides, zero-width characters, astral-plane
text, very long strings, far dates (0001-01-01, 9999-12-31), garbage, huge, negative
and non-numeric numbers. No response may be a 5xx; a form shown again after a refused
control character says why beside the field.
"""
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.db import db
from core.models import User
from core.rules import text_problem
from tests.conftest import csrf_token
from tests.integration.test_permissions import ROUTES, TOKEN_ROUTES, targets  # noqa: F401  (targets: a fixture)
from wellness.models import Clinician

EXAMPLES = 10  # per route and role: enough to meet each kind of value, small enough for CI

# Query-string names any page reads (core.web's parsers), tried on every GET route as
# well as the names of the GET forms found on the page.
FILTERS = ["page", "q", "unit", "status", "state", "role", "recipient", "kind", "rank", "group", "flagged",
           "all_units", "print", "clinician", "next", "person", "action", "date_from", "date_to", "at", "day",
           "sort", "dir"]
# Fields posted by hand (not from a form) that a route reads.
EXTRA_FIELDS = ["back", "officer_id", "expected"]

# A valid value for the main forms, so that changing one field at a time reaches the
# services (not just the first validator). Keyed by the route's path pattern.
VALID = {
    "/password/forgot": {"email": "someone@pd.test"},
    "/admin/accounts/new": {"email": "new.person@pd.test", "name": "New Person", "roles": "hr"},
    "/notices/new": {"subject": "Range closed", "body": "The range is closed on Friday.", "audience": "everyone"},
    "/wellness/incidents/new": {"type_id": "1", "occurred_on": "2026-01-01", "description": "Shots fired",
                                "badges": ""},
    "/wellness/incident-types": {"name": "Vehicle crash", "window_days": "7"},
    "/wellness/incidents/{incident}/edit": {"type_id": "1", "occurred_on": "2026-01-01", "description": "Shots fired"},
    "/wellness/incidents/{incident}/affected": {"badges": "", "unit_ids": "1"},
    "/wellness/incidents/{incident}/withdraw": {"reason": "Recorded twice", "confirm": "y"},
    "/wellness/clinicians/new": {"name": "Dr. New", "email": "dr.new@clinic.test", "license_number": "L-9",
                                 "license_state": "MO", "license_expires": "2028-01-01", "modality": "both"},
    "/wellness/clinicians/{clinician}/blocks": {"day": "2030-02-01", "note": "Away"},
    "/wellness/clinicians/{clinician}/hours": {"weekdays": "1", "starts": "09:00", "ends": "12:00",
                                               "slot_minutes": "60", "valid_from": "2027-01-01"},
    "/reviews/cycles/{cycle}/my-report/response": {"response": "I have read it; the peer scores miss the\r\n"
                                                                "night-shift months."},
    "/reviews/cycles/{cycle}/assignments/{assignment}/swap": {"officer_id": "1"},
    "/reviews/cycles/{cycle}/nominations/{nomination}/decline": {"reason": "Works another shift"},
    "/reviews/cycles/{cycle}/metrics-period": {"period": "none"},
    "/reviews/cycles/{cycle}/close": {"period": "none"},
    "/reviews/cycles/{cycle}/results/correct": {"period": "none", "reason": "The spring file was the wrong one"},
    "/reviews/activities": {"day": "2026-01-02", "kind": "meeting", "hours": "1.5", "note": "Block meeting"},
    "/reviews/rubrics": {"name": "Fuzz rubric", "description": "", "copy_from": "0"},
    "/reviews/cycles/new": {"name": "Fuzz cycle", "opens_on": "2027-01-01", "closes_on": "2027-02-01",
                            "scope": "all", "peers": "2", "threshold": "3"},
    "/admin/accounts/{user}/disable": {"reason": "Left the department"},
    "/notices/{notice}/reject": {"reason": "Not department business"},
    "/notices/{notice}/edit": {"subject": "Range closed", "body": "The range is closed on Friday.",
                               "audience": "everyone"},
    "/admin/grants/{grant}/reject": {"reason": "Not on the HR staff list"},
    "/wellness/appointments/{appointment}/decline": {"reason": "Away that week"},
    "/wellness/attention/{item}/keep": {"note": "Earliest the officer can attend"},
    "/oversight/reports": {"q": "2026Q1"},
    "/wellness/private-address": {"email": "someone.home@mail.test"},
    "/wellness/support-resources/new": {"name": "Peer Support Team", "kind": "peer_support", "phone": "555 010 0177",
                                        "contact": "", "hours": "Any time", "notes": ""},
    "/wellness/support-resources/{support_resource}": {"name": "Chaplain", "kind": "chaplain",
                                                       "phone": "(555) 010-0142", "contact": "", "hours": "",
                                                       "notes": ""},
}
SKIP = {("POST", "/logout")}  # would end the session mid-test (test_auth.py covers it)

PLACEHOLDERS = {"<int:officer_id>": "{officer}", "<int:user_id>": "{user}", "<int:message_id>": "{message}",
                "<int:incident_id>": "{incident}", "<int:clinician_id>": "{clinician}", "<int:hours_id>": "{hours}",
                "<int:block_id>": "{block}", "<int:evaluation_id>": "{evaluation}",
                "<int:appointment_id>": "{appointment}", "<int:notice_id>": "{notice}", "<int:cycle_id>": "{cycle}",
                "<int:assignment_id>": "{assignment}", "<int:rubric_id>": "{rubric}",
                "<int:criterion_id>": "{criterion}", "<int:activity_id>": "{activity}",
                "<int:job_id>": "{roster_import}", "<int:import_id>": "{metrics_import}",
                "<any(open, publish):step>": "open", "<any(verify, reject):decision>": "verify",
                "<int:item_id>": "{item}", "<token>": "not-a-real-token", "<int:grant_id>": "{grant}",
                "<ref>": "{message}", "<int:nomination_id>": "{nomination}",
                "<int:unit_id>": "{unit}", "<int:report_id>": "{report}",
                "<int:resource_id>": "{support_resource}",
                "<any(compliance, incident, participation, ranking, engagement, compliance_series, "
                "self_referrals):key>": "compliance"}
ROLES = ["anonymous", "officer", "clinician", "hr", "admin"]


def _owner(path: str) -> str:
    """Who may use a route that only the owner of a record reaches (test_permissions
    lists them with no role): the officer and clinician of the fuzz own the targets."""
    if path.startswith("/reviews/") or path.endswith("/request-reschedule"):
        return "officer"
    if path.startswith("/notices/"):
        return "hr"  # the author's own notice: the fuzz's HR member is refused, never answered with a 500
    return "clinician"


def app_routes(app) -> list[tuple[str, str]]:
    """(method, path pattern) of every route, as test_permissions writes them."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "bootstrap.static"):
            continue
        path = rule.rule
        for converter, placeholder in PLACEHOLDERS.items():
            path = path.replace(converter, placeholder)
        routes += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def fuzzer_of(method: str, path: str) -> str | None:
    """The role that fuzzes a route, or None for a route test_permissions does not list."""
    if path.replace("not-a-real-token", "<token>") in TOKEN_ROUTES:
        return "anonymous"
    allowed = {(m, p): roles for m, p, roles in ROUTES}
    if (method, path) not in allowed:
        return None
    roles = allowed[(method, path)]
    return next(r for r in PREFERENCE if r in roles) if roles else _owner(path)


PREFERENCE = ["anonymous", "hr", "admin", "officer", "clinician"]  # public pages are fuzzed signed out


# --- values ------------------------------------------------------------------------------

NASTY = ["\x00", "a\x00b", "x\x1by", "\x7f", "\x85", "\u202eevil", "bad\u2066", "\u200bzero", "\ufeffbom",
         "Shi\u200cva", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "😀" * 50, "x" * 5000, "1" * 5000, "²", "١٢", "1_000", "-1", "0",
         "2147483648", str(2**63), "-9" * 30, "NaN", "sNaN", "inf", "-Infinity", "1e999", "0001-01-01",
         "9999-12-31", "2026-02-30", "10000-01-01", "31/12/2026", "", " ", "\t", "line\nbreak", "//evil.test",
         "/\\evil.test", "http://evil.test", "javascript:alert(1)", "%00", "' OR 1=1 --", "<script>"]
VALUES = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=300),
    st.text(st.characters(codec="ascii"), min_size=1, max_size=20),
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.dates().map(lambda d: d.isoformat()),
)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


# --- forms read from the pages --------------------------------------------------------------

class FormReader(HTMLParser):
    """Every form of a page: its method, action, and each named field's first value."""

    def __init__(self):
        super().__init__()
        self.forms, self._form, self._select = [], None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"method": (a.get("method") or "get").upper(), "action": a.get("action") or "",
                          "fields": {}, "multiline": set(), "unseen": set()}
            self.forms.append(self._form)
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input" and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and a["name"] in self._form["fields"]:
                return
            self._form["fields"][a["name"]] = a.get("value") or ""
            if a.get("type") in ("hidden", "file"):  # no message can be shown beside these
                self._form["unseen"].add(a["name"])
        elif tag == "textarea":
            self._form["fields"][a["name"]] = ""
            self._form["multiline"].add(a["name"])
        elif tag == "select":
            self._select = a["name"]
            self._form["fields"].setdefault(a["name"], "")
        elif tag == "option" and self._select and not self._form["fields"][self._select]:
            self._form["fields"][self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def read_forms(client, urls) -> tuple[dict, dict]:
    """Walk `urls` and collect the forms: {action path: (fields, multiline names, unseen
    names)} for POST forms, {page path: field names} for GET ones."""
    posts, gets = {}, {}
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.content_type:
            continue
        reader = FormReader()
        reader.feed(response.get_data(as_text=True))
        for form in reader.forms:
            action = urlsplit(form["action"]).path or urlsplit(url).path
            if form["method"] == "POST":
                fields, multiline, unseen = posts.setdefault(action, ({}, set(), set()))
                for name, value in form["fields"].items():
                    fields.setdefault(name, value)
                multiline |= form["multiline"]
                unseen |= form["unseen"]
            else:
                gets.setdefault(action, set()).update(form["fields"])
    return posts, gets


# --- the test ------------------------------------------------------------------------------

def sign_in(role, auth, targets):  # noqa: F811  (targets: the fixture's value, passed on)
    """Sign in as `role`; the officer supervises the cycle's subject, the clinician owns
    the targets' appointment, so the owners' pages are reached too."""
    if role == "anonymous":
        return
    if role == "officer":
        user = db.session.scalar(select(User).where(User.officer_id == targets["officer"]))
        assert auth.login(user.email).status_code == 302
    elif role == "clinician":
        user = auth.as_role("clinician")
        db.session.get(Clinician, targets["clinician"]).user_id = user.id
        db.session.commit()
    else:
        auth.as_role(role)


def refused_message_shown(html: str) -> bool:
    return "contains a control character" in html or "contains an invisible text-direction character" in html


@pytest.mark.parametrize("role", ROLES)
def test_generated_input_never_gets_a_server_error(role, app, client, auth, targets):  # noqa: F811  (the fixture)
    every = [(m, p) for m, p in app_routes(app) if (m, p) not in SKIP]
    unlisted = [f"{m} {p}" for m, p in every if fuzzer_of(m, p) is None]
    routes = [(m, p) for m, p in every if fuzzer_of(m, p) == role]
    assert routes, f"no route for {role}"
    sign_in(role, auth, targets)
    token = csrf_token(client, "/login" if role == "anonymous" else "/account/password")
    get_urls = [p.format(**targets) for m, p in routes if m == "GET"]
    posts, gets = read_forms(client, get_urls + ([] if role == "anonymous" else ["/", "/account/password"]))
    errors, counts = [], {"GET": 0, "POST": 0}

    for method, pattern in routes:
        url = pattern.format(**targets)
        if method == "GET":
            names = sorted(set(FILTERS) | gets.get(urlsplit(url).path, set()))

            def attempt(name, value):
                counts["GET"] += 1
                response = client.get(url, query_string={name: value})
                if response.status_code >= 500:
                    errors.append(f"GET {url} {name}={value[:60]!r}: {response.status_code}")
        else:
            found, multiline, unseen = posts.get(url, ({}, set(), set()))
            base = {**found, **VALID.get(pattern, {}), "csrf_token": token}
            names = sorted((set(found) | set(VALID.get(pattern, {})) | set(EXTRA_FIELDS)) - {"csrf_token"})

            def attempt(name, value):
                counts["POST"] += 1
                response = client.post(url, data={**base, name: value})
                status, html = response.status_code, response.get_data(as_text=True)
                if status >= 500:
                    errors.append(f"POST {url} {name}={value[:60]!r}: {status}")
                elif status in (200, 422) and name in found and name not in unseen \
                        and text_problem(value, multiline=name in multiline) \
                        and f'name="{name}"' in html and not refused_message_shown(html):
                    errors.append(f"POST {url} {name}={value[:60]!r}: shown again without saying why")
        # Every filter once with a NUL, every field with a NUL and a far date, then generated values.
        for name in names:
            attempt(name, "a\x00b")
            if method == "POST":
                attempt(name, "0001-01-01")
        FUZZ(given(name=st.sampled_from(names), value=VALUES)(attempt))()
    print(f"\n{role}: {len(routes)} routes, {len(posts)} forms read, {counts['GET']} GET and "
          f"{counts['POST']} POST examples")
    assert errors == []
    assert unlisted == [], "routes not in test_permissions.ROUTES, so neither role-checked nor fuzzed"
