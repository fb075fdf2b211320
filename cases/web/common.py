"""What the portal views share: showing a service's refusal where the user looks, and safe redirects."""

import re
import secrets

from django.contrib import messages
from django.core.exceptions import BadRequest, ValidationError
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from ..services.errors import GatesUnmet, ServiceError
from ..services.idempotency import created_object, earlier_result, idempotent_create, note_object

# A refused gate that belongs to one field of the form rather than to the whole form.
GATE_FIELDS = {"reason_required": "note"}


def refusal_messages(error: Exception) -> list[str]:
    """One sentence per reason, e.g. the headline of a refused move and each unmet gate."""
    if isinstance(error, GatesUnmet):
        return [error.headline, *(gate.message for gate in error.unmet)]
    if isinstance(error, ServiceError):
        return [error.message]
    if hasattr(error, "error_dict"):
        return [text for texts in error.message_dict.values() for text in texts]
    return list(error.messages)


def submit(form, call) -> tuple[bool, object]:
    """Call one service for a valid form: (True, result), or (False, None) with the refusal on the form.

    Field errors go beside their fields, everything else above the form. The services are atomic,
    so a refused form has changed nothing.
    """
    try:
        return True, call()
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, error)
    except GatesUnmet as error:
        form.add_error(None, error.headline)
        for gate in error.unmet:
            field = GATE_FIELDS.get(gate.code)
            form.add_error(field if field in form.fields else None, gate.message)
    except ServiceError as error:
        form.add_error(None, error.message)
    return False, None


# The one-time token every create form carries (templatetag `once_field`).
_ONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
REPEATED = (
    "This form had already been sent (a double click, or Back and send again): nothing new was made. "
    "This is what the first one made."
)


def once_token(request) -> str:
    """The form's token: the one it was posted with (a refused form keeps it), else a new one."""
    posted = request.POST.get("once", "") if request.method == "POST" else ""
    return posted if _ONCE.fullmatch(posted) else secrets.token_urlsafe(24)


def already_made(request, scope: str):
    """What an earlier submit of this form made, if it was sent before (for forms whose checks would refuse a
    second submit before submit_once could point to the first one's result, e.g. a merge already done)."""
    token = request.POST.get("once", "")
    if request.method != "POST" or not _ONCE.fullmatch(token):
        return None
    obj = earlier_result(user=request.user, key="form:" + token, scope="portal:" + scope)
    if obj is not None:
        messages.info(request, REPEATED)
    return obj


def submit_once(request, form, call, *, scope: str, done, record=note_object) -> tuple[bool, object]:
    """submit() for a create form: its one-time token makes a second submit answer with the first one's object.

    (True, object) either way, with `done` (a sentence, or a function of the result) or REPEATED as the
    message. `record(row, result)` notes the object a repeat goes to. A form without a token (an old page,
    a script) creates as before.
    """
    token = request.POST.get("once", "")
    if not token:
        ok, result = submit(form, call)
    else:
        if not _ONCE.fullmatch(token):
            raise BadRequest("The form carried a broken one-time token. Reload the page and try again.")
        ok, outcome = submit(
            form,
            lambda: idempotent_create(
                user=request.user,
                key="form:" + token,
                scope="portal:" + scope,
                fingerprint="",
                create=call,
                record=record,
            ),
        )
        if not ok:
            return False, None
        first, result = outcome
        if not first:
            result = created_object(result)
            if result is None:
                form.add_error(None, "This form was already sent, and what it made is gone. Reload the page.")
                return False, None
            messages.info(request, REPEATED)
            return True, result
    if ok:
        messages.success(request, done(result) if callable(done) else done)
    return ok, result


def act(request, call, done: str) -> bool:
    """Call one service for a button (publish, sign, mark done); report the outcome as messages."""
    try:
        call()
    except (ValidationError, ServiceError) as error:
        for text in refusal_messages(error):
            messages.error(request, text)
        return False
    messages.success(request, done)
    return True


def form_view(
    request,
    form,
    call,
    *,
    done,
    success,
    once: str | None = None,
    record=note_object,
    back_to_next: bool = False,
    page=None,
    **page_kwargs,
):
    """The one shape of a form view: a valid POST calls one service, says `done` and redirects to `success`;
    anything else (a GET, a refused form) shows the form again.

    `done` and `success` (a URL or URL name) may be functions of what the service returned. `once` is a create
    form's scope for submit_once (with `record`); `back_to_next` goes back to the page the form was posted from
    when it names one. The form shows on `form_page(**page_kwargs)`, or on `page()` when it lives on another
    page (the meeting page) or its page reads the refusal.
    """
    if request.method == "POST" and form.is_valid():
        if once:
            ok, result = submit_once(request, form, call, scope=once, done=done, record=record)
        else:
            ok, result = submit(form, call)
            if ok:
                messages.success(request, done(result) if callable(done) else done)
        if ok:
            url = success(result) if callable(success) else success
            return redirect_next(request, url) if back_to_next else redirect(url)
    return page() if page is not None else form_page(request, form, **page_kwargs)


def confirmed_post(request) -> bool:
    """A POST from a confirmation page (its form then checks `confirmed`, refusing a value other than "yes");
    any other request, a POST from an old button included, only shows the confirmation step."""
    return request.method == "POST" and "confirmed" in request.POST


def redirect_next(request, default):
    """Back to where the form was posted from when that is one of our pages, else to `default`."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(default)


def refused_status(*forms) -> int:
    """A page that shows a refused form again answers 400: the request changed nothing."""
    return 400 if any(form is not None and form.is_bound and form.errors for form in forms) else 200


def form_page(
    request,
    form,
    *,
    title: str,
    submit_label: str,
    cancel,
    case=None,
    intro: str = "",
    template: str = "cases/form_page.html",
    **extra,
):
    """The page of one form: a title, the case it concerns, the form, its button and a way back."""
    context = {
        "form": form,
        "title": title,
        "submit_label": submit_label,
        "cancel": resolve_url(cancel),
        "case": case,
        "intro": intro,
        "next": request.POST.get("next") or request.GET.get("next", ""),
        **extra,
    }
    return render(request, template, context, status=refused_status(form))


def case_url(case, anchor: str = "") -> str:
    return reverse("case-detail", args=[case.pk]) + (f"#{anchor}" if anchor else "")


# Versions and ids as the portal's own forms write them: ASCII digits, in range.
_VERSION = re.compile(r"[0-9]{1,9}")
_IDS = re.compile(r"[0-9]{1,18}(,[0-9]{1,18})*")


def posted_version(request) -> int | None:
    """The version a button's form carried, if any (a refused stale edit names it).

    Anything else is refused (400) rather than ignored: ignoring it would act without the check.
    """
    value = request.POST.get("version", "")
    if value == "":
        return None
    if not _VERSION.fullmatch(value):
        raise BadRequest("The form carried a version that is not a number. Reload the page and try again.")
    return int(value)


def posted_ids(request, name: str) -> list[int]:
    """Comma-separated ids a button's form carried (the agenda's order); anything else is refused (400)."""
    value = request.POST.get(name, "").replace(" ", "")
    if not _IDS.fullmatch(value):
        raise BadRequest("The form carried an order that is not a list of agenda items. Reload the page.")
    return [int(part) for part in value.split(",")]


def posted_choice(request, name: str, choices) -> str:
    """One of `choices` a button's form carried; anything else is refused (400)."""
    value = request.POST.get(name, "")
    if value not in choices:
        raise BadRequest(f"The form carried an unknown {name}. Reload the page and try again.")
    return value
