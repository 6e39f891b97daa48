"""Resellers: agents who buy accounts at their own prices for their own customers."""
