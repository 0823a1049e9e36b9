# One image for the three services; docker-compose.yml picks the service with `command`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN pip install --no-cache-dir uv

WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY shared ./shared
COPY services ./services

RUN useradd --system --uid 10001 attesta
USER attesta
EXPOSE 8001 8002 8003
CMD ["python", "-m", "services.registration"]
