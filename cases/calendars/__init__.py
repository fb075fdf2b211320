"""Meetings as iCalendar (RFC 5545): a download per meeting, a feed per user (cases/calendars/ics.py)."""
