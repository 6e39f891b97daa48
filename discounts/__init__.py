"""Smart discounts: time-, quantity-, loyalty-, season- and birthday-based discounts, promo codes,
cashback and discount profiles, plugged into the shop through its price and event seams."""
