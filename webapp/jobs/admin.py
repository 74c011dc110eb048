from django.contrib import admin

from webapp.jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["pk", "kind", "task", "status", "attempts", "created_at"]
    list_filter = ["status", "kind"]
    readonly_fields = ["traceback", "log_tail", "result"]
