"""Talking to Telegram: the outbox sender (pacing, retries, combined storm cards), the Bot API
transport over aiohttp, and the poller that keeps an inbox.

Owns: sender.py (Sender, Pacer), transport.py (AiohttpRequest), polling.py (Poller). May
import: the kernel, bot.requests.render (a combined card is drawn at send time), storage.
"""
