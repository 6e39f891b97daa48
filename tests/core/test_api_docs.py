"""The API documentation works on a server without internet access."""

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_swagger_ui_is_served_from_this_server_not_a_cdn(admin_client):
    page = admin_client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, page[:500]
    assert not [a for a in assets if a.startswith(("http://", "https://", "//"))], assets
    for asset in assets:
        if asset.startswith("/static/"):
            assert finders.find(asset.removeprefix("/static/")), f"{asset} is not among the static files"
    assert any("swagger-ui-bundle.js" in a for a in assets)
