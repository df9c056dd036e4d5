"""Merchants, products and connections: the objects an operator or a checkout creates."""
