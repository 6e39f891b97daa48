"""The shop: customers, the wallet ledger, plans, orders, subscriptions, receipt top-ups,
referrals and refunds; the seams the feature apps plug into (pricing, events, messaging)."""
