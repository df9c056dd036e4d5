"""Checkout: sessions created by merchants, and (later) the hosted page that completes them."""
