"""Review forms."""
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, StopValidation

from core.forms import Form, MultiCheckboxField, happened
from evaluations.models import ACTIVITY_LABELS, GROUP_LABELS
from evaluations.services.responses import MAX_RESPONSE
from evaluations.services.reviews import MAX_COMMENT


def _text(v):
    return (v or "").strip()


class RubricForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)], filters=[_text])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)], filters=[_text])
    copy_from = SelectField("Start from", coerce=int, choices=[])
    submit = SubmitField("Create rubric")


class CriterionForm(Form):
    competency = StringField("Competency", validators=[DataRequired(), Length(max=120)], filters=[_text],
                             description="Criteria with the same competency are shown together.")
    text = StringField("Criterion", validators=[DataRequired(), Length(max=300)], filters=[_text])
    anchor_1 = StringField("What a 1 looks like", validators=[DataRequired(), Length(max=300)], filters=[_text])
    anchor_3 = StringField("What a 3 looks like", validators=[DataRequired(), Length(max=300)], filters=[_text])
    anchor_5 = StringField("What a 5 looks like", validators=[DataRequired(), Length(max=300)], filters=[_text])
    position = IntegerField("Order", default=100, validators=[InputRequired(), NumberRange(0, 10_000)])
    by_self = BooleanField("The officer (self)", default=True)
    by_supervisor = BooleanField("Their supervisor", default=True)
    by_peer = BooleanField("Peers", default=True)
    by_direct_report = BooleanField("Their direct reports (anonymous)")
    submit = SubmitField("Save criterion")

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in
                ("competency", "position", "text", "anchor_1", "anchor_3", "anchor_5",
                 "by_self", "by_supervisor", "by_peer", "by_direct_report")}


class CycleForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)], filters=[_text],
                       description='For example "2027 annual".')
    rubric_id = SelectField("Rubric", coerce=int, choices=[])
    opens_on = DateField("Opens on", validators=[DataRequired()])
    closes_on = DateField("Closes on", validators=[DataRequired()])
    scope = RadioField("Who is reviewed", default="all", choices=[
        SelectChoice("all", "All active officers"), SelectChoice("units", "Officers of the units chosen below")])
    unit_ids = MultiCheckboxField("Units", coerce=int, choices=[])
    peers = IntegerField("Peers per officer", validators=[InputRequired(), NumberRange(0, 10)],
                         description="Chosen at random among officers of the same rank band, in the officer's unit "
                                     "first, never someone above or below them in the chain of command, avoiding "
                                     "last cycle's pairs.")
    threshold = IntegerField("Anonymity threshold", validators=[InputRequired(), NumberRange(2, 50)],
                             description="An anonymous group's results show only with at least this many reviews. "
                                         "It cannot be lowered once reviews exist.")
    anonymous_peers = BooleanField("Peer reviews are anonymous too")
    nominations = BooleanField("Officers may nominate peers",
                               description="While the cycle is a draft, each officer it reviews may name up to "
                                           "\"peers per officer\" peers; HR approves or declines each.")
    supervisor_share = IntegerField("Supervisor share (%)", default=25,
                                    validators=[Optional(), NumberRange(1, 100)],
                                    description="Besides the current supervisor and the next level up, anyone who "
                                                "supervised the officer for at least this share of the year before "
                                                "the cycle opens (to its close) reviews them as a supervisor.")
    submit = SubmitField("Create cycle")


class CycleSettingsForm(Form):
    opens_on = DateField("Opens on", validators=[DataRequired()])
    closes_on = DateField("Closes on", validators=[DataRequired()])
    threshold = IntegerField("Anonymity threshold", validators=[InputRequired(), NumberRange(2, 50)])
    submit = SubmitField("Save")


class MetricsPeriodForm(Form):
    """The community-metrics period a cycle's results use (choices: results.period_choices)."""
    period = SelectField("Community-metrics period", choices=[], validate_choice=False,
                         description="The imported period whose figures go into every report and the matrix. "
                                     "Later imports never change a published cycle.")
    submit = SubmitField("Use this period")


class CloseCycleForm(MetricsPeriodForm):
    submit = SubmitField("Close the cycle now")


class CorrectResultsForm(Form):
    period = SelectField("Community-metrics period", choices=[], validate_choice=False)
    reason = TextAreaField("Why the results are corrected", validators=[DataRequired(), Length(min=10, max=1000)],
                           filters=[_text], description="Kept with the new version and shown on every report.")
    submit = SubmitField("Make a corrected version")


class AssignmentForm(Form):
    subject_badge = StringField("Subject's badge", validators=[DataRequired(), Length(max=20)], filters=[_text])
    rater_badge = StringField("Rater's badge", validators=[DataRequired(), Length(max=20)], filters=[_text])
    group = SelectField("As", choices=[SelectChoice(g, label) for g, label in GROUP_LABELS.items()])
    submit = SubmitField("Add")


class PickOfficerForm(Form):
    """A button beside an officer in a list (nominate them, swap them in)."""
    officer_id = IntegerField(validators=[InputRequired(), NumberRange(1, 2**31 - 1)])


class DeclineNominationForm(Form):
    reason = StringField("Reason (the officer sees it)", validators=[Optional(), Length(max=300)], filters=[_text])
    submit = SubmitField("Decline")


class MetricsImportForm(Form):
    file = FileField("Metrics file (CSV)", validators=[FileRequired()])
    replace = BooleanField("Replace figures already imported for the same officers and overlapping periods",
                           description="Without this, a line for a period that overlaps one already imported for "
                                       "that officer is refused. A period a published cycle used is never replaced.")
    preview = SubmitField("Preview")
    submit = SubmitField("Import")


def finite(form, field):
    """Refuse NaN and infinities before NumberRange compares them (a signalling NaN
    would raise there)."""
    if field.data is not None and not field.data.is_finite():
        raise StopValidation("Enter a number of hours.")


class ActivityForm(Form):
    day = DateField("Date", validators=[DataRequired(), happened])
    kind = SelectField("Kind", choices=[SelectChoice(k, label) for k, label in ACTIVITY_LABELS.items()])
    hours = DecimalField("Hours", places=1, validators=[InputRequired(), finite, NumberRange(0.5, 24)])
    note = TextAreaField("Note", validators=[Optional(), Length(max=1000)], filters=[_text],
                         description="What you did and with whom (no names of residents needed).")
    submit = SubmitField("Log activity")


SCORE_CHOICES = [SelectChoice("", "Not observed")] + [SelectChoice(str(n), str(n)) for n in range(1, 6)]


def review_form(criteria, data=None):
    """A form with one 1-5 choice per criterion (or "not observed"), and a comment."""
    class ReviewForm(Form):
        comment = TextAreaField("Comments", validators=[Optional(), Length(max=MAX_COMMENT)], filters=[_text])
        save = SubmitField("Save draft")
        submit_review = SubmitField("Submit review")

    for c in criteria:
        setattr(ReviewForm, f"c{c.id}", RadioField(c.text, choices=SCORE_CHOICES, default="",
                                                  validators=[Optional()]))
    form = ReviewForm(data=data)
    return form


def _response_text(v):
    return (v or "").replace("\r\n", "\n").strip()


class ResponseForm(Form):
    """The subject's written response to their published report."""
    response = TextAreaField(
        "Your response", filters=[_response_text], render_kw={"rows": 6, "maxlength": MAX_RESPONSE},
        validators=[Optional(), Length(max=MAX_RESPONSE,
                                       message=f"A response can be at most {MAX_RESPONSE:,} characters.")],
        description=f"Up to {MAX_RESPONSE:,} characters. It is kept with your report: your supervisor and HR "
                    "read it there. You can change it later; the earlier text is not kept.")
    submit = SubmitField("Save response")
