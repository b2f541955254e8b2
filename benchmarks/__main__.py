"""`python -m benchmarks`: the outbox against a plain smtplib loop (see benchmarks/outbox.py),
Slack's ack latency, a bulk action's pushes, and how fast expanding plists are refused."""

import sys

from .bulk_push import run as bulk_push
from .outbox import main
from .plist_bounds import run as plist_bounds
from .slack_ack import run as slack_ack

status = main(sys.argv[1:])
status = slack_ack() or status
status = plist_bounds() or status
sys.exit(bulk_push() or status)
