"""Questionnaire responses are clinical data: never changed, never deleted."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0003_surveys")]

    operations = [
        migrations.RunSQL(
            "CREATE TRIGGER monitoring_surveyresponse_append_only "
            "BEFORE UPDATE OR DELETE ON monitoring_surveyresponse "
            "FOR EACH ROW EXECUTE FUNCTION clinical_refuse_change();",
            "DROP TRIGGER monitoring_surveyresponse_append_only ON monitoring_surveyresponse;",
        )
    ]
