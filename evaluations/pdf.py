"""A subject report as PDF (fpdf2, pure Python; no browser or external tool needed).

The core PDF fonts cover Latin-1 only, so text is folded to it (accents kept where
Latin-1 has them; anything else becomes its closest ASCII or "?")."""
import unicodedata

from evaluations.models import GROUP_LABELS

INK, MUTED, BAR = (33, 37, 41), (108, 117, 125), (13, 110, 253)


def _text(value) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\u2014", "-").replace("\u2013", "-").replace("\u2019", "'").replace("\u201c", '"') \
        .replace("\u201d", '"').replace("\u2026", "...")
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        folded = unicodedata.normalize("NFKD", text)
        return "".join(ch if ord(ch) < 256 else "?" for ch in folded if not unicodedata.combining(ch))


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def subject_report_pdf(report) -> bytes:
    # Imported here, not at the top: fpdf (with Pillow and fontTools) adds about 30 MB
    # to every web worker, scheduler and command-line process, for a PDF asked now and
    # then; a roster import of 200,000 rows has to fit in 300 MB beside it.
    from fpdf import FPDF

    pdf = FPDF(format="Letter")
    pdf.set_title(_text(f"{report.cycle.name}: {report.subject.full_name}"))
    pdf.set_author("Beacon")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_text_color(*INK)
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 9, _text(f"Performance review: {report.subject.display_name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 6, _text(f"{report.cycle.name} - {report.cycle.opens_on} to {report.cycle.closes_on} - "
                         f"{report.subject.unit.name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "Confidential: for the officer, their supervisor and HR.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    groups = [r.group for r in report.results]
    pdf.set_text_color(*INK)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 7, "Who responded", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    for r in report.results:
        state = f"{r.responses} response(s)" if r.shown else "not enough responses to keep reviewers anonymous"
        pdf.cell(0, 5.5, _text(f"{GROUP_LABELS[r.group]}: {state}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    width = pdf.epw
    first = width - 20 * (len(groups) + 2)
    for section in report.sections:
        pdf.set_font("helvetica", "B", 12)
        pdf.cell(0, 8, _text(section.competency), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "B", 8)
        pdf.cell(first, 6, "Criterion", border="B")
        for g in groups:
            pdf.cell(20, 6, _text(GROUP_LABELS[g]), border="B", align="C")
        pdf.cell(20, 6, "Others", border="B", align="C")
        pdf.cell(20, 6, "Self - others", border="B", align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 8)
        for line in section.lines:
            text = _text(line.text)
            if pdf.get_string_width(text) > first - 2:
                while pdf.get_string_width(text + "...") > first - 2:
                    text = text[:-1]
                text += "..."
            pdf.cell(first, 5.5, text)
            for g in groups:
                pdf.cell(20, 5.5, _fmt(line.by_group.get(g)), align="C")
            pdf.cell(20, 5.5, _fmt(line.others), align="C")
            pdf.cell(20, 5.5, "-" if line.gap is None else f"{line.gap:+.2f}", align="C", new_x="LMARGIN",
                     new_y="NEXT")
        for label, value, _ in section.chart:  # the chart: one bar per group, 0 to 5
            pdf.set_font("helvetica", "", 8)
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
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 8, "Community policing", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 9)
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
            pdf.cell(45, 5.5, "-" if now_value is None else str(now_value), align="C")
            pdf.cell(45, 5.5, "-" if before is None else str(before), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 8, "Comments", new_x="LMARGIN", new_y="NEXT")
    for r in report.results:
        pdf.set_font("helvetica", "B", 10)
        pdf.cell(0, 6, _text(GROUP_LABELS[r.group]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 9)
        if not r.shown:
            pdf.multi_cell(0, 5, "Not enough responses to keep reviewers anonymous.", new_x="LMARGIN", new_y="NEXT")
        elif not r.comments:
            pdf.multi_cell(0, 5, "No comments.", new_x="LMARGIN", new_y="NEXT")
        for comment in r.comments:
            pdf.multi_cell(0, 5, _text(f"- {comment}"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    return bytes(pdf.output())


METRIC_LINES = [("Citizen compliments", "compliments"), ("Complaints", "complaints"),
                ("Complaints sustained", "complaints_sustained"), ("Community meetings", "community_meetings"),
                ("Problem-solving projects", "problem_solving_projects"),
                ("Residents' sense of safety (1-5)", "resident_safety_score"),
                ("Verified activities", "verified_activities"), ("Verified hours", "verified_hours")]
