"""`python -m benchmarks`: the outbox against a plain smtplib loop (see benchmarks/outbox.py),
Slack's acknowledgements, and how fast expanding plists are refused."""

import sys

from .outbox import main
from .plist_bounds import run as plist_bounds
from .slack_ack import run as slack_ack

status = main(sys.argv[1:])
sys.exit(slack_ack() or plist_bounds() or status)
