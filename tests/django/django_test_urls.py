"""The test project's URLconf: a webhook view per provider, and one recording into a
Mailer (``RECORDING``, whose store the tests read)."""

from django.urls import path

import mailspec
from mailspec.django import webhook_view

# never sent through: it only records what the view hears
RECORDING = mailspec.Mailer(
    [mailspec.provider("sendcloud", api_user="u", api_key="k", base_url="http://127.0.0.1:9/")]
)

urlpatterns = [
    path("hooks/sendcloud/", webhook_view("sendcloud")),
    path("hooks/cloudmails/", webhook_view("cloudmails")),
    path("hooks/sendcloud-small/", webhook_view("sendcloud", max_body=64)),
    path("hooks/sendcloud-recorded/", webhook_view("sendcloud", mailer=RECORDING)),
]
