"""Production: secrets and hosts must come from the environment; secure defaults."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# One JSON object per log line (VIEWER_LOG_FORMAT=text for a readable one).
# (A value set in the environment was already checked by base.)
VIEWER_LOG_FORMAT = env.str("VIEWER_LOG_FORMAT", default="json")
LOGGING["handlers"]["console"]["formatter"] = VIEWER_LOG_FORMAT  # noqa: F405

# No silent open mode: production needs authentication and real keys.
if not VIEWER_AUTH:  # noqa: F405
    raise ImproperlyConfigured("VIEWER_AUTH=off is accepted only by the local and test settings.")
if not (VIEWER_JWT_SECRET or VIEWER_JWT_PUBLIC_KEYS):  # noqa: F405
    raise ImproperlyConfigured(
        "Set VIEWER_JWT_PUBLIC_KEYS (RS256/ES256: PEM or a JWKS file) or VIEWER_JWT_SECRET (HS256)."
    )
if VIEWER_JWT_SECRET and len(VIEWER_JWT_SECRET) < 32:  # noqa: F405
    raise ImproperlyConfigured("VIEWER_JWT_SECRET must be at least 32 characters.")
