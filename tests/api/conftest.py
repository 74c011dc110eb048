# The ROI fixture lives with the economics tests; the economics API tests use the same recorded student.
from tests.economics.conftest import roi_student  # noqa: F401
