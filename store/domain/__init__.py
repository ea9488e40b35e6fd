"""Pure rules of the product: no I/O, no clock and no randomness of their own."""
