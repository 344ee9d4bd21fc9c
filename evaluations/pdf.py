"""A subject report as PDF (fpdf2, pure Python; no browser or external tool needed).

Every roster name prints: the fonts come from PyPI packages pinned in requirements.txt
and are embedded (subset) in the PDF. Open Sans covers Latin (with Vietnamese), Greek and
Cyrillic. For other scripts, Noto Sans Arabic, Noto Sans Devanagari and Noto Sans CJK are
fallbacks, read only for a report whose text needs them, and text is shaped by HarfBuzz
(joined letters, right to left within a line, reordered vowel signs). A character no font
has prints as U+FFFD, and the PDF then says so at the top: never a silent "?" or blank."""
import logging
import unicodedata
from importlib.resources import files

from evaluations.models import GROUP_LABELS

INK, MUTED, BAR = (33, 37, 41), (108, 117, 125), (13, 110, 253)
FONT = "opensans"
UNPRINTABLE = "\ufffd"
NOTICE = (f"Some characters in this report have no font in the PDF and show as {UNPRINTABLE}. "
          "The report page in Beacon shows them.")
log = logging.getLogger(__name__)


def _not_missing_glyphs(record: logging.LogRecord) -> bool:
    # fpdf warns of every character Open Sans lacks, even those a fallback font printed;
    # what no font has is logged here, once per PDF.
    return not record.getMessage().startswith("Font MPDFAA+OpenSans")


def _fallback_file(name: str):
    if name == "notoarabic":
        return files("fontpkg_noto_sans_arabic") / "files" / "NotoSansArabic[wdth,wght].ttf"
    if name == "notodevanagari":
        return files("fontpkg_noto_sans_devanagari") / "files" / "NotoSansDevanagari[wdth,wght].ttf"
    import noto_cjk_sans_jp_regular

    return noto_cjk_sans_jp_regular.FONT_PATH


# Tried in this order for a character Open Sans lacks. Regular only: with exact_match=False
# a bold name in these scripts prints regular.
FALLBACKS = ("notoarabic", "notodevanagari", "notocjk")


class _Fonts:
    """The PDF's fonts, and the text as it can print. `text()` adds the fallback fonts a
    text needs (only those: each one read costs time, the CJK one 0.5 s and 40 MB, and is
    embedded), and replaces what no font has with U+FFFD (kept in `unprintable`).
    `fallbacks` limits the ones tried; `used` lists those that printed something."""

    def __init__(self, pdf, fallbacks=FALLBACKS):
        self.pdf = pdf
        opensans = files("ttf_opensans") / "ttf"
        pdf.add_font(FONT, "", opensans / "OpenSans-Regular.ttf")
        pdf.add_font(FONT, "B", opensans / "OpenSans-Bold.ttf")
        # The report is in English: every line runs left to right, an Arabic name within it right to left.
        pdf.set_text_shaping(True, direction="ltr")
        self.known = self._cmaps()
        self.waiting, self.added, self.printed, self.unprintable = list(fallbacks), {}, set(), set()

    def _cmaps(self) -> set:
        return {code for font in self.pdf.fonts.values() for code in getattr(font, "cmap", {})}

    def _add_fallback(self):
        name = self.waiting.pop(0)
        before = self.known
        self.pdf.add_font(name, "", _fallback_file(name))
        self.pdf.set_fallback_fonts([*self.added, name], exact_match=False)
        self.known = self._cmaps()
        self.added[name] = self.known - before

    @property
    def used(self) -> tuple:
        return tuple(name for name, codes in self.added.items() if codes & self.printed)

    def _printable(self, ch: str) -> bool:
        return ord(ch) in self.known or unicodedata.category(ch) in ("Cc", "Cf")  # "\n", joiners

    def text(self, value) -> str:
        text = "" if value is None else unicodedata.normalize("NFC", str(value))  # "e" + U+0308 is "ë"
        while self.waiting and not all(self._printable(ch) for ch in text):
            self._add_fallback()
        out = []
        for ch in text:
            if self._printable(ch):
                out.append(ch)
            elif unicodedata.category(ch) == "Zs":
                out.append(" ")
            else:
                self.unprintable.add(ch)
                out.append(UNPRINTABLE)
        text = "".join(out)
        self.printed.update(map(ord, text))
        return text


def _fmt(value) -> str:
    return "\u2014" if value is None else f"{value:.2f}"


def _day(value) -> str:
    return value.strftime("%d %B %Y")


def subject_report_pdf(report) -> bytes:
    # Imported here, not at the top: fpdf (with Pillow and fontTools) adds about 30 MB
    # to every web worker, scheduler and command-line process, for a PDF asked now and
    # then; a roster import of 200,000 rows has to fit in 300 MB beside it.
    from fpdf import FPDF

    fpdf_log = logging.getLogger("fpdf.output")
    if _not_missing_glyphs not in fpdf_log.filters:
        fpdf_log.addFilter(_not_missing_glyphs)
    data, fonts = _build(FPDF, report, notice=False)
    if fonts.unprintable:  # known only once all the text is laid out: lay it out again, with the notice
        log.warning("subject report PDF: no font for %s",
                    ", ".join(f"U+{ord(ch):04X}" for ch in sorted(fonts.unprintable)))
        data, _ = _build(FPDF, report, notice=True, fallbacks=fonts.used)
    return data


def _build(FPDF, report, notice: bool, fallbacks=FALLBACKS) -> tuple[bytes, _Fonts]:
    pdf = FPDF(format="Letter")
    fonts = _Fonts(pdf, fallbacks)
    _text = fonts.text
    labels = getattr(report, "labels", None) or GROUP_LABELS
    unit = getattr(report, "unit", "") or report.subject.unit.name
    pdf.set_title(_text(f"{report.cycle.name}: {report.subject.full_name}"))
    pdf.set_author("Beacon")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 9, _text(f"Performance review: {report.subject.display_name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    pdf.set_text_color(*MUTED)
    dates = f"{_day(report.cycle.opens_on)} to {_day(report.cycle.closes_on)}"
    pdf.cell(0, 6, _text(f"{report.cycle.name} · {dates} · {unit}"), new_x="LMARGIN", new_y="NEXT")
    version = getattr(report, "version", None)
    if version is not None:
        versions = getattr(report, "versions", None) or [version]
        stated = f"Results version {version.number} of {len(versions)}"
        if version.number > 1 and version.reason:
            stated += f", corrected: {version.reason}"
        pdf.multi_cell(0, 6, _text(stated), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Confidential: for the officer, their supervisor and HR.", new_x="LMARGIN", new_y="NEXT")
    _standing(pdf, _text, getattr(report, "standing", None))
    if notice:
        pdf.set_text_color(*INK)
        pdf.multi_cell(0, 6, NOTICE, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    groups = [r.group for r in report.results]
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 7, "Who responded", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    for r in report.results:
        state = (f"{r.responses} response{'s' if r.responses != 1 else ''}" if r.shown
                 else "not enough responses to keep reviewers anonymous")
        pdf.cell(0, 5.5, _text(f"{labels[r.group]}: {state}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    width = pdf.epw
    first = width - 20 * (len(groups) + 2)
    for section in report.sections:
        pdf.set_font(FONT, "B", 12)
        pdf.cell(0, 8, _text(section.competency), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "B", 8)
        pdf.cell(first, 6, "Criterion", border="B")
        for g in groups:
            pdf.cell(20, 6, _text(labels[g]), border="B", align="C")
        pdf.cell(20, 6, "Others", border="B", align="C")
        pdf.cell(20, 6, "Self \u2212 others", border="B", align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 8)
        for line in section.lines:
            text = _text(line.text)
            if pdf.get_string_width(text) > first - 2:
                while pdf.get_string_width(text + "\u2026") > first - 2:
                    text = text[:-1]
                text += "\u2026"
            pdf.cell(first, 5.5, text)
            for g in groups:
                pdf.cell(20, 5.5, _fmt(line.by_group.get(g)), align="C")
            pdf.cell(20, 5.5, _fmt(line.others), align="C")
            pdf.cell(20, 5.5, "\u2014" if line.gap is None else f"{line.gap:+.2f}", align="C", new_x="LMARGIN",
                     new_y="NEXT")
        for label, value, _ in section.chart:  # the chart: one bar per group, 0 to 5
            pdf.set_font(FONT, "", 8)
            pdf.cell(30, 5, _text(label))
            x, y = pdf.get_x(), pdf.get_y() + 1
            pdf.set_draw_color(*MUTED)
            pdf.rect(x, y, 100, 3)
            pdf.set_fill_color(*BAR)
            pdf.rect(x, y, 100 * value / 5, 3, style="F")
            pdf.set_x(x + 104)
            pdf.cell(15, 5, f"{value:.2f}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)

    current, previous = report.community
    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 8, "Community policing", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    if current is None:
        pdf.cell(0, 6, "No community metrics were imported for this period.", new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.cell(70, 6, "", border="B")
        pdf.cell(45, 6, _text(f"{current.start} to {current.end}"), border="B", align="C")
        pdf.cell(45, 6, _text(f"{previous.start} to {previous.end}" if previous else "Last period: none"),
                 border="B", align="C", new_x="LMARGIN", new_y="NEXT")
        for label, attr in METRIC_LINES:
            now_value = getattr(current.figures, attr)
            before = getattr(previous.figures, attr) if previous else None
            pdf.cell(70, 5.5, label)
            pdf.cell(45, 5.5, "\u2014" if now_value is None else str(now_value), align="C")
            pdf.cell(45, 5.5, "\u2014" if before is None else str(before), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 8, "Comments", new_x="LMARGIN", new_y="NEXT")
    for r in report.results:
        pdf.set_font(FONT, "B", 10)
        pdf.cell(0, 6, _text(labels[r.group]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 9)
        if not r.shown:
            pdf.multi_cell(0, 5, "Not enough responses to keep reviewers anonymous.", new_x="LMARGIN", new_y="NEXT")
        elif not r.comments:
            pdf.multi_cell(0, 5, "No comments.", new_x="LMARGIN", new_y="NEXT")
        for comment in r.comments:
            pdf.multi_cell(0, 5, _text(f"\u2022 {comment}"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    return bytes(pdf.output()), fonts


METRIC_LINES = [("Citizen compliments", "compliments"), ("Complaints", "complaints"),
                ("Complaints sustained", "complaints_sustained"), ("Community meetings", "community_meetings"),
                ("Problem-solving projects", "problem_solving_projects"),
                ("Residents' sense of safety (1-5)", "resident_safety_score"),
                ("Verified activities", "verified_activities"), ("Verified hours", "verified_hours")]


def _standing(pdf, _text, standing) -> None:
    """The subject's acknowledgement and written response, as the report page shows them."""
    if standing is None:
        return
    from core.department import zone

    def when(moment):
        local = moment.astimezone(zone())
        return f"{local:%d %B %Y, %H:%M} {local.tzname()}"
    pdf.set_text_color(*INK)
    if standing.acknowledged:
        state = (f"Acknowledged by the officer on {when(standing.acknowledged_at)} "
                 f"(version {standing.acknowledged_version}).")
    elif standing.earlier_version:
        state = (f"Version {standing.version} not yet acknowledged (version {standing.acknowledged_version} was, on "
                 f"{when(standing.acknowledged_at)}).")
    else:
        state = "Not yet acknowledged by the officer."
    pdf.multi_cell(0, 6, _text(state + " Acknowledging means the officer has read the report, not that they agree "
                               "with it."), new_x="LMARGIN", new_y="NEXT")
    if standing.response:
        pdf.set_font(FONT, "B", 10)
        pdf.cell(0, 6, _text(f"The officer's response (last saved {when(standing.responded_at)})"),
                 new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 10)
        pdf.multi_cell(0, 5, _text(standing.response), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*MUTED)
