"""Wellness forms."""
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from core.department import today
from core.forms import EmailAddress, Form, MultiCheckboxField, happened
from wellness.models import Modality


WEEKDAYS = [SelectChoice(str(i), name) for i, name in
            enumerate(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"])]


class ClinicianForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=160)])
    practice = StringField("Practice", validators=[Optional(), Length(max=160)], filters=[lambda v: v or ""])
    email = StringField("Email", validators=[DataRequired(), Length(max=254), EmailAddress],
                        filters=[lambda v: v.strip().lower() if v else v])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)], filters=[lambda v: v or ""])
    license_number = StringField("License number", validators=[DataRequired(), Length(max=60)])
    license_state = StringField("Licensing state", validators=[DataRequired(), Regexp(r"^[A-Za-z]{2}$",
                                message="Two letters, e.g. MO.")])
    license_expires = DateField("License expires", validators=[DataRequired()])
    trauma_specialty = BooleanField("Specialises in recognising trauma")
    specialty_description = StringField("Trauma specialty", validators=[Optional(), Length(max=200)],
                                        filters=[lambda v: v or ""],
                                        description="For example: PTSD, critical-incident stress.")
    modality = SelectField("Sees officers", choices=[SelectChoice(Modality.IN_PERSON.value, "In person"),
                                                     SelectChoice(Modality.TELEHEALTH.value, "By video (telehealth)"),
                                                     SelectChoice(Modality.BOTH.value, "In person or by video")])
    address = TextAreaField("Address (for in-person visits)", validators=[Optional(), Length(max=500)],
                            filters=[lambda v: v or ""])
    submit = SubmitField("Save")


class HoursForm(Form):
    weekdays = MultiCheckboxField("Days", choices=WEEKDAYS,
                                  validators=[DataRequired(message="Choose at least one day.")])
    starts = TimeField("From", validators=[DataRequired()])
    ends = TimeField("Until", validators=[DataRequired()])
    slot_minutes = IntegerField("Slot length (minutes)", default=60,
                                validators=[InputRequired(), NumberRange(min=15, max=240)])
    valid_from = DateField("Starting", validators=[DataRequired()], default=today)
    submit = SubmitField("Publish hours")


class BlockForm(Form):
    day = DateField("Date", validators=[DataRequired()])
    note = StringField("Note", validators=[Optional(), Length(max=120)])
    submit = SubmitField("Block this date")


class IncidentForm(Form):
    type_id = SelectField("Type", coerce=int, validators=[InputRequired()])
    occurred_on = DateField("Date of the incident", validators=[DataRequired(), happened])
    description = TextAreaField("Short description", validators=[DataRequired(), Length(max=2000)],
                                description="Shared only with the clinician who sees an affected officer.")
    unit_ids = MultiCheckboxField("Whole units affected", coerce=int, validate_choice=False)
    badges = StringField("Officers affected (badge numbers, separated by commas or spaces)",
                         validators=[Optional(), Length(max=2000)])
    submit = SubmitField("Record incident")


class IncidentTypeForm(Form):
    name = StringField("New type of incident", validators=[DataRequired(), Length(max=120)])
    window_days = IntegerField("Evaluation within (days)", validators=[InputRequired(), NumberRange(min=1, max=365)])
    submit = SubmitField("Add type")


class SlotForm(Form):
    """Picks one free slot (its UTC start, as ISO text). A slot after the due date also
    needs HR's confirmation and reason (checked by the service, shown beside the reason)."""
    starts_at = HiddenField(validators=[DataRequired(message="Choose one of the listed times.")])
    clinician_id = HiddenField()
    late_reason = StringField("Why after the due date", validators=[Optional(), Length(max=500)],
                              filters=[lambda v: v or ""],
                              description="Kept on the appointment, shown on the record and in the wellness audit.")
    late_confirmed = BooleanField("I confirm booking this evaluation after its due date")
    submit = SubmitField("Book")


class KeepForm(Form):
    """HR records why an item on the Needs attention list stays as it is."""
    note = StringField("Why it stays as it is", validators=[DataRequired(message="Say why it stays as it is."),
                                                            Length(max=500)])
    submit = SubmitField("Keep and remove from the list")


class DeclineForm(Form):
    reason = StringField("Reason (for HR; not clinical)",
                         validators=[DataRequired(message="Give HR a reason for declining."), Length(max=500)])
    submit = SubmitField("Decline")


class IncidentEditForm(Form):
    """Corrects a recorded incident (wellness.services.incidents.update_incident)."""
    type_id = SelectField("Type", coerce=int, validators=[InputRequired()])
    # InputRequired, not DataRequired: a date typed but not valid keeps its own message.
    occurred_on = DateField("Date of the incident", validators=[InputRequired(), happened])
    description = TextAreaField("Short description", validators=[DataRequired(), Length(max=2000)],
                                description="Shared only with the clinician who sees an affected officer.")
    submit = SubmitField("Save changes")


class IncidentAffectedForm(Form):
    """Adds officers or units to a recorded incident."""
    unit_ids = MultiCheckboxField("Whole units to add", coerce=int, validate_choice=False)
    badges = StringField("Officers to add (badge numbers, separated by commas or spaces)",
                         validators=[Optional(), Length(max=2000)])
    submit = SubmitField("Add to the incident")


class IncidentWithdrawForm(Form):
    reason = TextAreaField("Why it is withdrawn",
                           validators=[DataRequired(message="Say why the incident is withdrawn."), Length(max=500)],
                           description="For example: recorded twice, or recorded against the wrong officers.")
    confirm = BooleanField("I understand its evaluations return to what they were",
                           validators=[DataRequired(message="Tick the box to confirm.")])
    submit = SubmitField("Withdraw the incident")
