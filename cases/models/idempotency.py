from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """One create, once per key: a double click, a Back-and-resubmit or a client's retry finds the first
    result here instead of making a second object.

    The portal's create forms carry a one-time token; API clients send an `Idempotency-Key` header.
    The row is written in the same transaction as the object it made, so a refused create leaves no key.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    # What the key was used for (the portal form, or the API's method and path) and a digest of what was sent.
    scope = models.CharField(max_length=300)
    fingerprint = models.CharField(max_length=64)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    # The API's first answer ({"status", "data", "etag"}), returned again for a repeat.
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.scope} ({self.key})"
