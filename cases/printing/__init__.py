"""PDF board summaries and meeting packets: context from selectors, rendered with WeasyPrint."""
