"""Volunteers: registration with approval, teams, hours and the volunteers' export.

Owns: registration.py (Volunteers, volunteers_document). May import: the kernel, bot.areas,
bot.people, bot.requests.loop (its dialog helpers), storage.
"""
