"""The admin console that is not casework: grants, bans, bindings lists and broadcasts.

Owns: admin.py (AdminConsole). May import: the kernel, bot.areas, bot.people, bot.requests,
storage.
"""
