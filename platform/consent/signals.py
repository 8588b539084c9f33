"""Signals consent sends so higher apps can act in the same transaction without consent
importing them."""

from django.dispatch import Signal

# Sent inside identity_biometrics_delete's transaction, after the identity's active consents
# were withdrawn, with `identity` and `actor`. A receiver that raises rolls the deletion back.
identity_biometrics_deleted = Signal()
