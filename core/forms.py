"""Forms of the kernel: sign-in, passwords, accounts, roster import."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import DateField, HiddenField, PasswordField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from core.models import Role
from core.passwords import MAX_LENGTH
from core.rules import EMAIL_RE

ROLE_CHOICES = [SelectChoice(Role.ADMIN.value, "Administrator"), SelectChoice(Role.HR.value, "HR"),
                SelectChoice(Role.CLINICIAN.value, "Clinician"), SelectChoice(Role.OFFICER.value, "Officer")]


# The same rule as the roster import, so an address the roster accepts is accepted here.
# (Departments on closed networks use internal domains that stricter checkers refuse.)
EmailAddress = Regexp(EMAIL_RE, message="Enter an email address such as name@department.gov.")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(max=254)],
                        render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField("Sign in")


class ForgotPasswordForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(max=254)], render_kw={"autocomplete": "username"})
    submit = SubmitField("Send me a link")


class SetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=MAX_LENGTH)],
                             description="At least 12 characters. A few unrelated words make a strong, memorable password.",
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat the new password",
                            validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Set password")


class ChangePasswordForm(SetPasswordForm):
    current_password = PasswordField("Current password", validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    submit = SubmitField("Change password")


class AccountForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(max=254), EmailAddress],
                        filters=[lambda v: v.strip().lower() if v else v])
    name = StringField("Name", validators=[DataRequired(), Length(max=160)])
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES, validators=[DataRequired(message="Choose at least one role.")])
    badge_number = StringField("Badge number", validators=[Optional(), Length(max=20)],
                               description="Required for an officer account: ties it to the roster row.")
    submit = SubmitField("Create account and send invitation")


class RolesForm(FlaskForm):
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES, validators=[DataRequired(message="Choose at least one role.")])
    submit = SubmitField("Save roles")


class DisableForm(FlaskForm):
    reason = StringField("Reason (kept in the audit log)", validators=[Optional(), Length(max=500)])
    submit = SubmitField("Disable account")


class ActionForm(FlaskForm):
    """A button that changes something: carries only the CSRF token."""
    submit = SubmitField("Confirm")


class RosterImportForm(FlaskForm):
    file = FileField("Roster file (CSV)", validators=[FileRequired("Choose a CSV file."),
                                                      FileAllowed(["csv", "txt"], "The roster must be a .csv file.")])
    preview = SubmitField("Preview (nothing is written)")
    submit = SubmitField("Import")


class RosterConfirmForm(FlaskForm):
    """Imports exactly the file that was previewed."""
    content = HiddenField(validators=[DataRequired()])
    filename = HiddenField()
    submit = SubmitField("Import this file")


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form: it changes nothing

    person = StringField("Person (email)", validators=[Optional(), Length(max=254)])
    action = SelectField("Action", validators=[Optional()], choices=[SelectChoice("", "Any action")],
                         validate_choice=False)
    date_from = DateField("From (UTC)", validators=[Optional()])
    date_to = DateField("To (UTC)", validators=[Optional()])

