"""The API's pagination: ?limit=&offset= with a ceiling, so no request reads a whole table."""

from django.conf import settings
from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    """LimitOffsetPagination whose ?limit= is capped at API_MAX_PAGE_SIZE (a larger one gets
    that many rows and the `next` link)."""

    @property
    def max_limit(self) -> int:
        return settings.API_MAX_PAGE_SIZE
