"""Loop 1, citizen requests: 点单 intake, 派单 dispatch, 接单 claim, 评单 rating, and casework.

Owns: intake.py (the request form and the private-chat conversation), loop.py (the lifecycle:
submit, dispatch up the area tree, claim, release, done, confirm, reopen, cancel), casework.py
(an admin's /find, /assign, /cancel, /reopen, /move), render.py (how a request looks: cards,
the claimer's details, summaries; phones never on a group card), suggest.py (the likely
categories of a description, from the categories' keywords and jieba's words), relay.py (the
masked chat between a request's citizen and its claimer). The duplicate check and the steps
for a neighbour are parts of intake.py; the news to neighbours who joined a request, of
loop.py. May import:
the kernel, bot.areas, bot.people, bot.volunteers (a private message may belong to a
registration), bot.activities (or to a centre admin's dialog setting a month's theme),
storage.
"""
