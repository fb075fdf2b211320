"""The portal's HTML views, one module per area; each view parses input, calls one service or selector, renders."""
