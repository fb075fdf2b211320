"""Every write and every stage transition. Views, serializers and admin call these, never the ORM directly."""
