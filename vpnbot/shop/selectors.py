from .models import Customer, Payment


def customer_fresh(customer_id: int) -> Customer:
    return Customer.objects.get(pk=customer_id)


def payment_get(payment_id: int) -> Payment | None:
    return Payment.objects.select_related("customer").filter(pk=payment_id).first()
