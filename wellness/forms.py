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
    """Picks one free slot (its UTC start, as ISO text)."""
    starts_at = HiddenField(validators=[DataRequired()])
    clinician_id = HiddenField()
    submit = SubmitField("Book")


class DeclineForm(Form):
    reason = StringField("Reason (for HR; not clinical)",
                         validators=[DataRequired(message="Give HR a reason for declining."), Length(max=500)])
    submit = SubmitField("Decline")
