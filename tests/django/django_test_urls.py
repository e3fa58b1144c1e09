"""The test project's URLconf: a webhook view per provider."""

from django.urls import path

from mailspec.django import webhook_view

urlpatterns = [
    path("hooks/sendcloud/", webhook_view("sendcloud")),
    path("hooks/cloudmails/", webhook_view("cloudmails")),
    path("hooks/sendcloud-small/", webhook_view("sendcloud", max_body=64)),
]
