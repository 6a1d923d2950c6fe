"""Who people are: roles (centre and area admins, from config and grants) and the command menu
each role sees.

Owns: roles.py (Role, Roles), menus.py (Menu, CommandMenus). May import: the kernel (bot.config,
bot.context, bot.i18n, bot.ui, bot.buttons), bot.areas and storage.
"""
