"""The webhook inbox (``cdhelper serve``): authenticated, deduplicated, coalesced, durable.

Registries POST their webhooks here; accepted events are committed to a SQLite store,
coalesced into batches, planned per environment with the same planner as ``cdhelper plan``,
and each non-empty plan is handed to the environment's dispatcher (see ``dispatchers/``).
"""
