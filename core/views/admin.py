"""Administrators: accounts, the access review, the audit log."""
import csv
import io
from datetime import timezone
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from wtforms.fields.choices import SelectChoice

from core import clock
from core.audit import CONFIDENTIAL
from core.csvsafe import cell
from core.db import db
from core.forms import AccountForm, ActionForm, AuditFilterForm, DisableForm, GrantRejectForm, RolesForm
from core.models import AuditEntry, Role
from core.services import accounts, audit_log, grants, roster, two_step
from core.web import (
    FieldError,
    actor,
    button_back,
    choice_arg,
    flag_arg,
    form_status,
    handle,
    page_number,
    roles_required,
    search_arg,
    submit,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/accounts")
@roles_required(Role.ADMIN)
def accounts_list():
    q = search_arg("q")
    role = choice_arg("role", [r.value for r in Role])
    page = accounts.list_accounts(actor(), q=q, role=role, page=page_number())
    return render_template("admin/accounts.html", page=page, q=q, role=role, roles=list(Role),
                           is_locked=accounts.is_locked)


@bp.route("/accounts/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def account_new():
    form = AccountForm()

    def create():
        officer_ids, unknown = roster.officer_ids_by_badge([form.badge_number.data or ""])
        if unknown:
            raise FieldError(form.badge_number, "No officer with this badge number on the roster.")
        return accounts.create_account(actor(), email=form.email.data, name=form.name.data, roles=form.roles.data,
                                       officer_id=officer_ids[0] if officer_ids else None)
    return handle(form, create, field=lambda exc: form.email if "already exists" in str(exc) else form.roles,
                  success=lambda user: f"Account created; an invitation was sent to {user.email}." if user.roles
                  else f"Account created for {user.email}. Its role waits for a second administrator's approval; "
                       "the invitation is sent then.",
                  redirect_to=lambda user: url_for("admin.account_detail", user_id=user.id)) \
        or (render_template("admin/account_new.html", form=form), form_status())


@bp.get("/accounts/<int:user_id>")
@roles_required(Role.ADMIN)
def account_detail(user_id):
    user = accounts.get_user(user_id)
    audit_log.read(actor(), "account.viewed", target=user.email)
    roles_form = RolesForm(roles=sorted(user.roles))
    return render_template("admin/account_detail.html", user=user, roles_form=roles_form,
                           action_form=ActionForm(),
                           locked=accounts.is_locked(user), pending_grants=grants.for_account(actor(), user.id),
                           two_step_required=two_step.required(user))


def _detail(user_id):
    return url_for("admin.account_detail", user_id=user_id)


@bp.post("/accounts/<int:user_id>/roles")
@roles_required(Role.ADMIN)
def account_roles(user_id):
    form = RolesForm()
    asked = set()
    if submit(form, lambda: asked.update(accounts.set_roles(actor(), user_id, form.roles.data)), "Roles saved.") \
            and asked:
        flash(f"Asked for {', '.join(sorted(asked))}: it takes effect when another administrator approves it.",
              "info")
    return redirect(_detail(user_id))


@bp.route("/accounts/<int:user_id>/disable", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def account_disable(user_id):
    """A confirmation step: whose account, the sessions it ends, the links and role
    requests it stops, and the reason for the audit log; the POST disables it."""
    form = DisableForm()
    done = handle(form, lambda: accounts.disable_account(actor(), user_id, form.reason.data or ""),
                  field=form.reason, redirect_to=_detail(user_id),
                  success="Account disabled; its sessions have ended.")
    if done:
        return done
    forecast = accounts.disable_forecast(actor(), user_id)
    user = forecast.user
    consequences = [
        f"{user.name} ({user.email}) is signed out everywhere at once: {forecast.open_sessions} open session"
        f"{'s end' if forecast.open_sessions != 1 else ' ends'} now." if forecast.open_sessions else
        f"{user.name} ({user.email}) is not signed in anywhere now, so no session has to end.",
        "Signing in is refused, and every link already sent to them (invitation, password reset, email "
        "confirmation) stops working"
        + (f": {forecast.unused_links} unused link{'s' if forecast.unused_links != 1 else ''}." if forecast.unused_links
           else "."),
    ]
    if user.officer or user.has_role(Role.CLINICIAN):  # said of every such account, whether or not it has one
        consequences.append("A calendar feed address they made, if any, stops working for good; enabled again, "
                            "they can make a new one.")
    if forecast.pending_grants:
        consequences.append(f"{forecast.pending_grants} role request{'s' if forecast.pending_grants != 1 else ''} "
                            "waiting for approval cannot be approved while the account is disabled.")
    consequences.append("Nothing is deleted: roles, history and records stay as they are, and an administrator "
                        "can enable the account again" + (" (not while the officer is separated on the roster)"
                                                          if user.officer else "") + ".")
    return render_template(
        "confirm.html", title=f"Disable {user.name}'s account?", consequences=consequences, form=form,
        fields=[form.reason], action=url_for("admin.account_disable", user_id=user.id),
        confirm_label="Disable account", confirm_style="danger", refusal=forecast.refusal,
        back_url=_detail(user.id), back_label="Keep it active"), form_status()


@bp.post("/accounts/<int:user_id>/enable")
@roles_required(Role.ADMIN)
def account_enable(user_id):
    return button_back(lambda: accounts.enable_account(actor(), user_id), "Account enabled.", _detail(user_id))


@bp.post("/accounts/<int:user_id>/unlock")
@roles_required(Role.ADMIN)
def account_unlock(user_id):
    return button_back(lambda: accounts.unlock_account(actor(), user_id), "Account unlocked.", _detail(user_id))


@bp.post("/accounts/<int:user_id>/two-step-reset")
@roles_required(Role.ADMIN)
def account_two_step_reset(user_id):
    return button_back(lambda: grants.ask_reset(actor(), user_id),
                       "Reset asked for: it takes effect when another administrator approves it.", _detail(user_id))


@bp.post("/accounts/<int:user_id>/invite")
@roles_required(Role.ADMIN)
def account_invite(user_id):
    return button_back(lambda: accounts.resend_invitation(actor(), user_id), "A new invitation was sent.",
                       _detail(user_id))


@bp.get("/grants")
@roles_required(Role.ADMIN)
def grants_pending():
    return render_template("admin/grants.html", pending=grants.pending(actor()), recent=grants.recent(actor()),
                           reject_form=GrantRejectForm())


@bp.post("/grants/<int:grant_id>/approve")
@roles_required(Role.ADMIN)
def grant_approve(grant_id):
    return button_back(lambda: grants.approve(actor(), grant_id), "Approved: the role is given.",
                       url_for("admin.grants_pending"))


@bp.post("/grants/<int:grant_id>/reject")
@roles_required(Role.ADMIN)
def grant_reject(grant_id):
    form = GrantRejectForm()
    submit(form, lambda: grants.reject(actor(), grant_id, form.reason.data), "Rejected; the request is kept.")
    return redirect(url_for("admin.grants_pending"))


@bp.get("/access-review")
@roles_required(Role.ADMIN)
def access_review():
    flagged_only = flag_arg("flagged")
    # Each read is logged before it is made: the log's commit would otherwise expire
    # what the page has loaded (one query per row to load it again).
    audit_log.read(actor(), "access_review.viewed", detail=f"page {page_number()}"
                   + (", flagged only" if flagged_only else ""))
    page = accounts.access_review(actor(), flagged_only=flagged_only, page=page_number())
    return render_template("admin/access_review.html", page=page, flagged_only=flagged_only)


@bp.get("/access-review.csv")
@roles_required(Role.ADMIN)
def access_review_csv():
    me = actor()
    rows = accounts.access_review(me, flagged_only=flag_arg("flagged"))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email", "roles", "status", "created_utc", "last_sign_in_utc", "flags"])
    for row in rows:
        u = row.user
        writer.writerow([cell(u.name), cell(u.email), " ".join(row.roles), u.status.value,
                         u.created_at.strftime("%Y-%m-%d %H:%M"),
                         u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "",
                         "; ".join(row.flags)])
    accounts.record_access_review_export(me, len(rows))
    stamp = clock.now().strftime("%Y-%m-%d")
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="beacon-access-review-{stamp}.csv"'})


def csv_response(header: list[str], rows, filename: str) -> Response:
    """A CSV download (UTF-8, a header, every row as wide as it): `rows` yields lists
    whose text cells have already passed through `cell`. The rows are read from the
    database as a stream (`yield_per`); only the text is held, a few MB at 50,000 officers."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a CSV row of {len(row)} cells under a header of {len(header)}")
        writer.writerow(row)
    return Response(out.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _filters() -> dict[str, str]:
    """The audit page's filters as given, to carry between the page and its download."""
    return {k: v for k, v in request.args.items() if k in ("person", "action", "date_from", "date_to") and v}


AUDIT_CSV_HEADER = ["when_local", "when_utc", "who", "action", "target", "outcome", "source_ip", "detail"]


def audit_csv(private: bool, name: str):
    """The audit log page's entries as CSV, with the page's filters, newest first; the
    download is itself audited in the same log. Times in the department's time zone
    (ISO 8601 with its offset) and in UTC."""
    form = AuditFilterForm(request.args)
    form.action.choices = [SelectChoice("", "Any action")] + [SelectChoice(a, a) for a in audit_log.actions(private)]
    if not form.validate():
        flash("Correct the filter before downloading.", "danger")
        return redirect(url_for("wellness.audit" if private else "admin.audit", **_filters()))
    asked = [f"{label} {value}" for label, value in (("person", form.person.data), ("action", form.action.data),
                                                      ("from", form.date_from.data), ("to", form.date_to.data))
             if value]
    me = actor()
    me.require(Role.HR if private else Role.ADMIN)
    audit_log.read(me, "audit.exported", private=private, detail="CSV of " + (", ".join(asked) or "everything"))
    query = audit_log.matching(person=form.person.data or "", action=form.action.data or "",
                               date_from=form.date_from.data, date_to=form.date_to.data, private=private)
    zone = ZoneInfo(current_app.config["BEACON_TIMEZONE"])

    def rows():
        columns = (AuditEntry.at, AuditEntry.actor_label, AuditEntry.action, AuditEntry.target, AuditEntry.outcome,
                   AuditEntry.ip, AuditEntry.detail)  # plain rows: several times faster than entities
        for entry in db.session.execute(query.with_only_columns(*columns).execution_options(yield_per=1000)):
            at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=timezone.utc)
            who, target, ip, detail = entry.actor_label, entry.target, entry.ip or "", entry.detail
            local, utc = at.astimezone(zone).isoformat(timespec="seconds"), at.astimezone(timezone.utc).isoformat(
                timespec="seconds")
            if target.startswith(CONFIDENTIAL):
                # Who, from where and the time of day are withheld (core.audit): the second it
                # happened could be matched with the same person's sign-in.
                who, target, ip, detail = "withheld", "a confidential self-referral", "", ""
                local, utc = at.astimezone(zone).date().isoformat(), ""
            yield [local, utc, cell(who), cell(entry.action), cell(target), cell(entry.outcome), cell(ip),
                   cell(detail)]
    stamp = clock.now().strftime("%Y-%m-%d")
    return csv_response(AUDIT_CSV_HEADER, rows(), f"beacon-{name}-{stamp}.csv")


def audit_page(private: bool, title: str, note: str):
    """The audit log page; `private` selects the health-related (wellness) entries."""
    form = AuditFilterForm(request.args)
    form.action.choices = [SelectChoice("", "Any action")] + [SelectChoice(a, a) for a in audit_log.actions(private)]
    page = None
    if form.validate():
        asked = [f"{name} {value}" for name, value in (("person", form.person.data), ("action", form.action.data),
                                                        ("from", form.date_from.data), ("to", form.date_to.data))
                 if value]
        audit_log.read(actor(), "audit.searched", private=private,
                       detail=(", ".join(asked) or "everything") + f"; page {page_number()}")
        page = audit_log.search(actor(), person=form.person.data or "", action=form.action.data or "",
                                date_from=form.date_from.data, date_to=form.date_to.data, page=page_number(),
                                private=private)
    download = url_for("wellness.audit_download" if private else "admin.audit_download", **_filters())
    return render_template("admin/audit.html", form=form, page=page, title=title, note=note, download=download,
                           confidential=CONFIDENTIAL)


@bp.get("/audit")
@roles_required(Role.ADMIN)
def audit():
    return audit_page(False, "Audit log", "Health-related (wellness) entries are kept in HR's wellness audit log.")


@bp.get("/audit.csv")
@roles_required(Role.ADMIN)
def audit_download():
    return audit_csv(False, "audit-log")
