"""KPI dashboards: one period and granularity for a whole page of widgets, sales velocity and the
account health score (issue 18, seed 003 §9, §13–§15). See docs/reports.md."""
