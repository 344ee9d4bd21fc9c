"""The subject report PDF prints every roster name: the fonts are embedded, and a
character no font has is shown as U+FFFD with a notice, never silently folded to "?"."""
import io

from pypdf import PdfReader
from sqlalchemy import select

from core.audit import Actor
from core.db import db
from core.models import User
from evaluations.models import ReviewAssignment
from evaluations.services import cycles, results, reviews
from tests import factories

HR = Actor.system("test-hr")


def published_cycle(names: dict, comment: str = "Solid work"):
    """A sergeant, their lieutenant and three officers, renamed as `names` says
    ({"boss"|"sergeant"|0|1|2: (first, last)}), in a cycle that every rater completed
    and HR published."""
    t = factories.team(reports=3)
    people = {"boss": t.boss, "sergeant": t.sergeant, **dict(enumerate(t.members))}
    for key, (first, last) in names.items():
        people[key].first_name, people[key].last_name = first, last
    db.session.commit()
    cycle = factories.review_cycle(threshold=3)
    for a in db.session.scalars(select(ReviewAssignment).where(ReviewAssignment.cycle_id == cycle.id)):
        user = db.session.scalar(select(User).where(User.officer_id == a.rater_id))
        scores = {c.id: 4 for c in factories.criteria_for(cycle, a.group.value)}
        reviews.save(factories.actor_for(user), a.id, scores, comment, submit=True)
    cycles.move(HR, cycle.id, "close")
    cycles.set_metrics_period(HR, cycle.id, results.NO_METRICS)
    cycles.move(HR, cycle.id, "publish")
    return cycle, people


def fetch_pdf(auth, cycle, officer) -> PdfReader:
    response = auth.client.get(f"/reviews/cycles/{cycle.id}/subjects/{officer.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return PdfReader(io.BytesIO(response.data))


def text_of(pdf: PdfReader) -> str:
    # pypdf reads each CJK character (a CFF font's two-byte code) with a NUL before it;
    # pdftotext and viewers do not: the NULs are pypdf's, not in the PDF's text.
    return "\n".join(page.extract_text() for page in pdf.pages).replace("\x00", "")


def embedded_fonts(pdf: PdfReader) -> dict:
    """{font name without the subset prefix: has an embedded font program (FontFile2 for
    TrueType outlines, FontFile3 for the CFF outlines of Noto Sans CJK)}"""
    found = {}
    for page in pdf.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            name = str(font["/BaseFont"]).split("+", 1)[-1]
            if "/DescendantFonts" not in font:  # a core font (Helvetica): nothing embedded, Latin-1 only
                found[name] = False
                continue
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            program = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
            found[name] = program is not None and len(program.get_object().get_data()) > 0
    return found


def test_latin_greek_and_cyrillic_names_print_with_the_font_embedded(app, auth):
    cycle, people = published_cycle({"sergeant": ("Łukasz", "Wróbel"), "boss": ("Zoë", "Ørsted"),
                                     0: ("Γιώργος", "Παπαδόπουλος"), 1: ("Дмитрий", "Иванов"),
                                     2: ("Nguyễn Thị", "Minh Khai")},
                                    comment="Calm under pressure — “by the book” … and fair")
    auth.as_role("hr")
    for key, name in [("sergeant", "Łukasz Wróbel"), ("boss", "Zoë Ørsted"), (0, "Γιώργος Παπαδόπουλος"),
                      (1, "Дмитрий Иванов"), (2, "Nguyễn Thị Minh Khai")]:
        pdf = fetch_pdf(auth, cycle, people[key])
        text = text_of(pdf)
        assert f"Performance review: {people[key].rank} {name}" in text, name
        fonts = embedded_fonts(pdf)
        assert fonts.get("OpenSans") and fonts.get("OpenSansBold"), fonts
        assert "Calm under pressure — “by the book” … and fair" in text  # no folding to ASCII
        assert "have no font in the PDF" not in text


def test_arabic_devanagari_and_cjk_names_print_from_their_fonts(app, auth):
    cycle, people = published_cycle({"sergeant": ("محمد", "عبد الله"), 0: ("राहुल", "सिंह"), 1: ("王", "小明"),
                                     2: ("김", "민준")})
    auth.as_role("hr")
    expected = {"sergeant": "NotoSansArabic", 0: "NotoSansDevanagari", 1: "NotoSansCJKJP",
                2: "NotoSansCJKJP"}
    for key, font in expected.items():
        pdf = fetch_pdf(auth, cycle, people[key])
        fonts = embedded_fonts(pdf)
        assert fonts.get(font), (key, fonts)
        text = text_of(pdf)
        assert "have no font in the PDF" not in text and "\ufffd" not in text
    assert "王 小明" in text_of(fetch_pdf(auth, cycle, people[1]))
    assert "김 민준" in text_of(fetch_pdf(auth, cycle, people[2]))


def test_a_character_no_font_has_is_marked_and_explained_not_folded(app, auth):
    cycle, people = published_cycle({"sergeant": ("Abebe", "ቢቂላ")})  # Ethiopic: none of the fonts has it
    auth.as_role("hr")
    text = text_of(fetch_pdf(auth, cycle, people["sergeant"]))
    assert "Abebe \ufffd\ufffd\ufffd" in text
    assert "Some characters in this report have no font in the PDF and show as \ufffd." in text
    assert "Abebe ???" not in text
