"""Forms of notices."""
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from core.forms import Form

AUDIENCE_CHOICES = [SelectChoice("everyone", "Everyone with an account"), SelectChoice("unit", "A unit"),
                    SelectChoice("role", "Everyone with a role")]
ROLE_CHOICES = [SelectChoice("officer", "Officers"), SelectChoice("hr", "HR"), SelectChoice("clinician", "Clinicians"),
                SelectChoice("admin", "Administrators")]


class NoticeForm(Form):
    subject = StringField("Subject", validators=[DataRequired(), Length(max=150),
                                                 Regexp(r"^[^\r\n]*$", message="The subject must be one line.")])
    body = TextAreaField("Text", validators=[DataRequired(), Length(max=10000)],
                         description="Department business only. A second person reviews it before it is sent.")
    audience = SelectField("To", choices=AUDIENCE_CHOICES)
    unit = SelectField("Unit", validators=[Optional()], validate_choice=False, choices=[])
    role = SelectField("Role", validators=[Optional()], choices=ROLE_CHOICES)
    submit = SubmitField("Send for approval")


class RejectForm(Form):
    reason = StringField("Reason for the author",
                         validators=[DataRequired(message="Give the author a reason."), Length(max=500)])
    submit = SubmitField("Reject")


class ApproveForm(Form):
    """The confirmation of an approval: names the version of the text the approver read."""
    seen = HiddenField(validators=[DataRequired(message="Open the notice again and approve from its page."),
                                   Length(max=40)])
    submit = SubmitField("Approve and send")
