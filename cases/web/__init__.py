"""The portal: thin HTML views over the services and selectors."""
