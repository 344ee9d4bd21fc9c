"""360-degree reviews, review cycles, upward reviews, community metrics (issue 5).

So far: the pure rules (rules.py). The storage design the rest builds on, so that an
upward review cannot be tied to its author by HR, administrators or anyone with the
database:

- Who has submitted is the assignment's status (rater, subject, group); it has no
  timestamp.
- A submitted anonymous review is first held *sealed* (encrypted with a key derived
  from SECRET_KEY and the cycle) in a holding table that references nothing, in the
  same transaction as the assignment's status. Someone reading the database then can
  see that a sealed row appeared with a submission (same transaction id), but not read
  it.
- When the cycle closes, one transaction unseals every held review of the cycle,
  inserts them into the anonymous-review table in random order (a random UUID key; on
  SQLite a WITHOUT ROWID table, so storage order is the key's), and deletes the held
  rows. Every anonymous row then shares one transaction id and no order: nothing
  links it to a submission. The rows hold subject, group, scores and comment: no rater,
  no account, no IP, no time.
- Results show only after publication and only for groups at or above the threshold
  (rules.group_result); a hidden group is left out of every total (rules.overall).
- The audit log says "submitted an upward review in cycle X", nothing more.
"""
