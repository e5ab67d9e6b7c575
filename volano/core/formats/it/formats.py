"""Italian long dates as Italians write them: "3 settembre 2026", not "03 Settembre 2026".

`E` is the month's "alt. month" form, lowercase in Volano's Italian catalogue (Django's own
capitalises the month names, which suits a calendar heading, not a date inside a sentence).

Only what differs from Django's Italian formats is here; everything else falls back to them
(FORMAT_MODULE_PATH in settings.py)."""

DATE_FORMAT = "j E Y"
DATETIME_FORMAT = "j E Y, H:i"
