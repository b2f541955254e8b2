"""`python -m benchmarks`: the outbox against a plain smtplib loop (see benchmarks/outbox.py),
Slack's ack latency, and a bulk action's pushes."""

import sys

from .bulk_push import run as bulk_push
from .outbox import main
from .slack_ack import run as slack_ack

status = main(sys.argv[1:])
status = slack_ack() or status
sys.exit(bulk_push() or status)
