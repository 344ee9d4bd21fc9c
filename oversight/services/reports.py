"""Quarterly compliance reports for the oversight body: made once, kept unchanged.

A report keeps the quarter's figures as they stood (JSON), the PDF made from them (its
bytes and SHA-256) and the head of each audit chain at that moment. The page and the PDF
are drawn from what was kept, so a report looks the same however the data moves later;
`check` tells whether the audit log still holds the kept heads, so the board can verify
that nothing written before the report was edited since."""
import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from core import audit_chain, clock, department
from core.audit import Actor, record
from core.db import db
from core.errors import DomainError, NotFound
from core.models import AuditChainHead, AuditEntry, Role
from oversight import pdf, rules
from oversight.models import ComplianceReport
from oversight.services import figures

READERS = (Role.COMMAND, Role.HR)


def default_quarter(today: date) -> tuple[date, date]:
    """The last full quarter before `today`."""
    start, _ = rules.quarter_of(today)
    return rules.quarter_of(start - timedelta(days=1))


def make(actor: Actor, start: date) -> ComplianceReport:
    """Make and keep the report of the quarter starting `start` (command or HR; the CLI).
    The chain heads are read in the same transaction as the figures. Audited in the
    general log (the quarter and the PDF's hash, never a person). Commits."""
    actor.require(*READERS)
    start, end = rules.quarter_of(start)
    if start > department.today():
        raise DomainError("That quarter has not begun yet.")
    data = figures.quarter(start, end)
    # Seal what this transaction wrote so far, then read the heads it leaves.
    heads = {row.log: row for row in db.session.scalars(select(AuditChainHead))}
    made_at = clock.now()
    stamp = {"general": [heads["general"].seq, heads["general"].entry_hash],
             "wellness": [heads["wellness"].seq, heads["wellness"].entry_hash],
             "made_at": made_at.isoformat()}
    data["stamp"] = stamp
    content = pdf.render(data, made_at.astimezone(department.zone()))
    report = ComplianceReport(period_start=start, period_end=end, made_at=made_at,
                              made_by_id=actor.user_id, figures=json.dumps(data, ensure_ascii=False),
                              pdf=content, pdf_sha256=hashlib.sha256(content).hexdigest(),
                              general_head_seq=stamp["general"][0], general_head_hash=stamp["general"][1],
                              wellness_head_seq=stamp["wellness"][0], wellness_head_hash=stamp["wellness"][1])
    db.session.add(report)
    db.session.flush()
    record(actor, "oversight.report_made", target=f"compliance report {report.id}", detail=_stamp_detail(report))
    db.session.commit()
    return report


def _stamp_detail(report: ComplianceReport) -> str:
    """What the report was stamped with, written into its own (chained) audit entry: a
    report row changed afterwards no longer matches it."""
    return (f"{rules.quarter_name(report.period_start)}, PDF sha256 {report.pdf_sha256}, "
            f"general head {report.general_head_seq}:{report.general_head_hash}, "
            f"wellness head {report.wellness_head_seq}:{report.wellness_head_hash}")


def kept(actor: Actor) -> list[ComplianceReport]:
    """The kept reports, newest first (command or HR)."""
    actor.require(*READERS)
    return list(db.session.scalars(select(ComplianceReport).order_by(ComplianceReport.made_at.desc(),
                                                                     ComplianceReport.id.desc())))


def get(actor: Actor, report_id: int, *, download: bool = False) -> ComplianceReport:
    """One kept report (command or HR). Opening or downloading it is audited. Commits."""
    actor.require(*READERS)
    report = db.session.get(ComplianceReport, report_id)
    if report is None:
        raise NotFound("No such report.")
    record(actor, "oversight.report_downloaded" if download else "oversight.report_viewed",
           target=f"compliance report {report.id}")
    db.session.commit()
    return report


def figures_of(report: ComplianceReport) -> dict:
    """The kept figures as tables and series again (for the page)."""
    data = json.loads(report.figures)
    return {"tables": [rules.table_from_dict(t) for t in data["tables"]],
            "series": [rules.series_from_dict(s) for s in data["series"]],
            "threshold": data["threshold"], "period": data["period"]}


@dataclass
class Check:
    log: str
    seq: int
    kept_hash: str
    holds: bool          # the entry at that place still has that hash
    problem: str | None  # the chain's first break, if any, from the anchor to its head now
    retained: bool = False  # the entry was removed by the retention schedule since


@dataclass
class ReportCheck:
    chains: list[Check]
    pdf_holds: bool      # the kept PDF still hashes to the SHA-256 on the page
    stamp_holds: bool    # the report row still matches the audit entry written when it was made


def check(actor: Actor, report_id: int) -> tuple[ComplianceReport, ReportCheck]:
    """Does the audit log still hold what the report was stamped with? For each chain:
    the entry at the kept place still carries the kept hash (or was removed by retention,
    the chain now starting after it), and the chain verifies from its anchor to its head
    now (core.audit_chain.verify). And the report itself: its PDF still hashes to its
    SHA-256, and its row still matches the chained audit entry written when it was made.
    Audited. Commits."""
    actor.require(*READERS)
    report = db.session.get(ComplianceReport, report_id)
    if report is None:
        raise NotFound("No such report.")
    result = audit_chain.verify(db.session.connection())
    problems = {log.log: log.problem for log in result.logs}
    heads = {row.log: row for row in db.session.scalars(select(AuditChainHead))}
    chains = []
    for log, seq, kept_hash in (("general", report.general_head_seq, report.general_head_hash),
                                ("wellness", report.wellness_head_seq, report.wellness_head_hash)):
        head = heads.get(log)
        if seq == 0:
            chains.append(Check(log, seq, kept_hash, kept_hash == audit_chain.ZERO, problems.get(log)))
            continue
        if head is not None and seq < head.first_seq:  # removed by retention: the chain now starts after it
            chains.append(Check(log, seq, kept_hash, True, problems.get(log), retained=True))
            continue
        now_hash = db.session.scalar(select(AuditEntry.entry_hash).where(
            AuditEntry.private.is_(audit_chain.LOGS[log]), AuditEntry.seq == seq))
        chains.append(Check(log, seq, kept_hash, now_hash == kept_hash, problems.get(log)))
    made = db.session.scalar(select(AuditEntry.detail).where(
        AuditEntry.action == "oversight.report_made", AuditEntry.target == f"compliance report {report.id}"))
    outcome = ReportCheck(chains, hashlib.sha256(report.pdf).hexdigest() == report.pdf_sha256,
                          made is None or made == _stamp_detail(report))
    record(actor, "oversight.report_checked", target=f"compliance report {report.id}",
           detail="; ".join(f"{c.log}: {'holds' if c.holds and not c.problem else 'does not hold'}"
                            for c in chains)
           + f"; PDF {'holds' if outcome.pdf_holds else 'changed'}"
           + f"; stamp {'holds' if outcome.stamp_holds else 'changed'}")
    db.session.commit()
    return report, outcome
