"""`python -m services.notification`: certificate emails and the delivery log."""

from services.notification.app import NAME, create_app
from services.notification.settings import NotificationSettings
from shared.serving import serve

settings = NotificationSettings()
serve(NAME, create_app(settings), settings, settings.http_port)
