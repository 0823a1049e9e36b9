"""`python -m services.certification`: the certification API and its consumers."""

from services.certification.app import NAME, create_app
from services.certification.settings import CertificationSettings
from shared.serving import serve

settings = CertificationSettings()
serve(NAME, create_app(settings), settings, settings.http_port)
