"""/payments/nowpayments/ipn/ -- to be written."""

from django.http import HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def ipn(request):
    return HttpResponseNotFound()
