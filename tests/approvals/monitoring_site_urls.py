"""The site's URLs plus the monitoring pages, which the lead includes at the site root when merging
(`path("", include("webapp.approvals.monitoring_urls"))`); until then, web tests use this URLconf."""

from django.urls import include, path

from webapp.config.urls import urlpatterns as site_urlpatterns

urlpatterns = [*site_urlpatterns, path("", include("webapp.approvals.monitoring_urls"))]
