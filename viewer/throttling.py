"""Rate limits from VIEWER_THROTTLE_USER (per authenticated user) and VIEWER_THROTTLE_ANON (per
client IP, unauthenticated calls); unset means no limit. Counters live in Django's cache: set
VIEWER_CACHE_URL to a shared Redis so several workers share them."""

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from .auth import Principal


class UserThrottle(UserRateThrottle):
    def get_rate(self) -> str | None:
        return settings.VIEWER_THROTTLE_USER or None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.user, Principal):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.user_id}


class AnonThrottle(AnonRateThrottle):
    def get_rate(self) -> str | None:
        return settings.VIEWER_THROTTLE_ANON or None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.user, Principal):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
