"""Teaching sets: copies of cases that identify no one (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)).

    scrubber.py  finds what identifies the patient in free text (for the preview, and as the
                 approval's safety net); pure Python, no Django
    images.py    re-encodes key images to pixels only (no EXIF, XMP, comments or text chunks)
    export.py    what a teaching copy shows: structured fields, day offsets, approved text only

The rules (who prepares, who approves, what is frozen) are in cases/services/teaching.py.
"""
