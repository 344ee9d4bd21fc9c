"""What the commission recommended, quoted from its report (shared/seeds), and which of
Beacon's figures answer each recommendation."""

RECOMMENDATIONS = {
    4: ('We recommend that the City hire a civilian consultant to create a new performance evaluation process'
        ' that includes community policing metrics as outlined in the full report.'),
    5: ('We recommend that the CBA use a 360-degree performance evaluation as defined in this report as the '
        'basis for retention and promotion decisions instead of seniority.'),
    6: ('We recommend that the CBA be amended to include mandatory preventative mental health evaluation by a'
        ' clinician with specialty recognizing trauma symptoms at a minimum yearly, but more often if the '
        'officer has experienced a traumatic event including death of a partner or unit member, use of their '
        'gun on duty, or others to be defined by the department.'),
    11: ('We recommend that the Department creating a policy to mandate that police officers perform in '
        'community engagement as defined in the full report as part of their regular duties.'),
}

# Which tables and series (oversight.services.figures keys) answer which recommendation.
ANSWERED_BY = {
    4: ("participation",),
    5: ("ranking",),
    6: ("compliance", "compliance_series", "incident", "self_referrals"),
    11: ("engagement",),
}
