"""English long dates: "3 September 2026" (the day first, as in the Italian UI; not "Sept. 3")."""

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
