"""Authorization: every non-public endpoint needs an authenticated caller; a view may require a
role per HTTP method (``required_roles = {"PUT": "admin"}``). Acting on another user's data is
checked where the user id is read (``EnvelopeApi``)."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .auth import Principal


class ViewerAccess(BasePermission):
    message = "You are not allowed to perform this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, Principal):
            return False  # DRF answers 401 when no authenticator succeeded
        required = getattr(view, "required_roles", {}).get(request.method or "")
        if required and required not in principal.roles:
            self.message = f"This action needs the {required} role."
            return False
        return True
