"""The framework's floor: plain Django views returning the same JSON as the API, built by hand.

Same session authentication, same selectors and visibility rules, same audit writes (the detail's read, the
list's query and ids); no DRF, no serializers, no filters. bench/api.py checks the JSON is identical before timing.
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.utils import timezone

from cases import codes, selectors
from cases import models as m
from cases.services import workflow
from cases.services.audit import audit_list, audit_record


def _t(value):
    return timezone.localtime(value).isoformat() if value else None


def _d(value):
    return value.isoformat() if value else None


def _user(user):
    return {"id": user.pk, "username": user.username, "name": user.get_full_name() or user.username} if user else None


def _patient(p):
    return {
        "id": p.pk,
        "mrn": p.mrn,
        "given_name": p.given_name,
        "family_name": p.family_name,
        "birth_date": _d(p.birth_date),
        "sex": p.sex,
    }


def _coding(code, system, display):
    return {"system": system, "code": code, "display": display} if code else None


def _laterality(value):
    return _coding(*codes.LATERALITY[value][:1], codes.SNOMED, codes.LATERALITY[value][1]) if value else None


def _change(change):
    return {name: change[name] for name in ("field", "label", "before", "after")}


def _chain(chain):
    return {
        "original": chain["original"].pk,
        "current": chain["current"].pk,
        "reports": [r.pk for r in chain["reports"]],
        "overall": [_change(c) for c in chain["overall"]],
        "steps": [
            {
                "report": step["report"].pk,
                "replaces": step["replaces"].pk,
                "discrepancy": step["report"].discrepancy,
                "reason": step["report"].amendment_reason,
                "signed_out_at": _t(step["report"].signed_out_at),
                "pathologist": _user(step["report"].pathologist),
                "fields": [_change(c) for c in step["fields"]],
            }
            for step in chain["steps"]
        ],
    }


def _case_row(c, has_amended):
    return {
        "id": c.pk,
        "patient": _patient(c.patient),
        "board": c.board_id,
        "board_name": c.board.name,
        "stage": c.stage,
        "priority": c.priority,
        "referring_clinician": c.referring_clinician,
        "clinical_question": c.clinical_question,
        "performance_status": c.performance_status,
        "has_amended_pathology": has_amended,
        "decision_under_review": c.decision_under_review,
        "has_stale_input": c.has_stale_input,
        "withdrawn_at": _t(c.withdrawn_at),
        "withdrawal_reason": c.withdrawal_reason,
        "version": c.version,
        "created_at": _t(c.created_at),
        "updated_at": _t(c.updated_at),
    }


@login_required
def case_list(request):
    cases = selectors.case_list(user=request.user)
    if request.GET.get("board"):
        cases = cases.filter(board_id=int(request.GET["board"]))
    if request.GET.get("stage"):
        cases = cases.filter(stage=request.GET["stage"])
    page = list(cases[:50])
    rows = [_case_row(c, c.has_amended_pathology) for c in page]
    count = cases.count()
    audit_list(actor=request.user, action="case.list", query=request.GET, rows=page, object_type="case")
    following = None
    if count > 50:
        query = {**request.GET.dict(), "page": "2"}
        following = request.build_absolute_uri(
            request.path.replace("/bare/", "/api/v1/") + "?" + urlencode(sorted(query.items()))
        )
    return JsonResponse({"count": count, "next": following, "previous": None, "results": rows})


def _study(s):
    successor = getattr(s, "superseded_by", None)  # select_related: None when no amendment replaced it
    return {
        "id": s.pk,
        "case": s.case_id,
        "modality": s.modality,
        "body_site": s.body_site,
        "performed_on": _d(s.performed_on),
        "accession_number": s.accession_number,
        "findings": s.findings,
        "impression": s.impression,
        "radiologist": _user(s.radiologist),
        "key_images": [],
        "supersedes": s.supersedes_id,
        "superseded_by": successor.pk if successor else None,
        "is_current": successor is None,
        "amendment_reason": s.amendment_reason,
        "created_at": _t(s.created_at),
    }


def _report(r):
    return {
        "id": r.pk,
        "case": r.case_id,
        "specimen": r.specimen,
        "procedure": r.procedure,
        "collected_on": _d(r.collected_on),
        "diagnosis": r.diagnosis,
        "icdo3_code": r.icdo3_code,
        "icdo3_needs_review": r.icdo3_needs_review,
        "topography": _coding(r.topography, codes.ICDO3, r.topography_display),
        "morphology": _coding(r.morphology, codes.ICDO3, r.morphology_display),
        "laterality": _laterality(r.laterality),
        "status": r.status,
        "supersedes": r.supersedes_id,
        "superseded_by": r.replaced_by.pk if r.replaced_by else None,
        "is_current": r.replaced_by is None,
        "amendment_reason": r.amendment_reason,
        "discrepancy": r.discrepancy,
        "pathologist": _user(r.pathologist),
        "signed_out_at": _t(r.signed_out_at),
        "version": r.version,
        "created_at": _t(r.created_at),
    }


def _opinion(o):
    return {
        "id": o.pk,
        "case": o.case_id,
        "specialty": o.specialty,
        "author": _user(o.author),
        "assessment": o.assessment,
        "recommendation": o.recommendation,
        "basis": o.basis,
        "is_stale": o.is_stale,
        "stale_since": _t(o.stale_since),
        "confirmed_at": _t(o.confirmed_at),
        "version": o.version,
        "created_at": _t(o.created_at),
        "updated_at": _t(o.updated_at),
    }


def _decision(d):
    return {
        "id": d.pk,
        "case": d.case_id,
        "meeting": d.meeting_id,
        "consensus_diagnosis": d.consensus_diagnosis,
        "plan": [{"category": item["category"], "detail": item.get("detail", "")} for item in d.plan],
        "rationale": d.rationale,
        "dissent": d.dissent,
        "guideline_concordance": d.guideline_concordance,
        "concordance_reason": d.concordance_reason,
        "trial_considered": d.trial_considered,
        "trial_eligible": d.trial_eligible,
        "trial_enrolled": d.trial_enrolled,
        "treatment_intent": d.treatment_intent,
        "participants": [u.pk for u in d.participants.all()],
        "pathology_report": d.pathology_report_id,
        "status": d.status,
        "recorded_by": _user(d.recorded_by),
        "signed_by": _user(d.signed_by),
        "signed_at": _t(d.signed_at),
        "supersedes": d.supersedes_id,
        "supersede_reason": d.supersede_reason,
        "superseded_at": _t(d.superseded_at),
        "basis": d.basis,
        "needs_review": d.needs_review,
        "stale_since": _t(d.stale_since),
        "attendance_snapshot": d.attendance_snapshot,
        "version": d.version,
        "created_at": _t(d.created_at),
        "updated_at": _t(d.updated_at),
    }


def _follow_up(u):
    names = ["kind", "category", "description", "status", "deviation_reason", "version"]
    row = {"id": u.pk, "case": u.case_id, "decision": u.decision_id, "template": u.template_id}
    row.update({name: getattr(u, name) for name in names[:3]})
    row.update({"owner": _user(u.owner), "due_on": _d(u.due_on), "status": u.status})
    row["deviation_code"] = u.deviation_code
    row.update({"deviation_reason": u.deviation_reason, "completed_at": _t(u.completed_at), "version": u.version})
    row["created_at"] = _t(u.created_at)
    return row


def _agenda(a):
    return {
        "id": a.pk,
        "meeting": a.meeting_id,
        "starts_at": _t(a.meeting.starts_at),
        "position": a.position,
        "outcome": a.outcome,
        "deferral_reason": a.deferral_reason,
    }


@login_required
def case_detail(request, pk):
    c = selectors.case_detail(user=request.user, pk=pk)
    audit_record(actor=request.user, action="case.view", obj=c)
    reports = selectors.pathology_chain(c)
    c.decision_under_review = any(d.needs_review for d in c.decisions.all())
    c.has_stale_input = any(o.is_stale for o in c.opinions.all())
    body = _case_row(c, any(r.status == m.ReportStatus.AMENDED for r in reports))
    body.update(
        {
            "referring_email": c.referring_email,
            "history": c.history,
            "key_labs": c.key_labs,
            "no_pathology_reason": c.no_pathology_reason,
            "created_by": _user(c.created_by),
            "is_referral_complete": c.is_referral_complete,
            "missing_referral_fields": c.missing_referral_fields,
            "imaging_studies": [_study(s) for s in c.imaging_studies.all()],
            "pathology_reports": [_report(r) for r in reports],
            "pathology_changes": [_chain(chain) for chain in selectors.pathology_changes(c)],
            "opinions": [_opinion(o) for o in c.opinions.all()],
            "decisions": [_decision(d) for d in c.decisions.all()],
            "follow_ups": [_follow_up(u) for u in c.follow_ups.all()],
            "agenda_items": [_agenda(a) for a in c.agenda_items.all()],
            "next_moves": [
                {
                    "to": mv.to,
                    "is_back": mv.is_back,
                    "unmet": [{"code": g.code, "message": g.message} for g in mv.unmet],
                }
                for mv in workflow.next_moves(c)
            ],
        }
    )
    response = JsonResponse(body)
    response["ETag"] = f'"case-{c.pk}-v{c.version}"'
    return response
