"""Every kind's specification, in the order the admin pages list them."""

from __future__ import annotations

from ...models import ConfigurationKind as Kind
from . import accounts, device, network
from .fields import KindSpec

SPECS: dict[Kind, KindSpec] = {
    spec.kind: spec for group in (network, accounts, device) for spec in group.SPECS
}
