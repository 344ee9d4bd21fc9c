"""The quarterly compliance report as PDF (fpdf2, fonts from PyPI as in evaluations/pdf.py),
drawn from the kept figures: the period, what the commission recommended beside what
happened, the tables, and the stamp (when it was made, the audit chains' heads)."""
from datetime import datetime
from importlib.resources import files

from fpdf import FPDF

from oversight import rules
from oversight.recommendations import ANSWERED_BY, RECOMMENDATIONS

INK, MUTED = (33, 37, 41), (108, 117, 125)
FONT = "opensans"


def _pdf() -> FPDF:
    pdf = FPDF(format="A4")
    opensans = files("ttf_opensans") / "ttf"
    pdf.add_font(FONT, "", opensans / "OpenSans-Regular.ttf")
    pdf.add_font(FONT, "B", opensans / "OpenSans-Bold.ttf")
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_margins(15, 15, 15)
    return pdf


def _table(pdf: FPDF, table: rules.Table) -> None:
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(0, 6, table.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    if not table.rows:
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(0, 5, table.note or "Nothing to count in this period.", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)
        pdf.ln(2)
        return
    first = 0.34 if len(table.columns) > 3 else 0.5
    rest = (1 - first) / (len(table.columns) - 1)
    widths = [first] + [rest] * (len(table.columns) - 1)
    with pdf.table(col_widths=widths, text_align=["LEFT"] + ["RIGHT"] * (len(table.columns) - 1),
                   line_height=5, first_row_as_headings=True) as t:
        t.row(table.columns)
        for row in table.rows + ([table.total] if table.total else []):
            t.row([row.label, *(c.text for c in row.cells)])
    if table.note:
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(0, 5, table.note, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)
    pdf.ln(3)


def _series(pdf: FPDF, series: rules.Series) -> None:
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(0, 6, series.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    with pdf.table(col_widths=(0.5, 0.5), text_align=("LEFT", "RIGHT"), line_height=5) as t:
        t.row(["Month", "Compliant" if series.unit == "%" else "Visits"])
        for month, point in zip(series.months, series.points):
            t.row([f"{month:%B %Y}", point.text])
    if series.note:
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(0, 5, series.note, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)
    pdf.ln(3)


def render(data: dict, made_at_local: datetime) -> bytes:
    """The PDF of one report's kept figures (`data`: figures.quarter(...) plus its stamp)."""
    pdf = _pdf()
    pdf.set_title(f"Beacon compliance report {data['period']['name']}")
    pdf.set_creator("Beacon")
    pdf.set_creation_date(made_at_local)
    pdf.add_page()
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "B", 16)
    pdf.multi_cell(0, 8, f"Compliance report, {data['period']['name']}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    start, end = (datetime.fromisoformat(data["period"][k]).date() for k in ("start", "end"))
    stamp = data["stamp"]
    lines = [f"Period: {start:%-d %B %Y} to {end:%-d %B %Y}",
             f"Made: {made_at_local:%-d %B %Y at %H:%M} {made_at_local.tzname()}",
             f"Audit log head (general): entry {stamp['general'][0]}, hash {stamp['general'][1]}",
             f"Audit log head (wellness): entry {stamp['wellness'][0]}, hash {stamp['wellness'][1]}"]
    for line in lines:
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, 5, f"Counts only: no officer is named. A figure about fewer than {data['threshold']} people "
                         f"shows as \u201cfewer than {data['threshold']}\u201d and is left out of every total, and "
                         "every total is the sum of the figures shown. The audit heads let the board check, in "
                         "Beacon, that no entry written before this report was changed since.",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)
    pdf.ln(3)
    tables = {t["key"]: rules.table_from_dict(t) for t in data["tables"]}
    series = {s["key"]: rules.series_from_dict(s) for s in data["series"]}
    for number, text in RECOMMENDATIONS.items():
        pdf.set_font(FONT, "B", 13)
        pdf.multi_cell(0, 7, f"Recommendation {number}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 9)
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(0, 5, f"The commission recommended: \u201c{text}\u201d", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)
        pdf.ln(1)
        for key in ANSWERED_BY[number]:
            if key in tables:
                _table(pdf, tables[key])
            elif key in series:
                _series(pdf, series[key])
    return bytes(pdf.output())
