"""/payments/zarinpal/callback/ -- to be written."""

from django.http import HttpResponseNotFound


def callback(request):
    return HttpResponseNotFound()
