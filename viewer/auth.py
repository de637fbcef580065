"""Authentication: ``Authorization: Bearer <JWT>`` (or a gateway's ``x-authenticated-user-token``).

Tokens are verified with PyJWT: HS256 against ``VIEWER_JWT_SECRET``, or RS256/ES256 against the
public keys in ``VIEWER_JWT_PUBLIC_KEYS`` (PEM text, or the path of a PEM or JWKS file); issuer,
audience, expiry and not-before are checked. The user id comes from ``VIEWER_JWT_USER_CLAIM``
(default ``sub``) and the roles from ``VIEWER_JWT_ROLES_CLAIM`` (default ``roles``).

In local settings without configured keys, a signing secret is created on first use in
``.local/jwt-secret`` (git-ignored); ``manage.py issue_token`` signs with it. ``VIEWER_AUTH=off``
(local and test settings only) makes every caller an admin.
"""

import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jwt
from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from . import timeutil

ROLE_SERVICE = "service"
ROLE_ADMIN = "admin"
ROLES = (ROLE_SERVICE, ROLE_ADMIN)
GATEWAY_HEADER = "x-authenticated-user-token"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user id and roles (``service`` acts for anyone, ``admin`` also writes
    the catalogue and configuration)."""

    user_id: str
    roles: frozenset[str] = field(default_factory=frozenset)

    is_authenticated = True
    is_anonymous = False

    @property
    def pk(self) -> str:  # for DRF's per-user throttling
        return self.user_id

    @property
    def is_admin(self) -> bool:
        return ROLE_ADMIN in self.roles

    def may_act_for(self, user_id: str) -> bool:
        return user_id == self.user_id or bool(self.roles & {ROLE_SERVICE, ROLE_ADMIN})


AUTH_OFF_PRINCIPAL = Principal(user_id="anonymous-admin", roles=frozenset(ROLES))


def local_secret_path() -> Path:
    return Path(settings.VIEWER_JWT_LOCAL_KEY_FILE)


def local_secret(*, create: bool) -> str | None:
    """The local signing secret (created when asked and absent), or None."""
    path = local_secret_path()
    if path.exists():
        return path.read_text().strip()
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secrets.token_urlsafe(48))
    path.chmod(0o600)
    return path.read_text().strip()


def signing_secret() -> str | None:
    """The HS256 secret: VIEWER_JWT_SECRET, else (where allowed) the local one."""
    if settings.VIEWER_JWT_SECRET:
        return str(settings.VIEWER_JWT_SECRET)
    if settings.VIEWER_JWT_LOCAL_KEY_FILE:
        return local_secret(create=True)
    return None


@cache
def _public_keys(source: str) -> tuple[dict[str, Any], list[Any]]:
    """(kid -> key, keys without kid) from PEM text or a PEM/JWKS file."""
    text = source
    if not source.lstrip().startswith(("-----BEGIN", "{")):
        text = Path(source).read_text()
    if text.lstrip().startswith("{"):
        keyset = jwt.PyJWKSet.from_json(text)
        by_kid = {k.key_id: k.key for k in keyset.keys if k.key_id}
        return by_kid, [k.key for k in keyset.keys if not k.key_id]
    return {}, [text]


def _verification_key(token: str) -> tuple[Any, list[str]]:
    header = jwt.get_unverified_header(token)
    if settings.VIEWER_JWT_PUBLIC_KEYS:
        by_kid, plain = _public_keys(settings.VIEWER_JWT_PUBLIC_KEYS)
        kid = header.get("kid")
        if kid in by_kid:
            return by_kid[kid], ["RS256", "ES256"]
        if len(plain) == 1 and not by_kid:
            return plain[0], ["RS256", "ES256"]
        raise jwt.InvalidKeyError("no public key for this token")
    secret = signing_secret()
    if secret is None:
        raise jwt.InvalidKeyError("no verification key is configured")
    return secret, ["HS256"]


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    valid_from: float  # epoch seconds, leeway included
    valid_until: float


# Tokens verified lately, by (token, verification settings): a client sends the same token with
# every request, and checking its signature again is a good share of a request's cost. A hit is
# still checked against the clock (exp, nbf, iat with the leeway); failures are never kept.
_verified: dict[tuple[Any, ...], _Verified] = {}
VERIFIED_TOKENS_KEPT = 4096


def _verification_settings() -> tuple[Any, ...]:
    return (
        settings.VIEWER_JWT_SECRET,
        settings.VIEWER_JWT_PUBLIC_KEYS,
        settings.VIEWER_JWT_LOCAL_KEY_FILE,
        settings.VIEWER_JWT_AUDIENCE,
        settings.VIEWER_JWT_ISSUER,
        settings.VIEWER_JWT_USER_CLAIM,
        settings.VIEWER_JWT_ROLES_CLAIM,
        settings.VIEWER_JWT_LEEWAY_SECONDS,
    )


def verify(token: str) -> Principal:
    """Raises: jwt.PyJWTError for a malformed, expired, not-yet-valid or wrongly signed token."""
    cache_key = (token, _verification_settings())
    now = time.time()
    hit = _verified.get(cache_key)
    if hit is not None and hit.valid_from <= now < hit.valid_until:
        return hit.principal
    principal, claims = _decode(token)
    leeway = settings.VIEWER_JWT_LEEWAY_SECONDS
    # As PyJWT read them: integers (it refused the token otherwise).
    starts = [int(claims[c]) for c in ("nbf", "iat") if c in claims]
    if len(_verified) >= VERIFIED_TOKENS_KEPT:
        _verified.clear()
    _verified[cache_key] = _Verified(
        principal=principal,
        valid_from=max(starts, default=0) - leeway,
        valid_until=int(claims["exp"]) + leeway,
    )
    return principal


def _decode(token: str) -> tuple[Principal, dict[str, Any]]:
    key, algorithms = _verification_key(token)
    claims = jwt.decode(
        token,
        key,
        algorithms=algorithms,
        audience=settings.VIEWER_JWT_AUDIENCE or None,
        issuer=settings.VIEWER_JWT_ISSUER or None,
        options={"require": ["exp"], "verify_aud": bool(settings.VIEWER_JWT_AUDIENCE)},
        leeway=settings.VIEWER_JWT_LEEWAY_SECONDS,
    )
    user_id = claims.get(settings.VIEWER_JWT_USER_CLAIM)
    if not isinstance(user_id, str) or not user_id:
        raise jwt.InvalidTokenError(f"no {settings.VIEWER_JWT_USER_CLAIM} claim")
    roles = claims.get(settings.VIEWER_JWT_ROLES_CLAIM) or []
    if isinstance(roles, str):
        roles = roles.split()
    return Principal(user_id=user_id, roles=frozenset(r for r in roles if r in ROLES)), claims


def issue(*, user_id: str, role: str | None = None, ttl_seconds: int = 3600) -> str:
    """A signed HS256 token (VIEWER_JWT_SECRET or the local secret).

    Raises: RuntimeError when no signing secret is available here.
    """
    secret = signing_secret()
    if secret is None:
        raise RuntimeError(
            "No signing secret: set VIEWER_JWT_SECRET (HS256). With RS256/ES256 keys, tokens "
            "come from your identity provider."
        )
    now = timeutil.now()
    claims: dict[str, Any] = {
        settings.VIEWER_JWT_USER_CLAIM: user_id,
        settings.VIEWER_JWT_ROLES_CLAIM: [role] if role else [],
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=ttl_seconds),
    }
    if settings.VIEWER_JWT_ISSUER:
        claims["iss"] = settings.VIEWER_JWT_ISSUER
    if settings.VIEWER_JWT_AUDIENCE:
        claims["aud"] = settings.VIEWER_JWT_AUDIENCE
    return jwt.encode(claims, secret, algorithm="HS256")


class JWTAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Principal, str] | None:
        if not settings.VIEWER_AUTH:
            return AUTH_OFF_PRINCIPAL, ""
        token = self._token(request)
        if token is None:
            return None
        try:
            return verify(token), token
        except (jwt.PyJWTError, ValueError, OSError, json.JSONDecodeError) as exc:
            # The reason is safe to show (it never echoes the token).
            raise AuthenticationFailed(f"Invalid token: {exc}.") from exc

    @staticmethod
    def _token(request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationFailed("The Authorization header must be 'Bearer <token>'.")
            return token.strip()
        if settings.VIEWER_JWT_TRUST_GATEWAY_HEADER:
            gateway = request.headers.get(GATEWAY_HEADER, "").strip()
            return gateway or None
        return None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="viewer"'
