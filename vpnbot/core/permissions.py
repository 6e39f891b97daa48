"""Who may do what in the staff API: Django's model permissions for reading and editing
records, and named permissions for what moves money or sends messages (approve a top-up,
refund, start a broadcast or a campaign, make or restore a backup). The admin's actions ask
for the same permissions (`has_<name>_permission` on each ModelAdmin)."""

from __future__ import annotations

from rest_framework.permissions import BasePermission, DjangoModelPermissions

from .throttling import AnonymousFirst

VIEW = "%(app_label)s.view_%(model_name)s"


def _staff(user) -> bool:
    return bool(user and user.is_authenticated and user.is_staff and user.is_active)


class ModelPermissions(DjangoModelPermissions):
    """Staff holding the model's permission: view to read, add/change/delete to write."""

    perms_map = {
        "GET": [VIEW], "HEAD": [VIEW], "OPTIONS": [],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"], "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request, view):
        return _staff(request.user) and super().has_permission(request, view)


class Staff(BasePermission):
    """Any active staff user (the API's front page)."""

    def has_permission(self, request, view):
        return _staff(request.user)


def require(*perms: str) -> type[BasePermission]:
    """A permission class: active staff holding every one of perms ("app_label.codename")."""

    class Required(BasePermission):
        required = perms

        def has_permission(self, request, view):
            return _staff(request.user) and request.user.has_perms(perms)

    Required.__name__ = Required.__qualname__ = "Require_" + "_".join(p.replace(".", "_") for p in perms)
    return Required


def staff_with(*perms: str) -> list[type[BasePermission]]:
    """permission_classes for a view or an action that needs these permissions."""
    return [AnonymousFirst, require(*perms)]
