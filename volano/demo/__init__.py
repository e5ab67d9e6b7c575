"""The demo workspace: a deterministic Italian SME (Officina Rossi S.r.l.) for `volano demo` and bench.

catalog.py holds the world (products, pages, campaigns, names), generator.py turns a seed into rows,
writer.py inserts them set-based (COPY on PostgreSQL), load.py creates the workspace and its team.
"""
