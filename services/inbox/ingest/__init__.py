"""Inbound contacts: email, telephony and fax webhooks, and the pure parsing behind them."""
