"""civicloop: the bot's services, config, delivery and composition root."""

import os

# PTB 22 reports RetryAfter.retry_after as a timedelta only with this set, and warns otherwise;
# our code reads both shapes. Set before telegram.error is first used.
os.environ.setdefault("PTB_TIMEDELTA", "true")
