"""Bad input changes nothing (issue 6): a corpus of hostile input against every portal form and every
API operation.

Every POST view of cases/web/urls.py and every operation of the OpenAPI schema is parametrized from
the code itself: a new view or operation without an entry in portal_forms.py or api_operations.py
fails, naming itself. Each payload of payloads.py goes, as the role allowed to use the form, into every
field of its kind at once. An invalid payload must get a 4xx with a message and leave every row of the
application exactly as it was. Valid text (SQL, HTML, script…) may be stored: then exactly as sent, and
the case page, the API and the case summary PDF show it as inert text (test_inert_text.py).

world.py      the rows every payload meets (the `world` fixture) and the personas
records.py    valid records both tables start from
payloads.py   the corpus: payloads by field kind, files, bad versions, ids and whole requests
harness.py    snapshot, send in a rolled-back savepoint, judge, compare: one set of steps for both surfaces
schema.py     the API's operations and field kinds, read from the OpenAPI schema
portal_forms.py, api_operations.py   the two tables: one entry per form, one per operation
"""
