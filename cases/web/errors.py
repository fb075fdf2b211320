"""The portal's handler400: a page that says why nothing was saved (a BadRequest a view raised, a body
too large…), or JSON under /api/ (cases.refusals.refusal_response)."""

from ..refusals import refusal_for, refusal_response


def bad_request(request, exception):
    return refusal_response(request, *refusal_for(exception))
