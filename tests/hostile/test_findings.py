"""Findings the corpus cannot see as a status: a refusal that came too late, or at too high a cost."""

from tests.hostile.api_operations import decision_body


def test_ten_thousand_participants_are_refused_before_any_is_looked_up(api, world, django_assert_max_num_queries):
    """Found by the corpus as 6 s per request: every id was looked up before the 100-item limit applied."""
    body = {"case": world.intake.pk, **decision_body(world), "participants": list(range(1, 10_001))}
    with django_assert_max_num_queries(50):  # a refused request, whatever the length of the list
        response = api(world.user("chair")).post("/api/v1/decisions/", body, format="json")
    assert response.status_code == 400
    assert "participants" in response.json()
