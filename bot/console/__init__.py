"""The admin console that is not casework: grants, bans, bindings lists, broadcasts, and
/reload of the teams, areas, categories and monthly themes.

Owns: admin.py (AdminConsole), reload.py (ConfigReloader). May import: the kernel, bot.areas,
bot.people, bot.requests, storage.
"""
