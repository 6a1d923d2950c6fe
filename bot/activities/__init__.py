"""Loop 2, volunteer activities. So far: the month's theme (一月一主题); publishing, sign-up,
check-in and verified hours come next (issue 15).

Owns: themes_file.py (the themes file's format and its checks: below the kernel, since the
config reads the file through it, so it imports the standard library and bot.lengths only),
themes.py (MonthThemes: /theme, the admins' dialog that sets a month's theme, and theme_of,
which later parts call for the month's default theme). May import: the kernel, bot.areas,
bot.people, bot.requests.loop (its dialog helpers), storage.
"""
