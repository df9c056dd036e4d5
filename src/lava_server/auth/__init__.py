"""Authentication: who is calling (merchant secret keys, forward tokens), with cached lookups."""
