"""Background work: the embedded worker (`volano worker`) and the sweeper that repairs stuck work.

Work is enqueued through Django's Tasks API (`task.enqueue`, after commit) by each domain's thin
`tasks.py`. Work that waits or can get stuck lives as domain state in our own tables (a status and
a time); `sweeper.py` looks at those tables periodically and re-enqueues what got stuck, so a lost
task never loses work. Every task must therefore be idempotent.
"""
