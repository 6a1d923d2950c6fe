"""Talking to Telegram: the outbox sender (pacing, retries, combined storm cards), the Bot API
transport over aiohttp, and the inbox with the poller that fills it.

Owns: sender.py (Sender, Pacer), transport.py (AiohttpRequest), inbox.py (Inbox, Receiver),
polling.py (Poller). May import: the kernel, bot.requests.render (a combined card is drawn at
send time), storage.
"""
