"""CSV cells that spreadsheet programs will not run as formulas."""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    """A text cell for an export: one that would start a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_START else text
