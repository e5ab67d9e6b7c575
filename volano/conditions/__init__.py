"""The condition language: which contacts match X, for segments, scoring, lifecycle, workflows
and email content. Parse and validate with `parse.condition_parse`, count or list the matching
contacts with `selectors.contacts_matching` / `selectors.condition_count`, say it in words with
`describe.condition_describe`. See docs/conditions.md.
"""
