"""`python -m benchmarks`: the outbox against a plain smtplib loop (see benchmarks/outbox.py)."""

import sys

from .outbox import main
from .slack_ack import run as slack_ack

status = main(sys.argv[1:])
sys.exit(slack_ack() or status)
