"""python-telegram-bot's own webhook server (`Application.run_webhook`), for comparison.

    ptb_server.py API_URL TOKEN PORT SECRET hello     # answers /start with a fixed reply
    ptb_server.py API_URL TOKEN PORT SECRET product   # runs the product's own handlers

"product" is what the shop would be on PTB's server instead of the inbox + worker: the same
handlers, services and database (DATABASE_URL etc. from the environment), each update
processed in the server's process from its in-memory queue, the ORM work on asgiref's
thread as usual for Django under an event loop.
"""

import os
import sys

from telegram.ext import Application, CommandHandler


async def hello(update, context):
    await update.effective_message.reply_text("hello")


def main():
    api_url, token, port, secret, mode = sys.argv[1:6]
    builder = (Application.builder().token(token).base_url(f"{api_url}/bot").base_file_url(f"{api_url}/file/bot")
               .connection_pool_size(64).concurrent_updates(64))
    if mode == "product":
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vpnbot.settings")
        import django

        django.setup()
        from vpnbot.transport.application import register_handlers

        app = builder.build()
        register_handlers(app)
    else:
        app = builder.build()
        app.add_handler(CommandHandler("start", hello))
    app.run_webhook(listen="127.0.0.1", port=int(port), url_path="telegram/webhook/", secret_token=secret,
                    webhook_url=f"http://127.0.0.1:{port}/telegram/webhook/", drop_pending_updates=True)


if __name__ == "__main__":
    main()
