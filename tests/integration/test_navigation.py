"""The main menu is drawn from what the packages registered (web.add_nav) for the
signed-in person's roles: every page a role used to reach from the menu is still
there, and nothing appears that the role cannot open."""
import re

import pytest

from tests import factories

NAV = re.compile(r'<nav class="navbar[^"]*" aria-label="Main">(.*?)</nav>', re.S)
LINK = re.compile(r'<a class="(?:nav-link|dropdown-item)[^"]*" href="([^"]+)"')
DROPDOWN = re.compile(r'<button type="button" class="nav-link[^"]*dropdown-toggle[^"]*"[^>]*>([^<]+)</button>')

HOME = "/"
EXPECTED = {
    "hr": {HOME, "/roster/", "/roster/import", "/wellness/", "/wellness/attention", "/wellness/incidents",
           "/wellness/clinicians",
           "/admin/outbox/reminders", "/wellness/audit", "/wellness/support-resources", "/reviews/cycles", "/notices/",
           "/oversight/reports", "/account/password"},
    "admin": {HOME, "/roster/", "/notices/", "/admin/accounts", "/admin/grants", "/admin/access-review", "/admin/audit",
              "/admin/outbox/", "/account/password"},
    "officer": {HOME, "/wellness/me", "/reviews/", "/account/password"},
    "clinician": {HOME, "/wellness/clinic", "/wellness/clinic/hours", "/account/password"},
    "command": {HOME, "/oversight/", "/oversight/reports", "/account/password"},
}
DROPDOWNS = {"hr": ["Roster", "Wellness"], "admin": [], "officer": [], "clinician": [], "command": []}


def menu(client, path="/"):
    response = client.get(path)
    assert response.status_code == 200
    return NAV.search(response.get_data(as_text=True)).group(1)


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_sees_exactly_its_menu_and_can_open_every_link(role, auth, client):
    user = auth.as_role(role, **({"officer_row": factories.officer()} if role == "officer" else {}))
    nav = menu(client)
    links = set(LINK.findall(nav))
    assert links == EXPECTED[role]
    assert DROPDOWN.findall(nav) == DROPDOWNS[role]
    assert user.name in nav
    for href in links:
        assert client.get(href).status_code == 200, href


def test_hr_menu_groups_wellness_pages_under_one_dropdown_in_order(auth, client):
    auth.as_role("hr")
    nav = menu(client)
    wellness = nav[nav.index(">Wellness</button>"):]
    wellness = wellness[:wellness.index("</ul>")]
    assert re.findall(r'class="dropdown-item[^"]*" href="[^"]+"[^>]*>([^<]+)</a>', wellness) == [
        "Dashboard", "Needs attention", "Incidents", "Clinicians", "Reminders", "Wellness audit",
        "Support resources"]
    # Top level, left to right.
    top = re.findall(r'<li class="nav-item(?: dropdown)?">\s*<(?:a|button)[^>]*>([^<]+)</', nav)
    assert top[:5] == ["Home", "Roster", "Wellness", "Reviews", "Notices"]


def test_the_current_page_is_marked_in_the_menu(auth, client):
    auth.as_role("hr")
    nav = menu(client, "/wellness/incidents")
    assert re.search(r'class="nav-link btn btn-link dropdown-toggle active"[^>]*>Wellness<', nav)
    assert re.search(r'href="/wellness/incidents" aria-current="page">Incidents<', nav)
    assert nav.count('aria-current="page"') == 1


def test_a_person_with_two_roles_gets_both_menus_once(auth, client):
    user = factories.user(roles=["hr", "admin"])
    auth.login(user.email)
    links = LINK.findall(menu(client))
    assert set(links) == EXPECTED["hr"] | EXPECTED["admin"]
    assert len(links) == len(set(links))


def test_signed_out_pages_have_no_menu(client):
    nav = NAV.search(client.get("/login").get_data(as_text=True)).group(1)
    assert LINK.findall(nav) == []
