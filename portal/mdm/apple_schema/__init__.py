"""Apple's device-management schema, loaded from the YAML files Apple publishes.

The files (profiles, commands, check-in messages, declarations) are vendored unchanged in
`apple_schema_data/` beside this module; they are parsed once, on first use, and kept.

What a key allows is read the way Apple's documentation renders the schema: a payload's
`supportedOS` says on which systems it exists (`introduced: n/a` meaning never) and what User
Enrollment does with it (`userenrollment.mode`: allowed, forbidden, ignored, required); a
key's own `supportedOS` overrides those facts for that key and everything under it, and a key
without one inherits them. Declarations say the same with `allowed-enrollments`.

The public functions:
- `payload_schema`, `command_schema`, `checkin_schema`: the schema of one profile payload type
  (or declaration type), command request type, check-in message type;
- `key_mode`: what one key does on one system and enrollment type;
- `validate_profile`, `validate_command`, `validate_checkin`, `validate_declaration`: every
  finding for a whole message, empty when Apple's schema has nothing to say against it.
"""

from .catalog import (
    DATA_DIR,
    checkin_schema,
    command_schema,
    key_mode,
    payload_schema,
    payload_types,
)
from .catalog import (
    _schema as _schema,  # the parsed files, cached per process
)
from .checks import Finding
from .model import ENROLLMENTS, KeySchema, OSSupport, PayloadSchema, SchemaError, normalize_os
from .validation import (
    iter_findings_text,
    status_item_schema,
    status_item_supported,
    validate_checkin,
    validate_command,
    validate_declaration,
    validate_profile,
    validate_response,
    validate_status_subscriptions,
)

__all__ = [
    "DATA_DIR",
    "ENROLLMENTS",
    "Finding",
    "KeySchema",
    "OSSupport",
    "PayloadSchema",
    "SchemaError",
    "checkin_schema",
    "command_schema",
    "iter_findings_text",
    "key_mode",
    "normalize_os",
    "payload_schema",
    "payload_types",
    "validate_checkin",
    "validate_command",
    "validate_declaration",
    "validate_profile",
    "validate_response",
    "status_item_schema",
    "status_item_supported",
    "validate_status_subscriptions",
]
