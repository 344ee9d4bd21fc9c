"""Support after an incident (wellness.services.support): the page where any officer
reads whom they can turn to, and HR's list of those resources.

The officer's page is open to everyone signed in: a page only the affected could open
would let its address say who was affected, and a refusal would be audited. Opening it
writes nothing and logs nothing, and its request line is kept out of the access logs
(core.views.auth.WithheldTokens); it asks browsers to send no Referer from it either."""
from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import login_required
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from core.forms import ActionForm, Form
from core.models import Role
from core.web import actor, button, form_status, handle, roles_required
from wellness.services import support

bp = Blueprint("support", __name__, url_prefix="/wellness")

# The officer's page: the access-log filter in core.views.auth matches this exact path.
PAGE = "/wellness/support"


def _phone(form, field):
    problem = support.phone_problem((field.data or "").strip())
    if problem:
        raise ValidationError(problem)


def _blank(value):
    return value or ""


class SupportResourceForm(Form):
    name = StringField("Name", validators=[DataRequired(message="Give the name officers will see."),
                                           Length(max=support.LIMITS["name"])],
                       description="As officers will see it, e.g. Peer Support Team.")
    kind = SelectField("Kind", choices=[SelectChoice(k.value, label) for k, label in support.KIND_LABELS.items()])
    phone = StringField("Phone", validators=[Optional(), Length(max=support.LIMITS["phone"]), _phone],
                        filters=[_blank], render_kw={"inputmode": "tel", "autocomplete": "off"},
                        description="A number to dial, such as 988 or (555) 010-0100. On a phone it is one tap.")
    contact = StringField("Other ways to reach them", validators=[Optional(), Length(max=support.LIMITS["contact"])],
                          filters=[_blank], description="An email address, a text line, a web page, a room.")
    hours = StringField("Hours", validators=[Optional(), Length(max=support.LIMITS["hours"])], filters=[_blank],
                        description="e.g. Any time, day or night.")
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=support.LIMITS["notes"])], filters=[_blank],
                          description="What officers should know: who they will speak to, what stays confidential.")
    submit = SubmitField("Save")


# --- officers ----------------------------------------------------------------------------------

@bp.get("/support")
@login_required
def page():
    """Everyone signed in may read it; nothing is recorded (see the module's docstring)."""
    response = render_template("wellness/support.html", resources=support.listed())
    return response, 200, {"Referrer-Policy": "no-referrer"}


# --- HR ----------------------------------------------------------------------------------------

@bp.get("/support-resources")
@roles_required(Role.HR)
def resource_list():
    return render_template("wellness/support_admin.html", resources=support.all_resources(actor()),
                           form=ActionForm())


def _values(form) -> dict:
    return {name: getattr(form, name).data for name in support.FIELDS}


def _beside(form):
    return lambda exc: getattr(form, getattr(exc, "field_name", "name"), form.name)


@bp.route("/support-resources/new", methods=["GET", "POST"])
@roles_required(Role.HR)
def resource_new():
    form = SupportResourceForm()
    return handle(form, lambda: support.create(actor(), **_values(form)), field=_beside(form),
                  success=lambda r: f"{r.name} is on the list officers see.",
                  redirect_to=url_for("support.resource_list")) \
        or (render_template("wellness/support_form.html", form=form, resource=None), form_status())


@bp.route("/support-resources/<int:resource_id>", methods=["GET", "POST"])
@roles_required(Role.HR)
def resource_edit(resource_id):
    resource = support.get(actor(), resource_id)
    form = SupportResourceForm(obj=resource if request.method == "GET" else None)
    if request.method == "GET":
        form.kind.data = resource.kind.value
    return handle(form, lambda: support.update(actor(), resource_id, **_values(form)), field=_beside(form),
                  success=lambda r: f"{r.name} is saved.", redirect_to=url_for("support.resource_list")) \
        or (render_template("wellness/support_form.html", form=form, resource=resource), form_status())


def _change(do, success):
    button(do, success)
    return redirect(url_for("support.resource_list"))


@bp.post("/support-resources/<int:resource_id>/hide")
@roles_required(Role.HR)
def resource_hide(resource_id):
    return _change(lambda: support.set_shown(actor(), resource_id, False),
                   "Hidden from officers; show it again at any time.")


@bp.post("/support-resources/<int:resource_id>/show")
@roles_required(Role.HR)
def resource_show(resource_id):
    return _change(lambda: support.set_shown(actor(), resource_id, True), "Shown to officers again.")


@bp.post("/support-resources/<int:resource_id>/up")
@roles_required(Role.HR)
def resource_up(resource_id):
    return _change(lambda: support.move(actor(), resource_id, up=True), "Moved up.")


@bp.post("/support-resources/<int:resource_id>/down")
@roles_required(Role.HR)
def resource_down(resource_id):
    return _change(lambda: support.move(actor(), resource_id, up=False), "Moved down.")


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.add_template_filter(support.tel_href, "tel_href")
    app.add_template_filter(lambda kind: support.KIND_LABELS.get(kind, ""), "support_kind")
