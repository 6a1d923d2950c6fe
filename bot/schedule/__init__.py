"""The clock: one sweep over due timers (reminders, escalation, auto-close, drafts), quiet
hours, the daily digest and monthly summary (and, through a hook, supervision's weekly report),
and stored background jobs.

Owns: sweep.py (Schedule, quiet_until, reports_due), jobs.py (Jobs: charts and exports off the
update path). May import: the kernel, bot.areas, bot.people, bot.requests, storage.
"""
