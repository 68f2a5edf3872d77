"""Reactions to events that issue commands: deliver the outbox, acknowledge new
requests, and (next) SLA timers, escalation and surveys.

A package of its own rather than part of the domain: a policy reads read models
and runs on a schedule, which the domain must not know about; like the
channels, it only ever changes anything by handing a command to the
application.  Each policy runs in exactly one process at a time (the
composition root holds a lock for it), and each is safe to run again after a
crash: its commands are idempotent (fixed reply ids) or recorded outcomes.
"""
