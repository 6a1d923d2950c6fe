"""The clock: one sweep over due timers (reminders, escalation, auto-close, drafts), the daily
digest and monthly summary (and, through a hook, supervision's weekly report), and stored
background jobs. What each of its messages does in quiet hours is bot/night.py's table.

Owns: sweep.py (Schedule, reports_due), jobs.py (Jobs: charts and exports off the update
path). May import: the kernel, bot.areas, bot.people, bot.requests, storage.
"""
