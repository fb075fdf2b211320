"""Hospital identity: single sign-on (OpenID Connect), the second factor (TOTP) and break-the-glass access.

oidc.py speaks to the provider; services.py holds the rules (linking, memberships from groups, second
factor, emergency access), each write audited; views.py and urls.py are the portal pages;
middleware.py sends a user who owes a second factor to it before anything else.
"""
