"""Every portal, API and admin page that shows patient data leaves an audit event (issue 11).

The walk enumerates the URL resolver and the OpenAPI schema: a new page or operation that reads
patient data without an event fails here, as does one missing from the tables below.
"""

import csv
import io
import json

import pytest
from django.contrib.admin import site
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from cases import models as m
from cases.admin import ReadOnlyAdmin
from cases.services.pathology import pathology_report_amend
from tests import factories as f
from tests.hostile.api_operations import RESOURCE_OBJECTS
from tests.hostile.schema import OPERATIONS
from tests.hostile.world import break_glass_access, world  # noqa: F401 - the shared world fixture

# Portal pages that show no patient data (or only act): no read event is owed.
NOT_PATIENT_DATA = {
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "sign-out-everywhere",
    "healthz",
    "readyz",
    # Calendars carry when and where, never a patient (cases/calendars/ics.py); a job page shows progress and
    # links to the download, which is audited when it is fetched.
    "calendar-settings",
    "calendar-feed",
    "job-detail",
    # Notifications name cases by number only (cases/services/notify.py); code search reads the code lists.
    "inbox",
    "inbox-read",
    "notification-preferences",
    "code-search",
    # Signing in: the provider's redirect, the second factor and its enrolment, the sign-out page.
    "logout-page",
    "sso-begin",
    "sso-callback",
    "mfa-verify",
    "mfa-enrol",
    "mfa-recovery-codes",
    "passkey-options",
    "passkey-reg-options",
    "passkey-register",
    "passkey-verify",
    # Emergency access asks for an MRN and a reason; what it opens is audited (break-glass-case).
    "break-glass-new",
    # An approved teaching copy identifies no one (cases/teaching/); its preparation pages are walked below.
    "teaching-pdf",
    # Board analytics' start page only redirects to the first board's page (walked below).
    "analytics-home",
}

# Which user opens each portal page, and the object its <pk> names (the rest: the coordinator, the intake case).
PORTAL = {
    "dashboard": ("coordinator", lambda w: []),
    "case-list": ("coordinator", lambda w: []),
    "patient-new": ("coordinator", lambda w: []),
    "meeting-list": ("coordinator", lambda w: []),
    "meeting-new": ("coordinator", lambda w: []),
    "audit-log": ("auditor", lambda w: []),
    "patient-detail": ("coordinator", lambda w: [w.patient.pk]),
    "case-new": ("coordinator", lambda w: [w.patient.pk]),
    "case-detail": ("coordinator", lambda w: [w.pathology.pk]),
    "referral-edit": ("coordinator", lambda w: [w.intake.pk]),
    "case-move": ("coordinator", lambda w: [w.intake.pk, "imaging"]),
    "case-move-back": ("coordinator", lambda w: [w.imaging.pk]),
    "imaging-new": ("radiologist", lambda w: [w.imaging.pk]),
    "key-image": ("coordinator", lambda w: [w.key_image.pk]),
    "pathology-new": ("pathologist", lambda w: [w.pathology.pk]),
    "pathology-amend": ("pathologist", lambda w: [w.final_report.pk]),
    "pathology-sign-out": ("chair", lambda w: [w.prelim_report.pk]),
    "opinion-edit": ("radiologist", lambda w: [w.pathology.pk]),
    "decision-edit": ("chair", lambda w: [w.consensus.pk]),
    "decision-sign": ("chair", lambda w: [w.draft.pk]),
    "decision-correct": ("chair", lambda w: [w.signed.pk]),
    "surveillance-apply": ("coordinator", lambda w: [w.signed_case.pk]),
    "follow-up-done": ("chair", lambda w: [w.follow_up.pk]),
    "follow-up-deviate": ("chair", lambda w: [w.follow_up.pk]),
    "meeting-detail": ("coordinator", lambda w: [w.meeting.pk]),
    "agenda-add": ("coordinator", lambda w: [w.meeting.pk]),
    "agenda-reorder": ("coordinator", lambda w: [w.meeting.pk]),
    "agenda-publish": ("coordinator", lambda w: [w.meeting.pk]),
    "attendance-record": ("coordinator", lambda w: [w.meeting.pk]),
    "meeting-status": ("coordinator", lambda w: [w.meeting.pk]),
    "meeting-run": ("chair", lambda w: [w.meeting.pk]),
    "meeting-run-item": ("chair", lambda w: [w.meeting.pk, w.items[0].pk]),
    "agenda-item-update": ("coordinator", lambda w: [w.items[0].pk]),
    "agenda-item-remove": ("coordinator", lambda w: [w.items[0].pk]),
    "agenda-outcome": ("chair", lambda w: [w.items[0].pk]),
    "case-summary-pdf": ("coordinator", lambda w: [w.pathology.pk]),
    "meeting-packet-pdf": ("coordinator", lambda w: [w.meeting.pk]),
    "meeting-calendar": ("coordinator", lambda w: [w.meeting.pk]),
    # Issue 10: cancelling, attendance corrections, "my input stands"
    "meeting-cancel": ("coordinator", lambda w: [w.meeting.pk]),
    "meeting-move": ("coordinator", lambda w: [w.meeting.pk]),
    "attendance-correct": ("coordinator", lambda w: [w.held.pk]),
    "opinion-confirm": ("radiologist", lambda w: [w.opinion.pk]),
    # Issue 13: patients, withdrawal, merge, imaging amendments, follow-up changes, unpublishing
    "patient-list": ("coordinator", lambda w: []),
    "patient-merge": ("coordinator", lambda w: [w.patient.pk]),
    "case-withdraw": ("coordinator", lambda w: [w.intake.pk]),
    "imaging-amend": ("radiologist", lambda w: [w.study.pk]),
    "imaging-addendum": ("radiologist", lambda w: [w.study.pk]),
    "follow-up-change": ("coordinator", lambda w: [w.follow_up.pk]),
    "agenda-unpublish": ("coordinator", lambda w: [w.meeting.pk]),
    # Issue 14: coded data
    "case-coding": ("coordinator", lambda w: [w.intake.pk]),
    "coding-primary": ("coordinator", lambda w: [w.intake.pk]),
    "coding-comorbidity": ("coordinator", lambda w: [w.intake.pk]),
    "coding-staging": ("coordinator", lambda w: [w.intake.pk]),
    # Issue 12: teaching sets (their preparation shows the original text)
    "teaching-list": ("radiologist", lambda w: []),
    "teaching-new-case": ("radiologist", lambda w: [w.intake.pk]),
    "teaching-new-meeting": ("radiologist", lambda w: [w.meeting.pk]),
    "teaching-detail": ("radiologist", lambda w: [w.teaching.pk]),
    "teaching-text": ("radiologist", lambda w: [w.teaching.pk]),
    "teaching-image": ("radiologist", lambda w: [w.teaching.pk]),
    "teaching-approve": ("chair", lambda w: [w.teaching.pk]),
    # Issue 17: board analytics
    "analytics-home": ("coordinator", lambda w: []),
    "board-analytics": ("coordinator", lambda w: [w.board.pk]),
    "board-analytics-csv": ("coordinator", lambda w: [w.board.pk, "meetings"]),
    "board-discordance": ("coordinator", lambda w: [w.board.pk]),
    "board-report-pdf": ("coordinator", lambda w: [w.board.pk]),
    # Issue 16: break-the-glass
    "break-glass-review": ("coordinator", lambda w: []),
    "break-glass-acknowledge": ("coordinator", lambda w: [break_glass_access(w).pk]),
    "break-glass-detail": ("emergency", lambda w: [break_glass_access(w).pk]),
    "break-glass-case": ("emergency", lambda w: [break_glass_access(w).pk, w.intake.pk]),
}


# Pages that list patients or cases, or rows of theirs: their one event holds the query and the ids of the rows,
# patients and cases the page showed (issue 11). Every page whose address names no object must be here or below.
LIST_PAGES = {
    "dashboard",
    "case-list",
    "patient-list",
    "meeting-list",
    "meeting-detail",
    "audit-log",
    "break-glass-review",
    "board-discordance",
}
# Pages whose address names no object and that list no patient or case: an empty form, and teaching sets named by
# their teaching codes only.
NOT_LISTS = {"patient-new", "meeting-new", "teaching-list"}
LIST_KEYS = {"query", "count", "ids", "patient_ids", "case_ids"}
# Searches (POSTed, so that names and MRNs stay out of addresses) and exports, with what each is asked for.
SEARCHES = {"patient-list": ("coordinator", lambda w: {"q": w.patient.family_name})}
EXPORTS = {
    "audit-log": ("auditor", lambda w: {"format": "csv"}),
    "board-discordance": ("coordinator", lambda w: {"format": "csv"}),
}


def portal_patterns() -> dict[str, bool]:
    """Each portal page's name, and whether its address names an object."""
    from cases.web import urls

    names = {}

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names[pattern.name] = bool(pattern.pattern.converters)

    walk(urls.urlpatterns)
    return names


def portal_names() -> list[str]:
    return list(portal_patterns())


def events_of(response) -> list[m.AuditEvent]:
    return list(m.AuditEvent.objects.filter(request_id=response["X-Request-ID"]).exclude(action__startswith="auth."))


@pytest.fixture
def walk_world(world, django_user_model, make_case):  # noqa: F811 - the fixture imported above
    from django.contrib.auth.models import Permission

    study = world.study
    world.key_image = m.KeyImage.objects.create(study=study, image=f.png_upload(), caption="Lobular calcification")
    auditor = django_user_model.objects.create_user("auditor", password="correct-horse-battery", is_staff=True)
    auditor.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    world.users["auditor"] = auditor
    break_glass_access(world)  # the review queue then lists one access
    amended = make_case("pathology")
    pathology_report_amend(
        report=amended.pathology_reports.get(status="final"),
        by=world.user("pathologist"),
        diagnosis="Callus with tumoral calcinosis; no tumour.",
        amendment_reason="Expert review found no tumour.",
        discrepancy="major",
    )  # the discordance register then lists one amendment
    return world


def assert_lists_what_it_showed(name, event):
    """A list's event names the query and every row, patient and case it returned (at least one row here)."""
    assert set(event.changes) >= LIST_KEYS, (name, sorted(event.changes))
    assert event.changes["count"] == len(event.changes["ids"]) > 0, (name, event.changes)


def test_the_portal_table_names_every_page():
    missing = set(portal_names()) - set(PORTAL) - NOT_PATIENT_DATA
    assert not missing, f"Portal pages with no row in PORTAL of {__file__}: {sorted(missing)}"


def test_every_page_that_names_no_object_is_a_list_or_says_why_not():
    unnamed = {name for name, named in portal_patterns().items() if not named} - NOT_PATIENT_DATA
    unsorted = unnamed - LIST_PAGES - NOT_LISTS
    assert not unsorted, f"Put these pages in LIST_PAGES or NOT_LISTS of {__file__}: {sorted(unsorted)}"


@pytest.mark.parametrize("name", sorted(set(portal_names()) - NOT_PATIENT_DATA))
def test_every_portal_page_that_shows_patient_data_is_audited(name, walk_world):
    role, args = PORTAL[name]
    client = Client()
    client.force_login(walk_world.user(role))
    response = client.get(reverse(name, args=args(walk_world)))
    if response.status_code == 405:
        return  # an action (POST only): it shows nothing, and its write is audited by its service
    assert response.status_code == 200, (name, response.status_code)
    events = events_of(response)
    assert len(events) == 1, (name, [e.action for e in events])
    assert events[0].actor == walk_world.user(role)
    if name in LIST_PAGES:
        assert_lists_what_it_showed(name, events[0])


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_every_portal_search_records_the_query_and_what_it_found(name, walk_world):
    role, data = SEARCHES[name]
    client = Client()
    client.force_login(walk_world.user(role))
    query = data(walk_world)
    response = client.post(reverse(name), query)
    assert response.status_code == 200, (name, response.status_code)
    (event,) = events_of(response)
    assert_lists_what_it_showed(name, event)
    assert event.changes["query"] == query


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_every_portal_export_records_the_query_and_what_it_returned(name, walk_world):
    role, params = EXPORTS[name]
    client = Client()
    client.force_login(walk_world.user(role))
    response = client.get(reverse(name, args=PORTAL[name][1](walk_world)), params(walk_world))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv"), name
    (event,) = events_of(response)
    assert_lists_what_it_showed(name, event)
    assert event.changes["query"]["format"] == "csv"


def test_the_patient_search_names_every_patient_it_found_and_nothing_else(walk_world):
    client = Client()
    client.force_login(walk_world.user("coordinator"))
    family_name = walk_world.patient.family_name
    response = client.post(reverse("patient-list"), {"q": family_name})
    found = [patient.pk for patient in response.context["results"]]
    (event,) = events_of(response)
    assert event.action == "patient.search" and event.changes["query"] == {"q": family_name}
    assert walk_world.patient.pk in found and event.changes["patient_ids"] == sorted(found)
    assert event.changes["ids"] == found and event.changes["count"] == len(found)
    paged = client.get(reverse("patient-list"))
    (event,) = events_of(paged)
    assert event.action == "patient.list"
    assert event.changes["patient_ids"] == sorted(p.pk for p in paged.context["page"].object_list)


def test_the_audit_export_names_the_patients_and_cases_of_the_events_it_returned(walk_world):
    client = Client()
    client.force_login(walk_world.user("coordinator"))
    client.get(reverse("case-detail", args=[walk_world.pathology.pk]))
    client.force_login(walk_world.user("auditor"))
    mrn = walk_world.pathology.patient.mrn
    response = client.get(reverse("audit-log"), {"mrn": mrn, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    (event,) = events_of(response)
    assert event.action == "audit.export" and event.changes["query"] == {"mrn": mrn, "format": "csv"}
    assert event.changes["count"] == len(rows) > 0
    assert event.changes["ids"] == [int(row["sequence"]) for row in rows]
    assert event.changes["patient_ids"] == [walk_world.pathology.patient_id]
    assert event.changes["case_ids"] == sorted({int(row["case_id"]) for row in rows if row["case_id"]})
    assert event.patient_id is None  # reading the trail does not add itself to the patient's trail


def test_the_break_glass_review_names_each_access_and_its_patient(walk_world):
    access = break_glass_access(walk_world)
    client = Client()
    client.force_login(walk_world.user("coordinator"))
    (event,) = events_of(client.get(reverse("break-glass-review")))
    assert event.action == "break_glass.review_view"
    assert (event.changes["ids"], event.changes["patient_ids"]) == ([access.pk], [walk_world.patient.pk])


# API resources that hold no patient data: boards, and background jobs (their downloads are audited when fetched).
API_NOT_PATIENT_DATA = {"boards", "jobs", "codes"}
# An approved teaching copy identifies no one (and the walk's set is a draft, refused with 409).
API_DEIDENTIFIED = {"v1_teaching_sets_pdf_retrieve"}


def api_reads() -> list[str]:
    return sorted(
        op_id
        for op_id, (method, path, _) in OPERATIONS.items()
        if method == "GET"
        and path.split("/")[3] not in API_NOT_PATIENT_DATA - {"boards"}
        and op_id not in API_DEIDENTIFIED
    )


@pytest.mark.parametrize("op_id", api_reads())
def test_every_api_read_of_patient_data_is_audited(op_id, walk_world):
    _, path, _ = OPERATIONS[op_id]
    resource = path.split("/")[3]
    client = APIClient()
    client.force_login(walk_world.user("coordinator"))
    concrete = path.replace("{id}", str(RESOURCE_OBJECTS[resource](walk_world).pk))
    response = client.get(concrete)
    assert response.status_code == 200, (op_id, response.status_code)
    events = events_of(response)
    if resource == "boards" and not path.endswith("/metrics/"):
        assert events == []  # boards hold no patient data (their metrics are audited: analytics.view)
        return
    assert len(events) == 1, (op_id, [e.action for e in events])
    if "{id}" not in path:
        assert set(events[0].changes) >= {"query", "ids", "patient_ids", "case_ids", "count"}


def test_an_api_search_records_the_query_and_every_returned_patient_and_case(walk_world):
    client = APIClient()
    client.force_login(walk_world.user("coordinator"))
    mrn = walk_world.pathology.patient.mrn
    response = client.get(f"/api/v1/cases/?search={mrn}")
    assert response.status_code == 200
    (event,) = events_of(response)
    assert event.action == "case.list" and event.changes["query"] == {"search": mrn}
    returned = [row["id"] for row in response.json()["results"]]
    assert event.changes["case_ids"] == sorted(returned) and walk_world.pathology.pk in returned
    assert event.changes["patient_ids"] == [walk_world.pathology.patient_id]
    assert event.patient_id == walk_world.pathology.patient_id  # found by the audit page's MRN filter


def test_paging_through_patients_leaves_one_event_per_page(walk_world):
    client = APIClient()
    client.force_login(walk_world.user("coordinator"))
    ids = []
    for page in (1, 2):
        response = client.get(f"/api/v1/patients/?page_size=2&page={page}")
        (event,) = events_of(response)
        assert event.action == "patient.list" and event.changes["query"]["page"] == str(page)
        assert event.changes["patient_ids"] == sorted(row["id"] for row in response.json()["results"])
        ids += event.changes["patient_ids"]
    assert len(set(ids)) == 4


def clinical_admins():
    return sorted(
        (model._meta.model_name, model)
        for model, model_admin in site._registry.items()
        if isinstance(model_admin, ReadOnlyAdmin)
    )


@pytest.mark.parametrize("name", [name for name, _ in clinical_admins()])
def test_every_admin_changelist_and_change_view_of_clinical_data_is_audited(name, walk_world, django_user_model):
    model = dict(clinical_admins())[name]
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "correct-horse-battery-root")
    client = Client()
    client.force_login(admin)
    app = model._meta.app_label
    response = client.get(f"/admin/{app}/{name}/")
    assert response.status_code == 200
    (event,) = events_of(response)
    may_be_empty = name in ("caseevent", "job", "breakglassaccess")
    assert event.action == f"admin.{name}_list" and event.changes["count"] >= (not may_be_empty)
    obj = model.objects.order_by("pk").first()
    if obj is None:
        return
    response = client.get(f"/admin/{app}/{name}/{obj.pk}/change/")
    assert response.status_code == 200
    (event,) = events_of(response)
    assert event.action == f"admin.{name}_view" and event.object_id == str(obj.pk)


def test_an_admin_inline_membership_change_records_before_and_after(board, coordinator, chair, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "correct-horse-battery-root")
    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/cases/board/{board.pk}/change/")
    form, inline = page.context["adminform"].form, page.context["inline_admin_formsets"][0].formset
    data = {name: form.initial.get(name) for name in form.fields}
    data = {k: ("on" if v is True else v) for k, v in data.items() if v not in (None, False)}
    data["required_specialties"] = json.dumps(board.required_specialties)
    data["quorum_specialties"] = json.dumps(board.quorum_specialties)
    prefix = inline.prefix
    memberships = list(inline.queryset)
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": str(len(memberships)),
            f"{prefix}-INITIAL_FORMS": str(len(memberships)),
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
    )
    for index, membership in enumerate(memberships):
        data.update(
            {
                f"{prefix}-{index}-id": str(membership.pk),
                f"{prefix}-{index}-board": str(board.pk),
                f"{prefix}-{index}-user": str(membership.user_id),
                f"{prefix}-{index}-role": membership.role,
                f"{prefix}-{index}-specialty": membership.specialty,
            }
        )
    changed = next(i for i, ms in enumerate(memberships) if ms.user == chair)
    data[f"{prefix}-{changed}-role"] = m.Role.MEMBER
    response = client.post(f"/admin/cases/board/{board.pk}/change/", data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    event = m.AuditEvent.objects.get(action="admin.inline_update")
    membership = memberships[changed]
    assert event.changes == {
        "boardmembership": [{"row": membership.pk, "before": {"role": "chair"}, "after": {"role": "member"}}]
    }


def test_an_admin_bulk_delete_names_every_row(django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "correct-horse-battery-root")
    templates = [
        m.FollowUpTemplate.objects.create(
            name=f"Template {n}", code=f"tpl-{n}", visit_description="Clinic", schedule=[]
        )
        for n in range(2)
    ]
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/admin/cases/followuptemplate/",
        {"action": "delete_selected", "_selected_action": [t.pk for t in templates], "post": "yes"},
    )
    assert response.status_code == 302
    event = m.AuditEvent.objects.get(action="admin.bulk_delete")
    assert sorted(event.changes["ids"]) == sorted(t.pk for t in templates)


def test_the_resolver_has_no_patient_page_outside_the_walk():
    """Every URL pattern under the app is the portal, the API or the admin: all three are walked above."""
    top = {str(p.pattern) for p in get_resolver().url_patterns}
    assert top <= {"", "api/", "admin/", "api/schema/", "api/docs/", "api/redoc/", "media/", "static/"} | {
        t for t in top if t.startswith(("api", "admin", "static", "media", "healthz", "__"))
    }, top
