"""The two rules the database itself enforces, so no code path (a view, the admin, a shell) can break them:

- four eyes: a decision's author is never the request's author;
- the audit log is append-only: an entry is never updated or deleted.

Each trigger raises with a message naming the rule; services check first and explain it to the user."""

from django.db import migrations

FOUR_EYES = """
CREATE FUNCTION approvals_four_eyes() RETURNS trigger AS $$
BEGIN
    IF NEW.decided_by_id = (SELECT requested_by_id FROM approvals_approvalrequest WHERE id = NEW.request_id) THEN
        RAISE EXCEPTION 'four eyes: nobody decides their own approval request (request %)', NEW.request_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER approvals_decision_four_eyes BEFORE INSERT OR UPDATE ON approvals_decision
    FOR EACH ROW EXECUTE FUNCTION approvals_four_eyes();
"""

APPEND_ONLY = """
CREATE FUNCTION approvals_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % of entry % refused', TG_OP, OLD.id
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER approvals_audit_append_only BEFORE UPDATE OR DELETE ON approvals_auditentry
    FOR EACH ROW EXECUTE FUNCTION approvals_audit_append_only();
"""

REVERSE = """
DROP TRIGGER IF EXISTS approvals_decision_four_eyes ON approvals_decision;
DROP FUNCTION IF EXISTS approvals_four_eyes();
DROP TRIGGER IF EXISTS approvals_audit_append_only ON approvals_auditentry;
DROP FUNCTION IF EXISTS approvals_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]

    operations = [migrations.RunSQL(FOUR_EYES + APPEND_ONLY, reverse_sql=REVERSE)]
