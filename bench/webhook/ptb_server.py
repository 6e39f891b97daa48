"""python-telegram-bot's own webhook server answering /start, for comparison."""

import sys

from telegram.ext import Application, CommandHandler


async def start(update, context):
    await update.effective_message.reply_text("hello")


def main():
    api_url, token, port, secret = sys.argv[1:5]
    app = (Application.builder().token(token).base_url(f"{api_url}/bot").base_file_url(f"{api_url}/file/bot")
           .connection_pool_size(64).concurrent_updates(64).build())
    app.add_handler(CommandHandler("start", start))
    app.run_webhook(listen="127.0.0.1", port=int(port), url_path="telegram/webhook/", secret_token=secret,
                    webhook_url=f"http://127.0.0.1:{port}/telegram/webhook/", drop_pending_updates=True)


if __name__ == "__main__":
    main()
