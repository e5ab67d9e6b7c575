"""Email templates: compile (MJML/HTML → sanitised, inlined HTML + text), check, personalise."""
