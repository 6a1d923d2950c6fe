"""Operating the bot: the operator's HTTP endpoint with /healthz and /metrics.

Owns: bot/ops/http.py (the aiohttp server, the health verdict, the Prometheus text).
May import: the kernel, storage, bot.delivery and bot.schedule (it reads their counters).
"""
