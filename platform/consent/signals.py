"""Signals consent sends so higher apps can act in the same transaction without consent
importing them."""

from django.dispatch import Signal

# Sent inside identity_biometrics_delete's transaction, after the identity's active consents
# were withdrawn, with `identity` and `actor`. A receiver that raises rolls the deletion back.
identity_biometrics_deleted = Signal()

# Sent inside consent_revoke's transaction (and identity_biometrics_delete's, for each active
# consent), with `grant` (the revoked version) and `actor`. Each receiver returns a pair
# (jobs cancelled, outputs marked revoked) for the revocation's audit event and receipt.
grant_revoked = Signal()
