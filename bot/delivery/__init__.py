"""Talking to Telegram: the outbox sender (pacing, retries, combined storm cards), the Bot API
transport over aiohttp, and the inbox with the two ways updates reach it (polling, webhook).

Owns: sender.py (Sender, Pacer), transport.py (AiohttpRequest), inbox.py (Inbox, Receiver),
polling.py (Poller), webhook.py (WebhookReceiver). May import: the kernel,
bot.requests.render (a combined card is drawn at send time), storage.
"""
