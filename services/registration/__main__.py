"""`python -m services.registration`: the registration API and its consumers."""

from services.registration.app import NAME, create_app
from services.registration.settings import RegistrationSettings
from shared.serving import serve

settings = RegistrationSettings()
serve(NAME, create_app(settings), settings, settings.http_port)
