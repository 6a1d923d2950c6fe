"""Reports: /stats with its chart, /export, and the periods admins name.

Owns: stats.py (Statistics), charts.py (PNG charts, drawn off the event loop), export.py
(Exports: XLSX/CSV written by a stored job), periods.py (today, week, 2026-03, ranges),
records.py (RecordImages: the service record's PNG, drawn by a stored job), activities.py
(loop 2's figures and export), supervision.py (loop 3's: /sstats, /export problems, the weekly
report). May import: the kernel, bot.areas, bot.people, bot.requests, bot.volunteers,
bot.activities, bot.supervision, bot.schedule.jobs, storage.
"""
