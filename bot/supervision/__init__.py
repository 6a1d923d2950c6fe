"""Loop 3, supervision (督导, issue 16): inspection groups patrol registered points, report
problems with a before photo, the responsible unit rectifies with an after photo, and the
inspector re-checks. So far: the registers of inspection points and responsible units, who
does what, the inspectors' visits, dispatch to the unit and the re-check (its figures are
bot/reports/supervision.py's), the clock and the bridge from a citizen's request.

Owns: registers.py (the points and units CSV files, their format and checks: below the
kernel, since the config reads them through it, so it imports the standard library and
bot.areas only); roster.py (inspectors, patrols, units' chats and people); reporting.py
(/inspect); dispatch.py (the unit's card and answers, the admins' reassigning and extensions,
the re-check, /problem); clock.py (reminders, overdue notices, escalation, the inspectors'
daily patrol reminder); bridge.py (/toproblem, and the citizen's rating at the end). May
import: the kernel, bot.areas, bot.people, bot.requests.loop (its
dialog helpers) and bot.requests.render (the phone mask), storage.
"""
