"""The local chat page: the shop's bot tried without Telegram (a stand-in for the Bot API and
a page that plays Telegram's side), and the demo data that makes a new shop look lived in."""
