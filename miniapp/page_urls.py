"""/app/: the Mini App's pages (one page; app.js routes by the URL's #fragment)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.app, name="miniapp-app"),
]
