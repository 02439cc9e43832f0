"""Clinical data is append-only (DESIGN.md 8), enforced by the database itself:
- readings: never deleted; only the flagging job's columns (flags, flagged_at) may change;
- alerts: never deleted; only acknowledgement and escalation columns may change;
- infusion starts, adverse events and session transitions: never changed, never deleted."""

from django.db import migrations

SQL = """
CREATE FUNCTION clinical_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE FUNCTION monitoring_vitalreading_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.session_id, NEW.taken_at, NEW.received_at, NEW.recorded_by_id, NEW.device_id,
        NEW.systolic, NEW.diastolic, NEW.heart_rate, NEW.spo2, NEW.respiratory_rate,
        NEW.temperature_c, NEW.consciousness, NEW.on_oxygen, NEW.supersedes_id)
       IS DISTINCT FROM
       (OLD.id, OLD.session_id, OLD.taken_at, OLD.received_at, OLD.recorded_by_id, OLD.device_id,
        OLD.systolic, OLD.diastolic, OLD.heart_rate, OLD.spo2, OLD.respiratory_rate,
        OLD.temperature_c, OLD.consciousness, OLD.on_oxygen, OLD.supersedes_id) THEN
        RAISE EXCEPTION 'a vital reading is never changed: record a correction that supersedes it'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

CREATE FUNCTION monitoring_alert_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.clinic_id, NEW.patient_id, NEW.session_id, NEW.reading_id, NEW.parameter,
        NEW.severity, NEW.message, NEW.value, NEW.dedup_key, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.clinic_id, OLD.patient_id, OLD.session_id, OLD.reading_id, OLD.parameter,
        OLD.severity, OLD.message, OLD.value, OLD.dedup_key, OLD.created_at) THEN
        RAISE EXCEPTION 'what an alert says is never changed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER monitoring_vitalreading_no_delete BEFORE DELETE ON monitoring_vitalreading
    FOR EACH ROW EXECUTE FUNCTION clinical_refuse_change();
CREATE TRIGGER monitoring_vitalreading_guard BEFORE UPDATE ON monitoring_vitalreading
    FOR EACH ROW EXECUTE FUNCTION monitoring_vitalreading_guard();
CREATE TRIGGER monitoring_alert_no_delete BEFORE DELETE ON monitoring_alert
    FOR EACH ROW EXECUTE FUNCTION clinical_refuse_change();
CREATE TRIGGER monitoring_alert_guard BEFORE UPDATE ON monitoring_alert
    FOR EACH ROW EXECUTE FUNCTION monitoring_alert_guard();
CREATE TRIGGER monitoring_infusionstart_append_only BEFORE UPDATE OR DELETE ON monitoring_infusionstart
    FOR EACH ROW EXECUTE FUNCTION clinical_refuse_change();
CREATE TRIGGER monitoring_adverseevent_append_only BEFORE UPDATE OR DELETE ON monitoring_adverseevent
    FOR EACH ROW EXECUTE FUNCTION clinical_refuse_change();
CREATE TRIGGER scheduling_sessiontransition_append_only
    BEFORE UPDATE OR DELETE ON scheduling_sessiontransition
    FOR EACH ROW EXECUTE FUNCTION clinical_refuse_change();
"""

REVERSE_SQL = """
DROP TRIGGER scheduling_sessiontransition_append_only ON scheduling_sessiontransition;
DROP TRIGGER monitoring_adverseevent_append_only ON monitoring_adverseevent;
DROP TRIGGER monitoring_infusionstart_append_only ON monitoring_infusionstart;
DROP TRIGGER monitoring_alert_guard ON monitoring_alert;
DROP TRIGGER monitoring_alert_no_delete ON monitoring_alert;
DROP TRIGGER monitoring_vitalreading_guard ON monitoring_vitalreading;
DROP TRIGGER monitoring_vitalreading_no_delete ON monitoring_vitalreading;
DROP FUNCTION monitoring_alert_guard();
DROP FUNCTION monitoring_vitalreading_guard();
DROP FUNCTION clinical_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial"), ("scheduling", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
