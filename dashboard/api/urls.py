"""/api/v1/: the API itself (bearer tokens; not the session sign-in), its docs page."""

from django.http import JsonResponse
from django.urls import URLPattern, URLResolver, path, re_path

from . import views
from .api import api


def _without_session_sign_in(patterns):
    """The API's own auth answers 401; Django's sign-in redirect must not."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _without_session_sign_in(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            pattern.callback.login_required = False
    return patterns


def _no_such_endpoint(request, rest):
    """An address under /api/v1/ that is no endpoint: a client reads JSON, not the 404 page."""
    return JsonResponse({"detail": "No such endpoint: see /api/v1/docs."}, status=404)


_patterns, _app, _namespace = api.urls
urlpatterns = [
    path("docs", views.docs, name="api_docs"),
    path("", (_without_session_sign_in(_patterns), _app, _namespace)),
    *_without_session_sign_in([re_path(r"^(?P<rest>[\s\S]*)$", _no_such_endpoint)]),
]
