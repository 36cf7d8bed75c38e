from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, register_converter
from django.views.i18n import set_language

from dashboard.accounts import views as account_views
from dashboard.api import views as api_views
from dashboard.converters import DomainNameConverter, KindConverter
from dashboard.domains import views
from dashboard.receivers import views as receiver_views
from dashboard.records import views as record_views

register_converter(DomainNameConverter, "domain")
register_converter(KindConverter, "kind")

handler403 = "dashboard.accounts.views.forbidden"
handler404 = "dashboard.accounts.views.not_found"
handler500 = "dashboard.accounts.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", account_views.SignInView.as_view(), name="login"),
    path("accounts/sso/login/", account_views.sso_login, name="sso_login"),
    path("accounts/sso/callback/", account_views.sso_callback, name="sso_callback"),
    path("accounts/logout/", account_views.sign_out, name="logout"),
    path("account/", account_views.account, name="account"),
    path(
        "account/sign-out-everywhere/",
        account_views.account_sign_out_everywhere,
        name="account_sign_out_everywhere",
    ),
    path("account/sso/link/", account_views.account_sso_link, name="account_sso_link"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("domains/", views.domain_list_view, name="domain_list"),
    path("domains/sync/", views.sync_all_start, name="sync_all"),
    path("domains/sync/<int:run_id>/", views.sync_run, name="sync_run"),
    path("domains/<domain:name>/", views.domain_detail, name="domain_detail"),
    path("domains/<domain:name>/refresh/", views.domain_refresh_view, name="domain_refresh"),
    path("domains/<domain:name>/<kind:kind>/edit/", views.config_edit, name="config_edit"),
    path("domains/<domain:name>/<kind:kind>/key/", views.key_generate, name="key_generate"),
    path("domains/<domain:name>/<kind:kind>/delete/", views.config_delete, name="config_delete"),
    path("domains/<domain:name>/<kind:kind>/reveal/", views.key_reveal, name="key_reveal"),
    path("domains/<domain:name>/<kind:kind>/test/", receiver_views.test_send, name="test_send"),
    path("audit/", include("dashboard.audit.urls")),
    path("people/", account_views.people_list, name="people"),
    path("people/add/", account_views.person_add, name="person_add"),
    path("people/<int:user_id>/", account_views.person_edit, name="person_edit"),
    path(
        "people/<int:user_id>/release-directory/",
        account_views.person_release_sso,
        name="person_release_sso",
    ),
    path("people/groups/", account_views.group_mappings, name="group_mappings"),
    path("people/groups/<int:mapping_id>/", account_views.group_mappings, name="group_mapping"),
    path("tools/", include("dashboard.receivers.urls")),
    path("records/", include("dashboard.records.urls")),
    path("search/", record_views.search, name="search"),
    path("incidents/", include("dashboard.incidents.urls")),
    path("alerts/", include("dashboard.alerts.urls")),
    path("redelivery/", include("dashboard.redelivery.urls")),
    path("configs/", include("dashboard.configs.urls")),
    path("api/v1/", include("dashboard.api.urls")),
    path("account/tokens/", api_views.tokens, name="api_tokens"),
    path(
        "account/tokens/<int:token_id>/revoke/",
        api_views.token_revoke_view,
        name="api_token_revoke",
    ),
    path("admin/", admin.site.urls),
]
