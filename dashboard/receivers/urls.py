from django.urls import path

from . import views

urlpatterns = [
    path("signature/", views.signature_check, name="signature_check"),
]
