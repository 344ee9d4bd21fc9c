"""Forms of the kernel: sign-in, passwords, accounts, roster import; and `Form`, the
base of every form in the app, which refuses control characters and far dates."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    DateField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectFieldBase,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from core.converters import MAX_ID, date_problem
from core.department import today
from core.models import Role
from core.passwords import MAX_LENGTH
from core.rules import EMAIL_RE, clean_text, event_date_problem, text_problem


def happened(form, field):
    """A validator for the date of something that happened (an incident, an activity):
    not in the future, not more than five years ago (core.rules.event_date_problem)."""
    if field.data is not None:
        problem = event_date_problem(field.data, today())
        if problem:
            raise StopValidation(f"The date {problem}.")


class Form(FlaskForm):
    """Every form of the app derives from this one, so what no field may hold is
    refused in one place, with its message beside the field:

    - a control character (NUL among them) or a text-direction override in anything
      typed or chosen (`core.rules.text_problem`; tabs and line breaks only in
      multi-line fields). PostgreSQL cannot store NUL, and a select posted by hand
      can carry anything a text box can;
    - zero-width spaces and byte-order marks are stripped from text (`clean_text`),
      except from passwords, which are kept exactly as typed;
    - a date outside 1900 .. ten years ahead (`core.converters.date_problem`), so no
      later date arithmetic overflows; fields with a stricter rule add their own;
    - a chosen id that no table could hold.
    """

    def validate(self, extra_validators=None):
        problems = {}
        for field in self:
            problem = _raw_problem(field)
            if problem:
                problems[field.name] = problem
            elif isinstance(field, StringField) and not isinstance(field, (PasswordField, HiddenField)) \
                    and isinstance(field.data, str):
                field.data = clean_text(field.data)
        valid = super().validate(extra_validators)
        for field in self:
            problem = problems.get(field.name) or _value_problem(field)
            if problem:
                field.errors = [problem]
        return valid and not any(field.errors for field in self)


def _raw_problem(field) -> str | None:
    multiline = isinstance(field, (TextAreaField, HiddenField))
    for raw in field.raw_data or ():
        if isinstance(raw, str):
            problem = text_problem(raw, multiline=multiline)
            if problem:
                return f"This {problem}."
    return None


def _value_problem(field) -> str | None:
    if isinstance(field, DateField) and field.data is not None and not field.errors:
        problem = date_problem(field.data, today())
        return f"This date {problem}." if problem else None
    if isinstance(field, SelectFieldBase):
        values = field.data if isinstance(field.data, list) else [field.data]
        if any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in values):
            return "Choose from the list."
    return None

ROLE_CHOICES = [SelectChoice(Role.ADMIN.value, "Administrator"), SelectChoice(Role.HR.value, "HR"),
                SelectChoice(Role.CLINICIAN.value, "Clinician"), SelectChoice(Role.OFFICER.value, "Officer"),
                SelectChoice(Role.COMMAND.value, "Command (name-free figures)")]


# The same rule as the roster import, so an address the roster accepts is accepted here.
# (Departments on closed networks use internal domains that stricter checkers refuse.)
EmailAddress = Regexp(EMAIL_RE, message="Enter an email address such as name@department.gov.")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(Form):
    email = StringField("Email", validators=[DataRequired(), Length(max=254)],
                        render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField("Sign in")


class ForgotPasswordForm(Form):
    email = StringField("Email", validators=[DataRequired(), Length(max=254)], render_kw={"autocomplete": "username"})
    submit = SubmitField("Send me a link")


class SetPasswordForm(Form):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=MAX_LENGTH)],
                             description="At least 12 characters. "
                                         "A few unrelated words make a strong, memorable password.",
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat the new password",
                            validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Set password")


class LinkCodeForm(Form):
    """The code of an invitation or reset link, posted (by the link page's script, or
    pasted by hand) to be exchanged for a session-bound password form."""
    code = StringField("Code from your email", validators=[DataRequired(), Length(max=100)],
                       render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"})
    submit = SubmitField("Continue")


class SecondStepForm(Form):
    """The second step of signing in: the authenticator's code, or a recovery code."""
    code = StringField("Code", validators=[DataRequired("Enter the code."), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "off",
                                  "autocorrect": "off"})
    submit = SubmitField("Verify")


class AuthenticatorCodeForm(Form):
    """A code from the authenticator app, and nothing else (setting up, turning off,
    new recovery codes): six digits."""
    code = StringField("6-digit code from the app", validators=[DataRequired("Enter the code."), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false",
                                  "autocorrect": "off"})
    submit = SubmitField("Confirm")


class MoveAuthenticatorForm(AuthenticatorCodeForm):
    """Setting up a new phone when one is set up already: a code from the old one too."""
    current_code = StringField("Code from your old app, or a recovery code",
                               validators=[DataRequired("Enter a code from your old app, or a recovery code."),
                                           Length(max=40)],
                               render_kw={"autocomplete": "off", "spellcheck": "false", "autocorrect": "off"})


class ChangePasswordForm(SetPasswordForm):
    current_password = PasswordField("Current password", validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    submit = SubmitField("Change password")


class AccountForm(Form):
    email = StringField("Email", validators=[DataRequired(), Length(max=254), EmailAddress],
                        filters=[lambda v: v.strip().lower() if v else v])
    name = StringField("Name", validators=[DataRequired(), Length(max=160)])
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES,
                               validators=[DataRequired(message="Choose at least one role.")])
    badge_number = StringField("Badge number", validators=[Optional(), Length(max=20)],
                               description="Required for an officer account: ties it to the roster row.")
    submit = SubmitField("Create account and send invitation")


class RolesForm(Form):
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES,
                               validators=[DataRequired(message="Choose at least one role.")])
    submit = SubmitField("Save roles")


class DisableForm(Form):
    reason = StringField("Reason (kept in the audit log)", validators=[Optional(), Length(max=500)])
    submit = SubmitField("Disable account")


class ActionForm(Form):
    """A button that changes something: carries only the CSRF token."""
    submit = SubmitField("Confirm")


class GrantRejectForm(Form):
    reason = StringField("Reason for the requester",
                         validators=[DataRequired(message="Give the requester a reason."), Length(max=500)])
    submit = SubmitField("Reject")


class RosterImportForm(Form):
    file = FileField("Roster file (CSV)", validators=[FileRequired("Choose a CSV file."),
                                                      FileAllowed(["csv", "txt"], "The roster must be a .csv file.")])
    preview = SubmitField("Preview (nothing is written)")
    submit = SubmitField("Import")


class AuditFilterForm(Form):
    class Meta:
        csrf = False  # a GET search form: it changes nothing

    person = StringField("Person (email)", validators=[Optional(), Length(max=254)])
    action = SelectField("Action", validators=[Optional()], choices=[SelectChoice("", "Any action")],
                         validate_choice=False)
    date_from = DateField("From (UTC)", validators=[Optional()])
    date_to = DateField("To (UTC)", validators=[Optional()])

