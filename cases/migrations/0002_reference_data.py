from django.db import migrations

# Treated osteosarcoma: every 3 months for 2 years, every 6 months to year 5, then yearly to year 10.
OSTEOSARCOMA = {
    "code": "osteosarcoma-treated",
    "name": "Treated osteosarcoma surveillance",
    "description": "Surveillance after treatment of osteosarcoma: close early follow-up, since most recurrences "
    "appear within the first years.",
    "visit_description": "Chest CT, radiographs of the reconstructed limb and clinical examination",
    "schedule": [
        {"every_months": 3, "until_month": 24},
        {"every_months": 6, "until_month": 60},
        {"every_months": 12, "until_month": 120},
    ],
}


def forwards(apps, schema_editor):
    apps.get_model("cases", "AuditChainHead").objects.get_or_create(pk=1)
    template = apps.get_model("cases", "FollowUpTemplate")
    template.objects.get_or_create(code=OSTEOSARCOMA["code"], defaults=OSTEOSARCOMA)


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
