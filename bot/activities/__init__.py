"""Loop 2, volunteer activities. So far: the month's theme (一月一主题) and the pure core of
on-site check-in; publishing, sign-up, the check-in flow and verified hours come next (issue 15).

Owns: themes_file.py (the themes file's format and its checks: below the kernel, since the
config reads the file through it, so it imports the standard library and bot.lengths only),
themes.py (MonthThemes: /theme, the admins' dialog that sets a month's theme, and theme_of,
which later parts call for the month's default theme), checkin.py (pure: the rotating signed
codes of an activity's check-in QR and the QR image, the place and time checks of a shared
location, the hours a presence earns). May import: the kernel, bot.areas,
bot.people, bot.requests.loop (its dialog helpers), storage.
"""
