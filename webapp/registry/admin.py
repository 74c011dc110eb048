from django.contrib import admin

from webapp.registry.models import Dataset, Task, Teacher


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_at"]


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "role", "task", "row_count", "created_at"]
    readonly_fields = ["sha256", "storage_dir", "stats"]


@admin.register(Teacher)
class TeacherAdmin(admin.ModelAdmin):
    list_display = ["name", "task", "model_ref"]
