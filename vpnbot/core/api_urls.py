"""/api/v1/: each app contributes its routes in `<app>/urls.py` (`api_urlpatterns`, and
`api_roots` = {name: url_name} for the API's front page)."""

from django.urls import path
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response
from rest_framework.reverse import reverse

from .autodiscover import autodiscover
from .permissions import Staff
from .throttling import AnonymousFirst

urlpatterns = []
_roots = {}
for _module in autodiscover("urls"):
    urlpatterns += getattr(_module, "api_urlpatterns", [])
    _roots.update(getattr(_module, "api_roots", {}))


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
@permission_classes([AnonymousFirst, Staff])
def api_root(request, format=None):
    """The API's entry points."""
    return Response({name: reverse(url_name, request=request, format=format) for name, url_name in _roots.items()})


urlpatterns.insert(0, path("", api_root, name="api-root"))
