"""The private channel (wellness.services.private_address): the page where an officer
adds, changes or removes a personal address for wellness messages, and the page its
confirmation link opens.

The page never takes an id: each officer acts on their own address only. The link is
`/wellness/private-address/confirm#t=<code>`: the fragment never reaches the server, so
no request line or access log holds the code; the page's script (the one the password
link page uses) posts it, or the person pastes the code the email also gives. The first
POST shows what would change, with a button; only that second POST changes anything, so
a mail scanner opening the link confirms nothing. Whoever holds the address may confirm,
signed in or not (it proves the mailbox is theirs; the officer asked while signed in).
"""
from flask import Blueprint, make_response, redirect, render_template, request, url_for
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from core import ratelimit
from core.forms import ActionForm, EmailAddress, Form, LinkCodeForm
from core.models import Role
from core.web import actor, button, form_status, roles_required, submit
from wellness.services import private_address

bp = Blueprint("channel", __name__)


class PrivateAddressForm(Form):
    email = StringField("Personal email address", validators=[DataRequired(), Length(max=254), EmailAddress],
                        filters=[lambda v: v.strip().lower() if v else v],
                        render_kw={"autocomplete": "email", "inputmode": "email", "spellcheck": "false",
                                   "autocapitalize": "off"})
    submit = SubmitField("Send confirmation link")


def _private(page: str, status: int = 200):
    """The answer may hold the code (the review page's form): never cached."""
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(form=None, mode: str = "", status: int = 200):
    return render_template("wellness/private_address.html", view=private_address.page(actor()), mode=mode,
                           form=form or PrivateAddressForm(), action_form=ActionForm(),
                           hours=private_address.link_hours()), status


@bp.route("/wellness/private-address", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def page():
    """GET: where wellness messages go and the form; POST: send a confirmation link."""
    if request.method == "GET":
        return _page()
    form = PrivateAddressForm()
    if not form.validate_on_submit():
        return _page(form, status=form_status())
    submit(form, lambda: private_address.request_address(actor(), form.email.data),
           "A confirmation link is on its way to that address. Nothing changes until you open it and confirm.")
    return redirect(url_for("channel.page"))


@bp.route("/wellness/private-address/remove", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def remove():
    """GET: the confirmation; POST: back to the department address at once."""
    if request.method == "POST":
        button(lambda: private_address.remove(actor()),
               "Wellness messages go to your department address again.")
        return redirect(url_for("channel.page"))
    view = private_address.page(actor())
    if view.address is None:
        return redirect(url_for("channel.page"))
    return _page(mode="remove")


@bp.route("/wellness/private-address/confirm", methods=["GET", "POST"])
@ratelimit.limited("LINK")
def confirm():
    form = LinkCodeForm()
    if not form.validate_on_submit():
        return _private(render_template("wellness/private_address_link.html", form=form), form_status())
    code = form.code.data.strip()
    try:
        if request.form.get("confirm") != "1":
            row = private_address.check(code)
            return _private(render_template("wellness/private_address_review.html", form=form, code=code,
                                            row=row))
        masked = private_address.confirm(code, request.remote_addr)
    except private_address.LinkInvalid as exc:
        return _private(render_template("wellness/private_address_invalid.html", reason=str(exc)), 404)
    return _private(render_template("wellness/private_address_done.html", masked=masked))


def init_app(app) -> None:
    app.register_blueprint(bp)
