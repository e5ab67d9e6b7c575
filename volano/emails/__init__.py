"""Email: templates personalised per contact, sent exactly once with consent, and measured.

The sending core is a service other domains call (workflows send through it), not a page."""
