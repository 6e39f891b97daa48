"""Anti-fraud: risk rules scoring receipts, online payments, referral rewards, trials and
refunds; holds, cases for the operators, bans and a whitelist. Plugs into the shop's risk seam
(vpnbot.shop.risk) and the transport's gate. Off with ENABLE_ANTIFRAUD=false; see docs/antifraud.md."""
