"""The admin signs in through the same throttle as the dashboard's own sign-in page."""

from django.contrib import admin

from .security import ThrottledAdminAuthenticationForm

admin.site.login_form = ThrottledAdminAuthenticationForm
