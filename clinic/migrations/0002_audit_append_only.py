"""The audit trail is append-only at the database level: UPDATE and DELETE raise."""

from django.db import migrations

SQL = """
CREATE FUNCTION clinic_auditevent_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'clinic_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER clinic_auditevent_append_only
    BEFORE UPDATE OR DELETE ON clinic_auditevent
    FOR EACH ROW EXECUTE FUNCTION clinic_auditevent_refuse_change();
"""

REVERSE_SQL = """
DROP TRIGGER clinic_auditevent_append_only ON clinic_auditevent;
DROP FUNCTION clinic_auditevent_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("clinic", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
