"""Every page of every role in the demo department, at a phone's width and a desk's.

A live Beacon on its own database holds the department that `flask seed-demo` builds.
Each demo person (administrator, HR, clinician, an officer, a sergeant who supervises)
signs in through the real form and follows every same-origin GET link from their home,
breadth first. Detail pages are capped per kind of page (numbers in the path replaced),
so every page type is seen without visiting every officer. On each page, at 390 and
1280 px:

- the page answers 200 (and never 5xx);
- nothing overflows sideways (measured two frames after the resize, as `looked_at`);
- the console shows no error and no Content-Security-Policy violation;
- axe-core (bundled by the axe-playwright-python package: no CDN, no download) finds
  no serious or critical violation.

Every problem of a role is collected and reported at once, as "page @ width: problem".
Screenshots of the main pages (the home page and the pages in the navigation) at both
widths are kept under BEACON_SCREENSHOTS, or test-artifacts/screenshots/ in the repo.
"""
import os
import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from core.db import db
from core.services import demo
from tests.browser.conftest import WIDTHS, ConsoleLog, LiveServer, SignIn, require_chromium, serving
from tests.conftest import make_app, migrate_to_head

require_chromium()

from playwright.sync_api import Error as PlaywrightError  # noqa: E402  (after the skip when it is missing)

REPO = Path(__file__).resolve().parents[2]
PER_PATTERN = 2  # detail pages visited per kind of page (e.g. /roster/N)
MAX_PAGES = 150  # per role: a runaway crawl fails loudly instead of running for an hour
# Links a person follows that are not pages to check: downloads, sign-out, one-time links.
SKIP = re.compile(r"(\.(csv|pdf|ics|json|txt|xml|png|jpg|svg|zip)$)|^/(static|bootstrap)/|^/logout|^/healthz"
                  r"|/sign-?out|/download|^/password/set/|^/account/email/confirm|/status$")
SAME_LIST = {"sort", "dir", "page"}  # query keys that order or page a list without changing what it is
SERIOUS = {"serious", "critical"}
ROLES = ("admin", "hr", "clinician", "officer", "supervisor", "command")
MEASURE_OVERFLOW = ("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => "
                    "done(document.documentElement.scrollWidth - document.documentElement.clientWidth))))")
# What sticks out: the outermost elements past the window's right edge (not inside a box
# that scrolls by itself), named tag#id.class, so a failure says where to look.
WHAT_STICKS_OUT = """() => {
  const edge = document.documentElement.clientWidth, found = [];
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + [...e.classList].slice(0, 3).map(c => '.' + c).join('');
  const walk = e => {
    for (const child of e.children) {
      const style = getComputedStyle(child);
      if (style.display === 'none' || style.position === 'fixed') continue;
      if (child.getBoundingClientRect().right > edge + 0.5) {
        const path = [], stop = document.body;
        for (let p = child; p && p !== stop; p = p.parentElement) path.unshift(name(p));
        found.push(path.slice(-3).join(' > ') + ' (' + Math.round(child.getBoundingClientRect().width) + ' px)');
      } else if (!['auto', 'scroll', 'hidden'].includes(style.overflowX)) walk(child);
      if (found.length >= 3) return;
    }
  };
  walk(document.body);
  return found.join('; ');
}"""


@dataclass(frozen=True)
class Demo:
    live: LiveServer
    logins: dict[str, str]  # role label ("admin", "officer", "supervisor"...) -> email


@pytest.fixture(scope="module")
def demo_department(tmp_path_factory):
    """The demo department on its own migrated SQLite file, served on loopback."""
    path = tmp_path_factory.mktemp("crawl") / "demo.db"
    url = f"sqlite:///{path}"
    migrate_to_head(url)
    app = make_app(url)
    with app.app_context():
        logins = demo.seed(extensions=app.extensions.get("beacon.demo", []))
        db.session.remove()
    with serving(app, "beacon-crawl-server") as live:
        yield Demo(live=live, logins={role: email for role, email, _password in logins})


@pytest.fixture(scope="module")
def live_server(demo_department):
    """Replaces conftest's empty server for this module, so `context`, `console` and
    `page` point at the demo department."""
    return demo_department.live


@pytest.fixture(scope="module")
def axe_source():
    axe_package = pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed")
    return (Path(axe_package.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


def screenshot_dir() -> Path:
    return Path(os.environ.get("BEACON_SCREENSHOTS") or REPO / "test-artifacts" / "screenshots")


def pattern(path: str, query: str) -> str:
    """The kind of page: numbers and tokens replaced, query values dropped, and the same
    list sorted or paged counted as that list."""
    shape = re.sub(r"[0-9a-f]{12,}|\d+", "N", path)
    keys = sorted({key for key, _value in parse_qsl(query, keep_blank_values=True)} - SAME_LIST)
    return shape + ("?" + "&".join(keys) if keys else "")


@dataclass
class Crawl:
    page: object
    console: ConsoleLog
    base_url: str
    axe: str
    role: str
    problems: list[str] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)
    per_pattern: Counter = field(default_factory=Counter)
    main_pages: set[str] = field(default_factory=set)

    def local(self, href: str) -> str | None:
        """The same-origin path (and query) a link leads to, or None for one not to follow."""
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != self.base_url or SKIP.search(parts.path):
            return None
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def links(self, selector: str = "a[href]") -> list[str]:
        hrefs = self.page.eval_on_selector_all(selector, "links => links.map(a => a.href)")
        return [path for path in map(self.local, hrefs) if path]

    def run(self):
        queue, queued = deque(["/"]), {"/"}
        while queue:
            path = queue.popleft()
            if len(self.visited) >= MAX_PAGES:
                self.problems.append(f"more than {MAX_PAGES} pages: stopped before {path}")
                break
            started = time.monotonic()
            follow = self.check(path)
            self.visited.append(f"{path} ({time.monotonic() - started:.1f} s)")
            if not follow:
                continue
            if path == "/":  # the main pages: home and what the navigation offers
                self.main_pages.update(self.links("nav[aria-label=Main] a[href]"))
            for link in self.links():
                kind = pattern(*link.partition("?")[::2])
                if link in queued or self.per_pattern[kind] >= PER_PATTERN:
                    continue
                queued.add(link)
                self.per_pattern[kind] += 1
                queue.append(link)

    def check(self, path: str) -> bool:
        """Visit one page and note its problems; True when its links are worth following."""
        before = len(self.console.errors)
        try:
            response = self.page.goto(path)
        except PlaywrightError as exc:
            self.problems.append(f"{path}: did not load ({str(exc).splitlines()[0]})")
            return False
        status = response.status if response else None
        if status != 200:
            self.problems.append(f"{path}: HTTP {status}")
            return False
        if "text/html" not in (response.headers.get("content-type") or ""):
            return False
        if urlsplit(self.page.url).path == "/login":
            self.problems.append(f"{path}: sent back to the sign-in page")
            return False
        for width in WIDTHS:
            self.page.set_viewport_size({"width": width, "height": 900})
            overflow = self.page.evaluate(MEASURE_OVERFLOW)
            if overflow > 0:
                self.problems.append(f"{path} @ {width} px: {overflow} px wider than the window: "
                                     + self.page.evaluate(WHAT_STICKS_OUT))
            for violation in self.accessibility():
                self.problems.append(f"{path} @ {width} px: axe {violation}")
            if path == "/" or path in self.main_pages:
                name = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "home"
                shots = screenshot_dir()
                shots.mkdir(parents=True, exist_ok=True)
                self.page.screenshot(path=str(shots / f"{self.role}-{name}-{width}.png"), full_page=True)
        for error in self.console.errors[before:]:
            self.problems.append(f"{path}: console: {error}")
        return True

    def accessibility(self) -> list[str]:
        """axe-core's serious and critical violations, one line each with where."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.evaluate(self.axe)  # evaluated by the driver, so the page's CSP does not apply
        result = self.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        found = []
        for violation in result["violations"]:
            if violation.get("impact") in SERIOUS:
                targets = ", ".join(" ".join(map(str, node["target"])) for node in violation["nodes"][:3])
                more = len(violation["nodes"]) - 3
                found.append(f"{violation['impact']} {violation['id']} ({violation['help']}) at {targets}"
                             + (f" and {more} more" if more > 0 else ""))
        return found


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_the_role_works_on_a_phone_and_a_desk(role, demo_department, live_server, context, console,
                                                            axe_source):
    page = context.new_page()
    page.goto("/login")
    SignIn(page, live_server.app).fill(demo_department.logins[role], demo.DEMO_PASSWORD)
    assert urlsplit(page.url).path == "/", f"{role} did not reach home after signing in: {page.url}"
    crawl = Crawl(page=page, console=console, base_url=live_server.url, axe=axe_source, role=role)
    crawl.problems += [f"signing in: console: {error}" for error in console.errors]
    crawl.run()
    shots = screenshot_dir()
    shots.mkdir(parents=True, exist_ok=True)
    (shots / f"{role}-crawl.txt").write_text("pages visited:\n" + "\n".join(crawl.visited)
                                            + "\n\nproblems:\n" + "\n".join(crawl.problems or ["none"]) + "\n")
    assert len(crawl.visited) >= 3, f"{role}: the crawl found almost nothing: {crawl.visited}"
    if crawl.problems:
        pytest.fail(f"{role}: {len(crawl.problems)} problem(s) on {len(crawl.visited)} pages:\n"
                    + "\n".join(crawl.problems), pytrace=False)
