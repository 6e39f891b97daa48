"""python-telegram-bot's network layer, routed through the product's sender.

With this adapter the PTB `Bot` (getMe at start, any `context.bot` call) obeys the same
limits as everything else and is bound to no event loop: each call runs the sync sender
on the calling thread, so one Application serves every `async_to_sync` call of a worker.
"""

from asgiref.sync import sync_to_async
from telegram.request import BaseRequest, RequestData

from .sender import get_sender


class SenderRequest(BaseRequest):
    def __init__(self, read_timeout: float = 30.0):
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float:
        return self._read_timeout

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url, method, request_data: RequestData | None = None,
                         read_timeout=None, write_timeout=None, connect_timeout=None, pool_timeout=None):
        api_method = url.rsplit("/", 1)[-1]
        data = request_data.json_parameters if request_data else {}
        files = request_data.multipart_data if request_data and request_data.contains_files else None
        timeout = read_timeout if isinstance(read_timeout, int | float) else None
        return await sync_to_async(get_sender().raw)(api_method, data=data, files=files, timeout=timeout)
