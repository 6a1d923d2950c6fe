"""Loop 2, volunteer activities (issue 15): the month's theme, publishing, sign-up and the
waitlist, reminders, the organisers' controls, recruitment calls, and the pure core of on-site
check-in.

Owns: themes_file.py (the themes file's format and its checks: below the kernel, since the
config reads the file through it, so it imports the standard library and bot.lengths only),
themes.py (MonthThemes: /theme, the admins' dialog that sets a month's theme, and theme_of),
render.py (how an activity looks: the recruitment card, a list line, the details),
board.py (Board: where an activity's cards go, posting them and drawing them again),
publishing.py (Publishing: /publish, the organiser's dialog; close, reopen, cancel, the
roster; /bind team), signup.py (Signups: sign up, the waitlist, cancelling, /activities, the
reminders), calls.py (Calls: /call, an admin's recruitment call, I'm in, the live roster,
close and cancel, the deadline), checkin.py (pure: the rotating signed codes of an
activity's check-in QR and the QR image, the place and time checks of a shared location, the
hours a presence earns), rankings.py (Rankings: /ranking of volunteers and teams by verified
hours, hiding one's name), honours.py (Honours: the admins' /honour dialog, announcing,
revoking, /honours), records.py (Records: the service record's content and verification
code, /record, which hands the drawing to a job, and /verify). May import: the kernel,
bot.areas, bot.people, bot.requests.loop (its dialog helpers and the people's languages) and
bot.requests.render (area names, masking), storage.
"""
