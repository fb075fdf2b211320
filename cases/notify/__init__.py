"""Notifications leave by e-mail here (a background job per message, cases/jobs/tasks.py); what they say is
decided where the event happens (cases/services/), through cases/services/notify.py."""
